import Foundation
import PathwayAPI
import PathwayStore
import PathwayTestSupport
import Testing

/// The two audit record formats: a database written before the upgrade migrates in place, its v1
/// records keep their bytes and verify, v2 records chain onto them; v2 records stay the same size
/// however long a patient's history, and every part of them is covered by the hash.
@Suite("audit record formats, in-process")
struct AuditFormatTests {
    static let fixture = repositoryRoot.appendingPathComponent("Tests/PathwayServerTests/Fixtures/audit-v1.sqlite.gz")

    @Test(
        "a v1 database upgrades in place: its records keep their bytes and verify, v2 records chain onto them, both replay"
    )
    func upgrade() async throws {
        let harness = try InProcessDaemon(database: Self.fixture)
        // The v1 records as they were, before the daemon touches the file.
        let before = try harness.sql(
            "SELECT seq || ' ' || hash || ' ' || length(input) || ' ' || length(output) FROM audit ORDER BY seq")
        #expect(before.count == 18)
        let answered = try await harness.run { daemon -> (decisionId: String, document: JSONValue) in
            let verified = try await daemon.getJSON(AuditVerificationV1.self, "/v1/audit/verify")
            #expect(verified.status == "ok", "\(verified)")
            // New events for a patient the v1 records know, and a view: v2 records.
            let more = try await daemon.postNDJSON([
                [
                    "id": "EX-1-new", "patientId": "EX-1", "type": "performance-status",
                    "occurredAt": "2026-03-02T10:00:00Z", "data": ["scale": "ecog", "value": 1],
                ]
            ])
            #expect(more.status == 200, "\(more.text)")
            let viewed = try await daemon.get("/v1/patients/EX-1/recommendations")
            let view = try viewed.decode(EvaluationV1.self)
            let answered = (decisionId: view.decisionId, document: try viewed.json())
            let after = try await daemon.getJSON(AuditVerificationV1.self, "/v1/audit/verify")
            #expect(after.status == "ok", "\(after)")
            #expect(after.records == 18 + 3)  // the v1 eighteen, then this start, the event, the view
            // Every decision that holds an evaluation replays identically, in either format.
            let page = try await daemon.getJSON(AuditPageV1.self, "/v1/audit/decisions?limit=1000")
            var replayed: [String: Int] = [:]
            for record in page.records where ["event", "view", "what-if"].contains(record.action) {
                let full = try await daemon.getJSON(AuditRecordV1.self, "/v1/audit/decisions/\(record.decisionId)")
                if full.output?.at("patientState") != nil { continue }
                let answer = try await daemon.request(.post, "/v1/audit/decisions/\(record.decisionId)/replay")
                #expect(answer.status == 200, "\(answer.text)")
                #expect(try answer.decode(ReplayResultV1.self).status == "identical", "\(record.seq): \(answer.text)")
                replayed[full.format ?? "?", default: 0] += 1
            }
            #expect(replayed["pathwayd-audit-v1"] == 13, "\(replayed)")
            #expect(replayed["pathwayd-audit-v2"] == 2, "\(replayed)")
            let record = try await daemon.getJSON(AuditRecordV1.self, "/v1/audit/decisions/\(view.decisionId)")
            #expect(record.format == "pathwayd-audit-v2")
            #expect(record.version == PathwayVersion.current)
            #expect(record.output?.at("evaluation.decisionId")?.string == view.decisionId)
            // Exports read both formats: every record (the replays above added one each).
            let total = try await daemon.getJSON(AuditVerificationV1.self, "/v1/audit/verify").records
            #expect(total == 21 + 15)
            let export = try await daemon.get("/v1/audit/export?format=jsonl")
            let lines = try export.text.split(separator: "\n").map {
                try JSONDecoder().decode(AuditRecordV1.self, from: Data($0.utf8))
            }
            #expect(lines.count == total)
            #expect(lines.filter { $0.format == "pathwayd-audit-v1" }.count == 18)
            #expect(lines.allSatisfy { $0.output != nil })
            let csv = try await daemon.get("/v1/audit/export?format=csv")
            #expect(csv.text.components(separatedBy: "\r\n").filter { !$0.isEmpty }.count == total + 1)
            return answered
        }
        let kept = try harness.sql(
            "SELECT seq || ' ' || hash || ' ' || length(input) || ' ' || length(output) FROM audit WHERE seq <= 18 ORDER BY seq"
        )
        #expect(kept == before, "v1 records must keep their bytes")
        #expect(try harness.sql("SELECT count(*) FROM audit WHERE format IS NULL") == ["18"])
        #expect(try harness.sql("SELECT DISTINCT format FROM audit WHERE seq > 18") == ["pathwayd-audit-v2"])
        // The offline recipe of docs/audit.md, run as written, checks both formats; and notices an edit.
        let recipe = try Self.offlineRecipe()
        let offline = try run("/usr/bin/env", ["python3", "-c", recipe, harness.database])
        #expect(
            offline.status == 0 && offline.output.hasPrefix("ok: 36 records"), "\(offline.output) \(offline.errors)")
        _ = try run(
            "/usr/bin/sqlite3",
            [harness.database, "DROP TRIGGER audit_refuses_update; UPDATE audit SET version = 'x' WHERE seq = 30"])
        let broken = try run("/usr/bin/env", ["python3", "-c", recipe, harness.database])
        #expect(
            broken.status != 0 && broken.errors.contains("broken at record 30"), "\(broken.output) \(broken.errors)")
        // The second recipe reads a v2 output with Debian's zstd and its dictionary: the document
        // the daemon answered.
        let reader = try Self.offlineRecipe(header: "python3 - copy.sqlite DECISION-ID <<'PY'\n")
        let read = try run("/usr/bin/env", ["python3", "-c", reader, harness.database, answered.decisionId])
        #expect(read.status == 0, "\(read.errors)")
        let offlineDocument = try JSONDecoder().decode(JSONValue.self, from: Data(read.output.utf8))
        #expect(offlineDocument.at("evaluation") == answered.document, "the output read offline differs")
    }

    /// A Python program of docs/audit.md's offline section.
    static func offlineRecipe(header: String = "python3 - copy.sqlite <<'PY'\n") throws -> String {
        let text = try String(contentsOf: repositoryRoot.appendingPathComponent("docs/audit.md"), encoding: .utf8)
        guard let start = text.range(of: header),
            let end = text.range(of: "\nPY\n", range: start.upperBound..<text.endIndex)
        else { throw HarnessError("docs/audit.md has no offline recipe") }
        return String(text[start.upperBound..<end.lowerBound])
    }

    @Test("a v2 record's size does not grow with the patient's history")
    func boundedSize() async throws {
        let harness = try InProcessDaemon()
        try await harness.run { (daemon) async throws -> Void in
            let base = pleuralPatient("BIG-1")
            #expect(try await daemon.postNDJSON(base).status == 200)
            // 300 more lab results for the same patient.
            let labs: [JSONValue] = (1...300).map { n in
                [
                    "id": .string("BIG-1-lab-\(n)"), "patientId": "BIG-1", "type": "lab",
                    "occurredAt": .string("2026-01-13T09:00:00Z"),
                    "data": ["test": "hemoglobin", "value": .number(12 + Double(n % 10) / 10), "unit": "g/dL"],
                ]
            }
            for start in stride(from: 0, to: labs.count, by: 100) {
                #expect(try await daemon.postNDJSON(Array(labs[start..<(start + 100)])).status == 200)
            }
        }
        func size(_ eventId: String) throws -> Int {
            Int(
                try harness.sql(
                    "SELECT length(input) + length(output_zstd) FROM audit a JOIN events e ON e.decision_id = a.decision_id WHERE e.id = '\(eventId)'"
                ).first ?? "") ?? -1
        }
        let early = try size("BIG-1-lab-3")  // the patient's 10th event
        let late = try size("BIG-1-lab-300")  // the 307th
        #expect(early > 0)
        #expect(Double(late) <= 1.2 * Double(early), "10th event: \(early) bytes, 307th: \(late) bytes")
        // Every evaluation was compressed against the revision's dictionary, stored once.
        #expect(
            try harness.sql("SELECT count(*) FROM audit WHERE action = 'event' AND output_dictionary IS NULL") == ["0"])
        #expect(try harness.sql("SELECT count(*) FROM audit_dictionaries") == ["1"])
    }

    @Test(
        "every stored part of a v2 record is covered: edited input, output bytes, dictionary, version or format break verify"
    )
    func tampering() async throws {
        for statement in [
            "UPDATE audit SET input = replace(input, 'TAMP-1', 'TAMP-2') WHERE seq = 4",
            "UPDATE audit SET output_zstd = output_zstd || X'00' WHERE seq = 4",
            "UPDATE audit SET output_dictionary = NULL WHERE seq = 4",
            "UPDATE audit SET version = '0.0.1' WHERE seq = 4",
            "UPDATE audit SET format = NULL WHERE seq = 4",
            // Another type where text was (SQLite keeps what it is given): a mismatch, not a crash.
            "UPDATE audit SET input = 12345 WHERE seq = 4",
            "UPDATE audit SET decision_id = X'FF00' WHERE seq = 4",
        ] {
            let harness = try InProcessDaemon()
            try await harness.run { daemon in
                #expect(try await daemon.postNDJSON(pleuralPatient("TAMP-1")).status == 200)
                let script = """
                    DROP TRIGGER audit_refuses_update; \(statement);
                    """
                #expect(try run("/usr/bin/sqlite3", [harness.database, script]).status == 0)
                let result = try await daemon.getJSON(AuditVerificationV1.self, "/v1/audit/verify")
                #expect(result.firstBroken?.seq == 4, "\(statement): \(result)")
                #expect(result.firstBroken?.problem == "content", "\(statement): \(result)")
            }
        }
    }

    @Test(
        "a dictionary changed or removed behind the daemon's back is named by verify, at the first record that needs it"
    )
    func dictionaryTampering() async throws {
        for statement in [
            "DROP TRIGGER audit_dictionaries_refuse_update; UPDATE audit_dictionaries SET bytes = bytes || ' '",
            "DROP TRIGGER audit_dictionaries_refuse_delete; DELETE FROM audit_dictionaries",
        ] {
            let harness = try InProcessDaemon()
            try await harness.run { daemon in
                #expect(try await daemon.postNDJSON(pleuralPatient("DICT-1")).status == 200)
                let first = try harness.sql("SELECT min(seq) FROM audit WHERE output_dictionary IS NOT NULL")
                #expect(try run("/usr/bin/sqlite3", [harness.database, statement]).status == 0)
                let result = try await daemon.getJSON(AuditVerificationV1.self, "/v1/audit/verify")
                #expect(result.status == "broken", "\(statement): \(result)")
                #expect(result.firstBroken?.problem == "dictionary", "\(statement): \(result)")
                #expect(result.firstBroken.map { String($0.seq) } == first.first, "\(statement): \(result)")
            }
        }
    }
}
