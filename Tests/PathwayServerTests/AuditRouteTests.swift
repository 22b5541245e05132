import Foundation
import PathwayAPI
import PathwayTestSupport
import Testing

/// The trail as an auditor reads it, in-process: tampering caught by verify, exports that parse,
/// queries and paging, feedback and adherence.
@Suite("audit and governance, in-process")
struct AuditRouteTests {
    /// Three patients' events and views.
    func populate(_ daemon: InProcessDaemon.Client) async throws {
        for patient in ["AUD-1", "AUD-2", "AUD-3"] {
            try await daemon.postNDJSON(pleuralPatient(patient))
            _ = try await daemon.get("/v1/patients/\(patient)/recommendations")
        }
    }

    func verify(_ daemon: InProcessDaemon.Client, against: String? = nil) async throws -> AuditVerificationV1 {
        try await daemon.getJSON(
            AuditVerificationV1.self, "/v1/audit/verify" + (against.map { "?against=\($0)" } ?? ""))
    }

    /// Runs SQL with the triggers dropped, as someone with write access to the file could.
    func tamper(_ daemon: InProcessDaemon.Client, _ statement: String) throws {
        let script = """
            DROP TRIGGER audit_refuses_update; DROP TRIGGER audit_refuses_delete;
            DROP TRIGGER audit_subjects_refuse_update; DROP TRIGGER audit_subjects_refuse_delete;
            \(statement);
            """
        let result = try run("/usr/bin/sqlite3", [daemon.daemon.database, script])
        #expect(result.status == 0, "\(result.errors)")
    }

    @Test("a deleted record is caught")
    func deletedRecord() async throws {
        let harness = try InProcessDaemon()
        try await harness.run { daemon in
            try await populate(daemon)
            try tamper(daemon, "DELETE FROM audit_subjects WHERE seq = 5; DELETE FROM audit WHERE seq = 5")
            let result = try await verify(daemon)
            #expect(result.firstBroken?.seq == 6)
            #expect(result.firstBroken?.problem == "order")
        }
    }

    @Test("records reordered (two records swap places) are caught")
    func reordered() async throws {
        let harness = try InProcessDaemon()
        try await harness.run { daemon in
            try await populate(daemon)
            try tamper(
                daemon,
                """
                UPDATE audit SET seq = -1 WHERE seq = 4; UPDATE audit SET seq = 4 WHERE seq = 5;
                UPDATE audit SET seq = 5 WHERE seq = -1
                """)
            let result = try await verify(daemon)
            #expect(result.firstBroken?.seq == 4)
            #expect(["link", "content"].contains(result.firstBroken?.problem ?? ""))
        }
    }

    @Test("exports parse: JSON Lines, CSV with a header, FHIR AuditEvent")
    func exports() async throws {
        let harness = try InProcessDaemon()
        try await harness.run { daemon in
            try await populate(daemon)
            // A refusal: its record's caller holds no role.
            #expect(try await daemon.get("/v1/audit/verify", as: []).status == 403)
            let count = Int(try daemon.sql("SELECT count(*) FROM audit")[0])!

            let jsonl = try await daemon.get("/v1/audit/export?format=jsonl")
            #expect(jsonl.status == 200)
            let records = try jsonl.text.split(separator: "\n").map {
                try JSONDecoder().decode(AuditRecordV1.self, from: Data($0.utf8))
            }
            #expect(records.count == count)
            #expect(records.map(\.seq) == Array(1...Int64(count)))
            #expect(records.allSatisfy { $0.input != nil && $0.output != nil })

            let csv = try await daemon.get("/v1/audit/export?format=csv")
            let rows = csv.text.components(separatedBy: "\r\n").filter { !$0.isEmpty }
            #expect(rows.first?.hasPrefix("seq,decisionId,at,") == true)
            #expect(rows.count == count + 1)

            let fhir = try await daemon.get("/v1/audit/export?format=fhir-auditevent")
            let events = try fhir.text.split(separator: "\n").map {
                try JSONDecoder().decode(JSONValue.self, from: Data($0.utf8))
            }
            #expect(events.count == count)
            for event in events {
                #expect(event.at("resourceType")?.string == "AuditEvent")
                #expect(event.at("recorded")?.string != nil)
                #expect(["0", "4"].contains(event.at("outcome")?.string ?? ""))
                #expect(event.at("agent.0.who.identifier.value")?.string != nil)
                #expect((event.at("entity")?.array?.count ?? 0) >= 1)
                #expect(!Self.hasEmptyArray(event), "FHIR JSON allows no empty array: \(event)")
            }
            #expect(events.contains { $0.at("subtype.0.code")?.string == "denied" })
            let patientEntity = events.first { $0.at("subtype.0.code")?.string == "event" }?.at(
                "entity.0.what.identifier.value")
            #expect(patientEntity?.string?.hasPrefix("AUD-") == true)

            // A time window narrows it.
            let none = try await daemon.get("/v1/audit/export?format=jsonl&until=2000-01-01T00:00:00Z")
            #expect(none.status == 200 && none.body.isEmpty)
        }
    }

