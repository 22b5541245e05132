import Foundation
import Glibc
import PathwayAPI
import PathwayClient
import PathwayTestSupport
import Testing

/// The trail as an auditor uses it: tampering caught in every form, exports that parse, feedback
/// and adherence, rule-change impact.
@Suite("pathwayd audit and governance", .serialized)
struct AuditorTests {
    /// A daemon with three patients' events and views, stopped, so the test can tamper with the file.
    func populated() async throws -> DaemonHarness {
        let daemon = try DaemonHarness()
        try await daemon.start()
        for patient in ["AUD-1", "AUD-2", "AUD-3"] {
            try await daemon.postNDJSON(pleuralPatient(patient))
            _ = try await daemon.get("/v1/patients/\(patient)/recommendations")
        }
        return daemon
    }

    func verify(_ daemon: DaemonHarness, against: String? = nil) async throws -> AuditVerificationV1 {
        try await daemon.getJSON(
            AuditVerificationV1.self, "/v1/audit/verify" + (against.map { "?against=\($0)" } ?? ""))
    }

    /// Runs SQL with the triggers dropped, as someone with write access to the file could.
    func tamper(_ daemon: DaemonHarness, _ statement: String) throws {
        let script = """
            DROP TRIGGER audit_refuses_update; DROP TRIGGER audit_refuses_delete;
            DROP TRIGGER audit_subjects_refuse_update; DROP TRIGGER audit_subjects_refuse_delete;
            \(statement);
            """
        let result = try run("/usr/bin/sqlite3", [daemon.database, script])
        #expect(result.status == 0, "\(result.errors)")
    }

    @Test("a record's content edited behind the daemon's back is named by verify")
    func editedContent() async throws {
        let daemon = try await populated()
        defer { daemon.stop() }
        #expect(try await verify(daemon).status == "ok")
        try tamper(
            daemon, "UPDATE audit SET input = replace(input, 'AUD-1', 'AUD-9') WHERE seq = 7")
        let result = try await verify(daemon)
        #expect(result.status == "broken")
        #expect(result.firstBroken?.seq == 7)
        #expect(result.firstBroken?.problem == "content")
        let cli = try run(
            binaries.appendingPathComponent("pathwayctl").path, ["audit", "verify", "--socket", daemon.socket])
        #expect(cli.status == 1)
        #expect(cli.output.contains("BROKEN at record 7"))
    }

    @Test(
        "at start: a rewritten trail or missing triggers stop the daemon, naming the record; an audited override starts it"
    )
    func tamperingNoticedAtStart() async throws {
        let daemon = try await populated()
        #expect(daemon.stop() == 0)
        let checkpoints = try daemon.sql("SELECT kind FROM audit_checkpoints ORDER BY rowid")
        #expect(checkpoints == ["start", "stop"], "\(checkpoints)")
        // Triggers dropped, one record edited, every hash after it recomputed would still break the
        // last checkpoint; here the content is edited and the hashes are left, as in editedContent.
        try tamper(
            daemon, "UPDATE audit SET input = replace(input, 'AUD-1', 'AUD-9') WHERE seq = 7")
        await #expect(throws: HarnessError.self) { try await daemon.start() }
        #expect(daemon.log.contains("append-only triggers missing"), "\(daemon.log.suffix(2000))")
        #expect(daemon.log.contains("not starting"))
        let checkpointsAfter = try daemon.sql("SELECT count(*) FROM audit_checkpoints")
        #expect(checkpointsAfter == ["2"], "no checkpoint is recorded for an unverified head")
        // The override starts it, recreates the triggers and records what was found.
        try await daemon.start(arguments: ["--accept-damaged-audit-trail"])
        defer { daemon.stop() }
        let override = try daemon.sql("SELECT input FROM audit WHERE action = 'integrity-override'")
        #expect(override.first?.contains("append-only triggers missing") == true, "\(override)")
        let triggers = try daemon.sql("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'")
        // UPDATE and DELETE on audit, audit_subjects, rules_revisions, audit_checkpoints, events, audit_dictionaries.
        #expect(triggers == ["12"])
    }

    @Test("at start: records rewritten below the last checkpoint are caught by the checkpoint's hash")
    func rewrittenBelowCheckpoint() async throws {
        let daemon = try await populated()
        #expect(daemon.stop() == 0)
        let head = try daemon.sql("SELECT seq FROM audit_checkpoints ORDER BY rowid DESC LIMIT 1").first ?? ""
        // A forger who recomputes the checkpointed record's hash (and leaves the triggers in place
        // afterwards) still cannot match the checkpoint.
        try tamper(
            daemon,
            """
            UPDATE audit SET hash = 'forged' WHERE seq = \(head);
            CREATE TRIGGER audit_refuses_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'x'); END;
            CREATE TRIGGER audit_refuses_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'x'); END;
            CREATE TRIGGER audit_subjects_refuse_update BEFORE UPDATE ON audit_subjects BEGIN SELECT RAISE(ABORT, 'x'); END;
            CREATE TRIGGER audit_subjects_refuse_delete BEFORE DELETE ON audit_subjects BEGIN SELECT RAISE(ABORT, 'x'); END
            """)
        await #expect(throws: HarnessError.self) { try await daemon.start() }
        #expect(daemon.log.contains("audit record \(head)"), "\(daemon.log.suffix(2000))")
        #expect(daemon.log.contains("checkpoint"))
    }

