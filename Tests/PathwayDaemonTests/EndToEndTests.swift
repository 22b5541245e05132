import Foundation
import Glibc
import PathwayAPI
import PathwayClient
import PathwayTestSupport
import Testing

/// The daemon as its users meet it: an EHR posting events, a tumor board reading recommendations,
/// an auditor checking the trail. Real process, real socket, real SQLite file.
@Suite("pathwayd end to end", .serialized)
struct EndToEndTests {
    @Test("events → recommendations → audit entries → verify → replay, for every example case")
    func walkthrough() async throws {
        let daemon = try DaemonHarness()
        try await daemon.start()
        defer { daemon.stop() }
        for (index, example) in try readExamples().enumerated() {
            let response = try await daemon.postNDJSON(example.events)
            #expect(response.status == 200, "case \(index + 1): \(response.text)")
            let batch = try JSONDecoder().decode(EventBatchResultV1.self, from: Data(response.body))
            #expect(batch.accepted == example.events.count)
            guard let patient = example.events.first?.at("patientId")?.string else { continue }
            let evaluation = try await daemon.getJSON(EvaluationV1.self, "/v1/patients/\(patient)/recommendations")
            #expect(evaluation.patientId == patient)
            #expect(evaluation.pathway == nil || !evaluation.options.isEmpty)
            // The last event's decision is the patient's last decision, and it is in the trail.
            let state = try await daemon.getJSON(PatientStateV1.self, "/v1/patients/\(patient)")
            #expect(state.lastDecisionId == batch.results.last?.decisionId)
            let page = try await daemon.getJSON(AuditPageV1.self, "/v1/audit/decisions?patientId=\(patient)&limit=1000")
            #expect(page.records.filter { $0.action == "event" }.count == example.events.count)
            #expect(page.records.contains { $0.action == "view" && $0.decisionId == evaluation.decisionId })
        }
        let verification = try await daemon.getJSON(AuditVerificationV1.self, "/v1/audit/verify")
        #expect(verification.status == "ok")
        #expect(verification.firstBroken == nil)

        // Replay every decision that holds an evaluation: each must be identical.
        var after: String?
        var replayed = 0
        repeat {
            let page = try await daemon.getJSON(
                AuditPageV1.self, "/v1/audit/decisions?limit=200" + (after.map { "&after=\($0)" } ?? ""))
            for record in page.records where ["event", "view"].contains(record.action) {
                // Reading a patient's facts is a view too, but holds no evaluation to replay.
                let full = try await daemon.getJSON(AuditRecordV1.self, "/v1/audit/decisions/\(record.decisionId)")
                if full.output?.at("patientState") != nil { continue }
                let response = try await daemon.request(
                    "POST", "/v1/audit/decisions/\(record.decisionId)/replay", body: [])
                #expect(response.status == 200, "\(record.action) \(record.decisionId): \(response.text)")
                guard response.status == 200 else { continue }
                let result = try JSONDecoder().decode(ReplayResultV1.self, from: Data(response.body))
                #expect(result.status == "identical", "\(record.decisionId): \(result.differences)")
                replayed += 1
            }
            after = page.next
        } while after != nil
        #expect(replayed > 10)
    }

    @Test("when the database cannot be written the answer is 503, nothing is stored, and a retry succeeds")
    func storageUnavailable() async throws {
        let daemon = try DaemonHarness()
        try await daemon.start()
        defer { daemon.stop() }
        let events = pleuralPatient("SU-1")
        #expect(try await daemon.post(events[0]).status == 200)
        // Another process holds the write lock until the answer is in: the writer waits 5 s, then refuses.
        let holder = try await WriteLockHolder(daemon.database)
        let refused = try await daemon.post(events[1])
        #expect(refused.status == 503, "\(refused.text)")
        #expect(try json(refused).at("error.code")?.string == "storage-unavailable")
        try await holder.release()
        #expect(try daemon.sql("SELECT count(*) FROM events WHERE id = 'SU-1-2'") == ["0"])
        let retried = try await daemon.post(events[1])
        #expect(retried.status == 200)
        #expect(try JSONDecoder().decode(EventResultV1.self, from: Data(retried.body)).status == "accepted")
        #expect(try await daemon.getJSON(AuditVerificationV1.self, "/v1/audit/verify").status == "ok")
    }
}