    @Test("queries filter by patient, action, option and trial, and page with a cursor")
    func queries() async throws {
        let harness = try InProcessDaemon()
        try await harness.run { daemon in
            try await populate(daemon)
            let byPatient = try await daemon.getJSON(AuditPageV1.self, "/v1/audit/decisions?patientId=AUD-2")
            #expect(byPatient.records.count == 8)
            #expect(byPatient.records.allSatisfy { $0.patientId == "AUD-2" })
            #expect(byPatient.records.map(\.seq) == byPatient.records.map(\.seq).sorted(by: >))
            let views = try await daemon.getJSON(AuditPageV1.self, "/v1/audit/decisions?action=view")
            #expect(views.records.count == 3)
            let offered = try await daemon.getJSON(AuditPageV1.self, "/v1/audit/decisions?option=nivolumab-ipilimumab")
            #expect(!offered.records.isEmpty)
            #expect(offered.records.allSatisfy { ["event", "view"].contains($0.action) })
            let none = try await daemon.getJSON(AuditPageV1.self, "/v1/audit/decisions?trial=NCT00000000")
            #expect(none.records.isEmpty)
            var seen: [Int64] = []
            var after: String?
            repeat {
                let page = try await daemon.getJSON(
                    AuditPageV1.self, "/v1/audit/decisions?limit=4" + (after.map { "&after=\($0)" } ?? ""))
                seen += page.records.map(\.seq)
                after = page.next
            } while after != nil
            let total = Int64(try daemon.sql("SELECT count(*) FROM audit")[0])!
            #expect(seen == Array((1...total).reversed()))
        }
    }

    @Test("feedback: an override needs a coded reason; adherence counts on-pathway decisions")
    func feedbackAndAdherence() async throws {
        let harness = try InProcessDaemon()
        try await harness.run { daemon in
            try await populate(daemon)
            let view = try await daemon.getJSON(EvaluationV1.self, "/v1/patients/AUD-1/recommendations")
            #expect(view.options.first { $0.id == "nivolumab-ipilimumab" }?.status == "recommended")
            func send(_ body: JSONValue, patient: String = "AUD-1") async throws -> Answer {
                try await daemon.request(
                    .post, "/v1/patients/\(patient)/feedback", body: try encode(body), contentType: "application/json")
            }
            let noReason = try await send([
                "decisionId": .string(view.decisionId), "optionId": "nivolumab-ipilimumab", "outcome": "overridden",
            ])
            #expect(noReason.status == 400)
            #expect(try noReason.json().at("error.field")?.string == "reason")
            let badCode = try await send([
                "decisionId": .string(view.decisionId), "optionId": "nivolumab-ipilimumab", "outcome": "overridden",
                "reason": ["code": "felt-like-it"],
            ])
            #expect(badCode.status == 400)
            #expect(try badCode.json().at("error.field")?.string == "reason.code")
            let wrongPatient = try await send(
                ["decisionId": .string(view.decisionId), "optionId": "nivolumab-ipilimumab", "outcome": "accepted"],
                patient: "AUD-2")
            #expect(wrongPatient.status == 400)
            let unknownOption = try await send([
                "decisionId": .string(view.decisionId), "optionId": "aspirin", "outcome": "accepted",
            ])
            #expect(try unknownOption.json().at("error.field")?.string == "optionId")

            #expect(
                try await send([
                    "decisionId": .string(view.decisionId), "optionId": "nivolumab-ipilimumab", "outcome": "accepted",
                ]).status == 200)
            let other = try await daemon.getJSON(EvaluationV1.self, "/v1/patients/AUD-2/recommendations")
            let override = try await send(
                [
                    "decisionId": .string(other.decisionId), "optionId": "nivolumab-ipilimumab",
                    "outcome": "overridden",
                    "reason": ["code": "patient-contraindication", "text": "Active autoimmune disease"],
                    "actualTreatment": "carboplatin-pemetrexed",
                ], patient: "AUD-2")
            #expect(override.status == 200, "\(override.text)")
            let report = try await daemon.getJSON(AdherenceReportV1.self, "/v1/reports/adherence")
            let all = report.rows.first { $0.dimension == "all" }
            #expect(all?.total == 2)
            #expect(all?.onPathway == 1)
            #expect(all?.onPathwayRate == 0.5)
            #expect(
                report.rows.contains {
                    $0.dimension == "reason" && $0.value == "patient-contraindication" && $0.overridden == 1
                })
            #expect(
                report.rows.contains {
                    $0.dimension == "pathway" && $0.value == "pleural-mesothelioma" && $0.total == 2
                })
            #expect(try daemon.sql("SELECT count(*) FROM audit WHERE action = 'feedback'") == ["2"])
        }
    }

    /// Whether a JSON value holds an empty array anywhere (FHIR JSON forbids them).
    static func hasEmptyArray(_ value: JSONValue) -> Bool {
        switch value {
        case .array(let items): items.isEmpty || items.contains(where: hasEmptyArray)
        case .object(let members): members.values.contains(where: hasEmptyArray)
        default: false
        }
    }
}
