import Foundation
import HTTPTypes
import PathwayAPI
import PathwayTestSupport
import Testing

/// The routes as an EHR, a clinician and an auditor meet them, in-process: the real router and
/// middleware, the real service on a real SQLite file, callers injected by the test.
@Suite("pathwayd routes, in-process")
struct RouteTests {
    @Test("the same event twice is a duplicate; the same id with other content is 409 and stores nothing")
    func idempotency() async throws {
        let harness = try InProcessDaemon()
        try await harness.run { daemon in
            let events = pleuralPatient("IDEM-1")
            let first = try await daemon.post(events[0])
            #expect(first.status == 200)
            let firstResult = try JSONDecoder().decode(EventResultV1.self, from: Data(first.body))
            #expect(firstResult.status == "accepted")

            // The same content with keys in another order and 78.0 for 78 is the same event.
            let again = try await daemon.request(
                .post, "/v1/events",
                body: Array(
                    #"{"data":{"weightKg":78.0,"sex":"male","birthDate":"1958-04-02"},"type":"demographics","patientId":"IDEM-1","occurredAt":"2026-01-05T09:00:00Z","id":"IDEM-1-1","source":"test-ehr"}"#
                        .utf8), contentType: "application/json")
            #expect(again.status == 200)
            let againResult = try JSONDecoder().decode(EventResultV1.self, from: Data(again.body))
            #expect(againResult.status == "duplicate")
            #expect(againResult.decisionId == firstResult.decisionId)
            #expect(againResult.changes.isEmpty)

            let before = try daemon.databaseBytes()
            guard case .object(var changed) = events[0], case .object(var data)? = changed["data"] else { return }
            data["sex"] = "female"
            changed["data"] = .object(data)
            let conflict = try await daemon.post(.object(changed))
            #expect(conflict.status == 409)
            #expect(try conflict.json().at("error.code")?.string == "event-id-conflict")
            #expect(try conflict.json().at("error.field")?.string == "id")
            #expect(try daemon.databaseBytes() == before)
            #expect(try daemon.sql("SELECT count(*) FROM events") == ["1"])
            #expect(try daemon.sql("SELECT count(*) FROM audit WHERE action = 'event'") == ["1"])
        }
    }

    @Test("facts follow occurredAt, not arrival; retraction withdraws a fact and keeps it in history")
    func orderingAndRetraction() async throws {
        let harness = try InProcessDaemon()
        try await harness.run { daemon in
            try await daemon.postNDJSON(pleuralPatient("ORD-1", ecog: 1))
            // A late event about the past does not override the newer ECOG 1.
            let late: JSONValue = [
                "id": "ORD-1-late", "patientId": "ORD-1", "type": "performance-status",
                "occurredAt": "2025-12-01T09:00:00Z",
                "data": ["scale": "ecog", "value": 3],
            ]
            #expect(try await daemon.post(late).status == 200)
            var state = try await daemon.getJSON(PatientStateV1.self, "/v1/patients/ORD-1")
            let ecog = state.facts.first { $0.fact == "performance-status" }
            #expect(ecog?.value == .number(1))
            #expect(ecog?.eventId == "ORD-1-4")
            #expect(state.history.contains { $0.eventId == "ORD-1-late" && $0.reason == "superseded" })

            // Retract the ECOG 1 event: the older ECOG 3 becomes the current value, and options change.
            let retraction: JSONValue = [
                "id": "ORD-1-retract", "patientId": "ORD-1", "type": "retraction", "occurredAt": "2026-01-20T09:00:00Z",
                "data": ["eventId": "ORD-1-4"],
            ]
            let response = try await daemon.post(retraction)
            #expect(response.status == 200)
            let result = try JSONDecoder().decode(EventResultV1.self, from: Data(response.body))
            #expect(result.changes.contains { $0.id == "nivolumab-ipilimumab" && $0.from == "recommended" })
            state = try await daemon.getJSON(PatientStateV1.self, "/v1/patients/ORD-1")
            #expect(state.facts.first { $0.fact == "performance-status" }?.value == .number(3))
            #expect(state.history.contains { $0.eventId == "ORD-1-4" && $0.reason == "retracted" })

            // Retracting an event of another patient, or one that does not exist, is refused.
            let before = try daemon.databaseBytes()
            let wrong: JSONValue = [
                "id": "ORD-2-retract", "patientId": "ORD-2", "type": "retraction", "occurredAt": "2026-01-20T09:00:00Z",
                "data": ["eventId": "ORD-1-3"],
            ]
            let refused = try await daemon.post(wrong)
            #expect(refused.status == 400)
            #expect(try refused.json().at("error.field")?.string == "data.eventId")
            #expect(try daemon.databaseBytes() == before)
        }
    }

