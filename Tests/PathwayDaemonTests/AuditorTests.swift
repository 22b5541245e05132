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
    func populated() throws -> DaemonHarness {
        let daemon = try DaemonHarness()
        try daemon.start()
        for patient in ["AUD-1", "AUD-2", "AUD-3"] {
            try daemon.postNDJSON(pleuralPatient(patient))
            _ = try daemon.get("/v1/patients/\(patient)/recommendations")
        }
        return daemon
    }

    func verify(_ daemon: DaemonHarness, against: String? = nil) throws -> AuditVerificationV1 {
        try daemon.getJSON(AuditVerificationV1.self, "/v1/audit/verify" + (against.map { "?against=\($0)" } ?? ""))
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
    func editedContent() throws {
        let daemon = try populated()
        defer { daemon.stop() }
        #expect(try verify(daemon).status == "ok")
        try tamper(daemon, "UPDATE audit SET output = replace(output, '\"recommended\"', '\"not-eligible\"') WHERE seq = 7")
        let result = try verify(daemon)
        #expect(result.status == "broken")
        #expect(result.firstBroken?.seq == 7)
        #expect(result.firstBroken?.problem == "content")
        let cli = try run(binaries.appendingPathComponent("pathwayctl").path, ["audit", "verify", "--socket", daemon.socket])
        #expect(cli.status == 1)
        #expect(cli.output.contains("BROKEN at record 7"))
    }

    @Test("at start: a rewritten trail or missing triggers stop the daemon, naming the record; an audited override starts it")
    func tamperingNoticedAtStart() throws {
        let daemon = try populated()
        #expect(daemon.stop() == 0)
        let checkpoints = try daemon.sql("SELECT kind FROM audit_checkpoints ORDER BY rowid")
        #expect(checkpoints == ["start", "stop"], "\(checkpoints)")
        // Triggers dropped, one record edited, every hash after it recomputed would still break the
        // last checkpoint; here the content is edited and the hashes are left, as in editedContent.
        try tamper(daemon, "UPDATE audit SET output = replace(output, '\"recommended\"', '\"not-eligible\"') WHERE seq = 7")
        #expect(throws: HarnessError.self) { try daemon.start() }
        #expect(daemon.log.contains("append-only triggers missing"), "\(daemon.log.suffix(2000))")
        #expect(daemon.log.contains("not starting"))
        let checkpointsAfter = try daemon.sql("SELECT count(*) FROM audit_checkpoints")
        #expect(checkpointsAfter == ["2"], "no checkpoint is recorded for an unverified head")
        // The override starts it, recreates the triggers and records what was found.
        try daemon.start(arguments: ["--accept-damaged-audit-trail"])
        defer { daemon.stop() }
        let override = try daemon.sql("SELECT input FROM audit WHERE action = 'integrity-override'")
        #expect(override.first?.contains("append-only triggers missing") == true, "\(override)")
        let triggers = try daemon.sql("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'")
        #expect(triggers == ["8"])
    }

    @Test("at start: records rewritten below the last checkpoint are caught by the checkpoint's hash")
    func rewrittenBelowCheckpoint() throws {
        let daemon = try populated()
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
        #expect(throws: HarnessError.self) { try daemon.start() }
        #expect(daemon.log.contains("audit record \(head)"), "\(daemon.log.suffix(2000))")
        #expect(daemon.log.contains("checkpoint"))
    }

    @Test("a deleted record is caught")
    func deletedRecord() throws {
        let daemon = try populated()
        defer { daemon.stop() }
        try tamper(daemon, "DELETE FROM audit_subjects WHERE seq = 5; DELETE FROM audit WHERE seq = 5")
        let result = try verify(daemon)
        #expect(result.firstBroken?.seq == 6)
        #expect(result.firstBroken?.problem == "order")
    }

    @Test("records reordered (two records swap places) are caught")
    func reordered() throws {
        let daemon = try populated()
        defer { daemon.stop() }
        try tamper(
            daemon,
            """
            UPDATE audit SET seq = -1 WHERE seq = 4; UPDATE audit SET seq = 4 WHERE seq = 5;
            UPDATE audit SET seq = 5 WHERE seq = -1
            """)
        let result = try verify(daemon)
        #expect(result.firstBroken?.seq == 4)
        #expect(["link", "content"].contains(result.firstBroken?.problem ?? ""))
    }

    @Test("a truncated tail is caught against a checkpoint from the log, and not without one")
    func truncatedTail() throws {
        let daemon = try populated()
        defer { daemon.stop() }
        let head = try verify(daemon).head!
        try tamper(daemon, "DELETE FROM audit_subjects WHERE seq >= \(head.seq - 2); DELETE FROM audit WHERE seq >= \(head.seq - 2)")
        #expect(try verify(daemon).status == "ok", "a cut at the end leaves a consistent chain")
        let result = try verify(daemon, against: "\(head.seq):\(head.hash)")
        #expect(result.status == "broken")
        #expect(result.firstBroken?.problem == "truncated")
        // At stop the daemon checks before it logs a checkpoint: with the triggers dropped it logs
        // the failure and no checkpoint for the shortened head.
        daemon.stop()
        let line = daemon.log.split(separator: "\n").last { $0.contains("audit checkpoint") }
        #expect(line?.contains("\(head.seq - 3):") != true, "\(line ?? "")")
        #expect(daemon.log.contains("no checkpoint logged"))
    }

    @Test("exports parse: JSON Lines, CSV with a header, FHIR AuditEvent")
    func exports() throws {
        let daemon = try populated()
        defer { daemon.stop() }
        let count = Int(try daemon.sql("SELECT count(*) FROM audit")[0])!

        let jsonl = try daemon.get("/v1/audit/export?format=jsonl")
        #expect(jsonl.status == 200)
        let records = try jsonl.text.split(separator: "\n").map {
            try JSONDecoder().decode(AuditRecordV1.self, from: Data($0.utf8))
        }
        #expect(records.count == count)
        #expect(records.map(\.seq) == Array(1...Int64(count)))
        #expect(records.allSatisfy { $0.input != nil && $0.output != nil })

        let csv = try daemon.get("/v1/audit/export?format=csv")
        let rows = csv.text.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        #expect(rows.first?.hasPrefix("seq,decisionId,at,") == true)
        #expect(rows.count == count + 1)

        let fhir = try daemon.get("/v1/audit/export?format=fhir-auditevent")
        let events = try fhir.text.split(separator: "\n").map { try JSONDecoder().decode(JSONValue.self, from: Data($0.utf8)) }
        #expect(events.count == count)
        for event in events {
            #expect(event.at("resourceType")?.string == "AuditEvent")
            #expect(event.at("recorded")?.string != nil)
            #expect(["0", "4"].contains(event.at("outcome")?.string ?? ""))
            #expect(event.at("agent.0.who.identifier.value")?.string != nil)
            #expect((event.at("entity")?.array?.count ?? 0) >= 1)
        }
        let patientEntity = events.first { $0.at("subtype.0.code")?.string == "event" }?.at("entity.0.what.identifier.value")
        #expect(patientEntity?.string?.hasPrefix("AUD-") == true)

        // A time window narrows it.
        let none = try daemon.get("/v1/audit/export?format=jsonl&until=2000-01-01T00:00:00Z")
        #expect(none.status == 200 && none.body.isEmpty)
    }

    @Test("queries filter by patient, action, option and trial, and page with a cursor")
    func queries() throws {
        let daemon = try populated()
        defer { daemon.stop() }
        let byPatient = try daemon.getJSON(AuditPageV1.self, "/v1/audit/decisions?patientId=AUD-2")
        #expect(byPatient.records.count == 8)
        #expect(byPatient.records.allSatisfy { $0.patientId == "AUD-2" })
        #expect(byPatient.records.map(\.seq) == byPatient.records.map(\.seq).sorted(by: >))
        let views = try daemon.getJSON(AuditPageV1.self, "/v1/audit/decisions?action=view")
        #expect(views.records.count == 3)
        let offered = try daemon.getJSON(AuditPageV1.self, "/v1/audit/decisions?option=nivolumab-ipilimumab")
        #expect(!offered.records.isEmpty)
        #expect(offered.records.allSatisfy { ["event", "view"].contains($0.action) })
        let none = try daemon.getJSON(AuditPageV1.self, "/v1/audit/decisions?trial=NCT00000000")
        #expect(none.records.isEmpty)
        var seen: [Int64] = []
        var after: String?
        repeat {
            let page = try daemon.getJSON(AuditPageV1.self, "/v1/audit/decisions?limit=4" + (after.map { "&after=\($0)" } ?? ""))
            seen += page.records.map(\.seq)
            after = page.next
        } while after != nil
        let total = Int64(try daemon.sql("SELECT count(*) FROM audit")[0])!
        #expect(seen == Array((1...total).reversed()))
    }

    @Test("feedback: an override needs a coded reason; adherence counts on-pathway decisions")
    func feedbackAndAdherence() throws {
        let daemon = try populated()
        defer { daemon.stop() }
        let view = try daemon.getJSON(EvaluationV1.self, "/v1/patients/AUD-1/recommendations")
        #expect(view.options.first { $0.id == "nivolumab-ipilimumab" }?.status == "recommended")
        func send(_ body: JSONValue, patient: String = "AUD-1") throws -> UnixHTTPClient.Response {
            try daemon.client().request("POST", "/v1/patients/\(patient)/feedback", body: try encode(body), contentType: "application/json")
        }
        let noReason = try send(["decisionId": .string(view.decisionId), "optionId": "nivolumab-ipilimumab", "outcome": "overridden"])
        #expect(noReason.status == 400)
        #expect(try json(noReason).at("error.field")?.string == "reason")
        let badCode = try send([
            "decisionId": .string(view.decisionId), "optionId": "nivolumab-ipilimumab", "outcome": "overridden",
            "reason": ["code": "felt-like-it"],
        ])
        #expect(badCode.status == 400)
        #expect(try json(badCode).at("error.field")?.string == "reason.code")
        let wrongPatient = try send(["decisionId": .string(view.decisionId), "optionId": "nivolumab-ipilimumab", "outcome": "accepted"], patient: "AUD-2")
        #expect(wrongPatient.status == 400)
        let unknownOption = try send(["decisionId": .string(view.decisionId), "optionId": "aspirin", "outcome": "accepted"])
        #expect(try json(unknownOption).at("error.field")?.string == "optionId")

        #expect(try send(["decisionId": .string(view.decisionId), "optionId": "nivolumab-ipilimumab", "outcome": "accepted"]).status == 200)
        let other = try daemon.getJSON(EvaluationV1.self, "/v1/patients/AUD-2/recommendations")
        let override = try send(
            [
                "decisionId": .string(other.decisionId), "optionId": "nivolumab-ipilimumab", "outcome": "overridden",
                "reason": ["code": "patient-contraindication", "text": "Active autoimmune disease"],
                "actualTreatment": "carboplatin-pemetrexed",
            ], patient: "AUD-2")
        #expect(override.status == 200, "\(override.text)")
        let report = try daemon.getJSON(AdherenceReportV1.self, "/v1/reports/adherence")
        let all = report.rows.first { $0.dimension == "all" }
        #expect(all?.total == 2)
        #expect(all?.onPathway == 1)
        #expect(all?.onPathwayRate == 0.5)
        #expect(report.rows.contains { $0.dimension == "reason" && $0.value == "patient-contraindication" && $0.overridden == 1 })
        #expect(report.rows.contains { $0.dimension == "pathway" && $0.value == "pleural-mesothelioma" && $0.total == 2 })
        #expect(try daemon.sql("SELECT count(*) FROM audit WHERE action = 'feedback'") == ["2"])
    }

    @Test("rules impact: none for the same rules; the changed patients when a criterion changes, even when the candidate's own tests fail")
    func impact() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        defer { daemon.stop() }
        try daemon.postNDJSON(pleuralPatient("IMP-0", ecog: 0))
        try daemon.postNDJSON(pleuralPatient("IMP-1", ecog: 1))
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
        #expect(impact.changed.first?.changes.contains { $0.id == "nivolumab-ipilimumab" && $0.from == "recommended" && $0.to == "not-eligible" } == true,
                "\(impact.changed)")
        // Nothing changed in the running daemon.
        #expect(try daemon.getJSON(EvaluationV1.self, "/v1/patients/IMP-1/recommendations").options.first { $0.id == "nivolumab-ipilimumab" }?.status == "recommended")
    }
}

/// Replaces the ECOG 0–1 requirement of nivolumab + ipilimumab with ECOG 0 (for the impact test).
func narrowNivolumabIpilimumab(_ pack: String) -> String {
    guard let start = pack.range(of: "id: nivolumab-ipilimumab") else { return pack }
    let rest = pack[start.upperBound...]
    guard let ecog = rest.range(of: "ecog <= 1") else { return pack }
    return pack.replacingCharacters(in: ecog, with: "ecog <= 0")
}