    @Test("a truncated tail is caught against a checkpoint from the log, and not without one")
    func truncatedTail() async throws {
        let daemon = try await populated()
        defer { daemon.stop() }
        let head = try await verify(daemon).head!
        try tamper(
            daemon,
            "DELETE FROM audit_subjects WHERE seq >= \(head.seq - 2); DELETE FROM audit WHERE seq >= \(head.seq - 2)")
        #expect(try await verify(daemon).status == "ok", "a cut at the end leaves a consistent chain")
        let result = try await verify(daemon, against: "\(head.seq):\(head.hash)")
        #expect(result.status == "broken")
        #expect(result.firstBroken?.problem == "truncated")
        // At stop the daemon checks before it logs a checkpoint: with the triggers dropped it logs
        // the failure and no checkpoint for the shortened head.
        daemon.stop()
        let line = daemon.log.split(separator: "\n").last { $0.contains("audit checkpoint") }
        // "checkpoint SEQ:": the bare "SEQ:" also matches the line's time of day (16:22:02).
        #expect(line?.contains("audit checkpoint \(head.seq - 3):") != true, "\(line ?? "")")
        #expect(daemon.log.contains("no checkpoint logged"))
    }

    @Test(
        "rules impact: none for the same rules; the changed patients when a criterion changes, even when the candidate's own tests fail"
    )
    func impact() async throws {
        let daemon = try DaemonHarness()
        try await daemon.start()
        defer { daemon.stop() }
        try await daemon.postNDJSON(pleuralPatient("IMP-0", ecog: 0))
        try await daemon.postNDJSON(pleuralPatient("IMP-1", ecog: 1))
        let ctl = binaries.appendingPathComponent("pathwayctl").path
        let same = try run(ctl, ["rules", "impact", "Rules", "--socket", daemon.socket, "--json"])
        #expect(same.status == 0, "\(same.errors)")
        let sameImpact = try JSONDecoder().decode(RulesImpactV1.self, from: Data(same.output.utf8))
        #expect(sameImpact.patients == 2)
        #expect(sameImpact.changed.isEmpty)
        #expect(sameImpact.running == sameImpact.candidate)

        // A candidate that narrows nivolumab + ipilimumab to ECOG 0.
        let candidate = daemon.directory.appendingPathComponent("candidate")
        try FileManager.default.copyItem(at: repositoryRoot.appendingPathComponent("Rules"), to: candidate)
        let pack = candidate.appendingPathComponent("pleural-mesothelioma.yaml")
        let text = try String(contentsOf: pack, encoding: .utf8)
        let narrowed = narrowNivolumabIpilimumab(text)
        #expect(narrowed != text, "the pack no longer has the expected ECOG requirement")
        try narrowed.write(to: pack, atomically: true, encoding: .utf8)
        // Its own pack tests now fail: the impact is shown anyway, with the failures beside it.
        let changed = try run(ctl, ["rules", "impact", candidate.path, "--socket", daemon.socket, "--json"])
        #expect(changed.status == 0, "\(changed.errors)")
        let impact = try JSONDecoder().decode(RulesImpactV1.self, from: Data(changed.output.utf8))
        #expect(impact.changed.map(\.patientId) == ["IMP-1"])
        #expect(impact.problems?.contains { $0.contains("pack-test-failed") } == true, "\(impact.problems ?? [])")
        #expect(sameImpact.problems == nil)
        #expect(
            impact.changed.first?.changes.contains {
                $0.id == "nivolumab-ipilimumab" && $0.from == "recommended" && $0.to == "not-eligible"
            } == true,
            "\(impact.changed)")
        // Nothing changed in the running daemon.
        #expect(
            try await daemon.getJSON(EvaluationV1.self, "/v1/patients/IMP-1/recommendations").options.first {
                $0.id == "nivolumab-ipilimumab"
            }?.status == "recommended")
    }
}

/// Replaces the ECOG 0–1 requirement of nivolumab + ipilimumab with ECOG 0 (for the impact test).
func narrowNivolumabIpilimumab(_ pack: String) -> String {
    guard let start = pack.range(of: "id: nivolumab-ipilimumab") else { return pack }
    let rest = pack[start.upperBound...]
    guard let ecog = rest.range(of: "ecog <= 1") else { return pack }
    return pack.replacingCharacters(in: ecog, with: "ecog <= 0")
}