    @Test("every rejected request leaves the database byte for byte as it was")
    func rejectionsChangeNothing() async throws {
        let harness = try InProcessDaemon()
        try await harness.run { daemon in
            try await daemon.postNDJSON(pleuralPatient("REJ-1"))
            let base: [String: JSONValue] = [
                "id": "REJ-1-x", "patientId": "REJ-1", "type": "lab", "occurredAt": "2026-01-12T09:00:00Z",
                "data": ["test": "hemoglobin", "value": 12.5, "unit": "g/dL"],
            ]
            func with(_ change: (inout [String: JSONValue]) -> Void) -> [UInt8] {
                var copy = base
                change(&copy)
                return (try? encode(.object(copy))) ?? []
            }
            let cases: [(String, [UInt8], String, Int, String)] = [
                ("unknown type", with { $0["type"] = "vital-signs" }, "application/json", 400, "unknown-event-type"),
                (
                    "bad vocabulary", with { $0["data"] = ["test": "troponin", "value": 1, "unit": "U/L"] },
                    "application/json", 400, "unknown-vocabulary"
                ),
                (
                    "wrong unit", with { $0["data"] = ["test": "hemoglobin", "value": 12.5, "unit": "mg/dL"] },
                    "application/json", 400, "invalid-unit"
                ),
                (
                    "impossible date", with { $0["occurredAt"] = "2026-02-30T09:00:00Z" }, "application/json", 400,
                    "invalid-event"
                ),
                ("unknown field", with { $0["colour"] = "blue" }, "application/json", 400, "invalid-event"),
                ("bad patient id", with { $0["patientId"] = "MRN 4711" }, "application/json", 400, "invalid-event"),
                ("not JSON", Array("{\"id\": ".utf8), "application/json", 400, "invalid-json"),
                ("wrong media type", with { _ in }, "text/plain", 415, "unsupported-media-type"),
                (
                    "too large", Array(repeating: UInt8(ascii: " "), count: 70_000), "application/json", 413,
                    "body-too-large"
                ),
                ("empty NDJSON", Array("\n\n".utf8), "application/x-ndjson", 400, "invalid-event"),
            ]
            for (name, body, type, status, code) in cases {
                let before = try daemon.databaseBytes()
                let response = try await daemon.request(.post, "/v1/events", body: body, contentType: type)
                #expect(response.status == status, "\(name): \(response.text)")
                #expect(try response.json().at("error.code")?.string == code, "\(name): \(response.text)")
                #expect(try daemon.databaseBytes() == before, "\(name) changed the database")
            }
            // The field is named.
            let unit = try await daemon.request(.post, "/v1/events", body: cases[2].1, contentType: "application/json")
            #expect(try unit.json().at("error.field")?.string == "data.unit")

            // NDJSON: the good line is stored, the bad one is reported by line, with its field.
            let good: JSONValue = .object(base.merging(["id": "REJ-1-good"]) { $1 })
            let bad: JSONValue = .object(base.merging(["id": "REJ-1-bad", "type": "nonsense"]) { $1 })
            let mixed = try await daemon.postNDJSON([good, bad])
            #expect(mixed.status == 207)
            let batch = try JSONDecoder().decode(EventBatchResultV1.self, from: Data(mixed.body))
            #expect(batch.results.map(\.status) == ["accepted", "rejected"])
            #expect(batch.results[1].line == 2)
            #expect(batch.results[1].error?.field == "type")
            #expect(try daemon.sql("SELECT count(*) FROM events WHERE id = 'REJ-1-bad'") == ["0"])
        }
    }

    @Test("a what-if stores no patient state and is audited")
    func whatIf() async throws {
        let harness = try InProcessDaemon()
        try await harness.run { daemon in
            let events = pleuralPatient("WI-1").map { event -> JSONValue in
                guard case .object(var fields) = event else { return event }
                fields["patientId"] = nil
                return .object(fields)
            }
            let body: JSONValue = ["events": .array(events), "at": "2026-02-01T00:00:00Z"]
            let response = try await daemon.request(
                .post, "/v1/evaluate", body: try encode(body), contentType: "application/json")
            #expect(response.status == 200, "\(response.text)")
            let evaluation = try JSONDecoder().decode(EvaluationV1.self, from: Data(response.body))
            #expect(evaluation.options.first { $0.id == "nivolumab-ipilimumab" }?.status == "recommended")
            #expect(try daemon.sql("SELECT count(*) FROM events") == ["0"])
            #expect(try daemon.sql("SELECT count(*) FROM patients") == ["0"])
            #expect(
                try daemon.sql("SELECT action FROM audit WHERE decision_id = '\(evaluation.decisionId)'") == ["what-if"]
            )
            // A bad event inside is named by its index.
            let bad: JSONValue = [
                "events": [
                    [
                        "id": "x", "type": "performance-status", "occurredAt": "2026-01-01T00:00:00Z",
                        "data": ["scale": "ecog", "value": 7],
                    ]
                ]
            ]
            let refused = try await daemon.request(
                .post, "/v1/evaluate", body: try encode(bad), contentType: "application/json")
            #expect(refused.status == 400)
            #expect(try refused.json().at("error.field")?.string == "events[0].data.value")
        }
    }

    @Test("the audit trail refuses UPDATE and DELETE in the database itself")
    func appendOnly() async throws {
        let harness = try InProcessDaemon()
        try await harness.run { daemon in
            try await daemon.postNDJSON(pleuralPatient("AO-1"))
            for statement in [
                "UPDATE audit SET action = 'view' WHERE seq = 2", "DELETE FROM audit WHERE seq = 2",
                "UPDATE rules_revisions SET sources = '[]'", "DELETE FROM audit_subjects",
                "UPDATE events SET body = '{}'", "DELETE FROM events",
            ] {
                let result = try run("/usr/bin/sqlite3", [harness.database, statement])
                #expect(result.status != 0, "\(statement) was allowed")
                #expect(result.errors.contains("append-only"), "\(statement): \(result.errors)")
            }
            #expect(try await daemon.getJSON(AuditVerificationV1.self, "/v1/audit/verify").status == "ok")
        }
    }

    @Test("unknown routes, patients and decisions answer with the contract error body")
    func notFound() async throws {
        let harness = try InProcessDaemon()
        try await harness.run { daemon in
            let cases: [(String, String, Int, String)] = [
                ("GET", "/v1/nothing", 404, "not-found"),
                ("GET", "/v1/patients/NOBODY", 404, "unknown-patient"),
                ("GET", "/v1/patients/NOBODY/recommendations", 404, "unknown-patient"),
                ("GET", "/v1/audit/decisions/none", 404, "unknown-decision"),
                ("GET", "/v1/audit/decisions?after=bogus", 400, "invalid-request"),
                ("GET", "/v1/audit/decisions?colour=red", 400, "invalid-request"),
                ("GET", "/v1/audit/export?format=xml", 400, "invalid-request"),
            ]
            for (method, path, status, code) in cases {
                let response = try await daemon.request(HTTPRequest.Method(method)!, path)
                #expect(response.status == status, "\(path): \(response.text)")
                #expect(try response.json().at("error.code")?.string == code, "\(path): \(response.text)")
            }
        }
    }
}
