import Foundation
import PathwayAPI
import PathwayTestSupport
import Testing

/// Hostile input, in-process: numbers of any size, duplicate keys, dates far ahead, batches over
/// the limits. Each gets the contract's error shape and the service keeps serving.
@Suite("hostile input, in-process")
struct HostileInputRouteTests {
    private func raw(
        _ daemon: InProcessDaemon.Client, _ path: String, _ body: String, type: String = "application/json"
    )
        async throws -> (status: Int, error: ErrorResponseV1?)
    {
        let response = try await daemon.request(.post, path, body: Array(body.utf8), contentType: type)
        return (response.status, try? JSONDecoder().decode(ErrorResponseV1.self, from: Data(response.body)))
    }

    @Test("an integer field of any magnitude is 400 invalid-event naming it, on every route; the daemon lives")
    func hugeNumbers() async throws {
        let harness = try InProcessDaemon()
        try await harness.run { daemon in
            for number in ["1e19", "-1e19", "1e300", "9223372036854775808", "1.7976931348623157e308", "4.5"] {
                let ps =
                    #"{"id":"n-\#(number)","patientId":"P1","type":"performance-status","occurredAt":"2026-03-01T10:00:00Z","data":{"scale":"ecog","value":\#(number)}}"#
                let cycles =
                    #"{"id":"c-\#(number)","patientId":"P1","type":"treatment","occurredAt":"2026-03-01T10:00:00Z","data":{"kind":"systemic","agents":["cisplatin"],"status":"started","cycles":\#(number)}}"#
                let single = try await raw(daemon, "/v1/events", ps)
                #expect(single.status == 400)
                #expect(single.error?.error.code == "invalid-event")
                #expect(single.error?.error.field == "data.value")
                let lines = try await daemon.request(
                    .post, "/v1/events", body: Array((ps + "\n" + cycles).utf8), contentType: "application/x-ndjson")
                #expect(lines.status == 207)
                let batch = try JSONDecoder().decode(EventBatchResultV1.self, from: Data(lines.body))
                #expect(batch.results.map(\.error?.field) == ["data.value", "data.cycles"])
                let whatIf = try await raw(daemon, "/v1/evaluate", #"{"events":[\#(ps)]}"#)
                #expect(whatIf.status == 400)
                #expect(whatIf.error?.error.field == "events[0].data.value")
            }
            #expect(try await daemon.get("/v1/health").status == 200)
        }
    }

    @Test("a key written twice anywhere in a body is 400 invalid-json naming it")
    func duplicateKeys() async throws {
        let harness = try InProcessDaemon()
        try await harness.run { daemon in
            let event =
                #"{"id":"d1","patientId":"P1","type":"performance-status","occurredAt":"2026-03-01T10:00:00Z","data":{"scale":"ecog","value":0,"value":4}}"#
            let single = try await raw(daemon, "/v1/events", event)
            #expect(single.status == 400)
            #expect(single.error?.error.code == "invalid-json")
            #expect(single.error?.error.field == "data.value")
            let lines = try await daemon.request(
                .post, "/v1/events", body: Array(event.utf8), contentType: "application/x-ndjson")
            let batch = try JSONDecoder().decode(EventBatchResultV1.self, from: Data(lines.body))
            #expect(batch.results.first?.error?.code == "invalid-json")
            let whatIf = try await raw(daemon, "/v1/evaluate", #"{"events":[],"events":[\#(event)]}"#)
            #expect(whatIf.error?.error.field == "events")
            // Nothing was stored.
            #expect(try await daemon.get("/v1/patients/P1").status == 404)
        }
    }

    @Test(
        "an event dated more than 24 h ahead is refused naming occurredAt; one within the allowance waits for its time")
    func futureDates() async throws {
        let harness = try InProcessDaemon()
        try await harness.run { daemon in
            let far =
                #"{"id":"f1","patientId":"P9","type":"performance-status","occurredAt":"2062-03-01T10:00:00Z","data":{"scale":"ecog","value":0}}"#
            let refused = try await raw(daemon, "/v1/events", far)
            #expect(refused.status == 400)
            #expect(refused.error?.error.code == "invalid-event")
            #expect(refused.error?.error.field == "occurredAt")
            let soon = Date().addingTimeInterval(3_600)
            let formatter = ISO8601DateFormatter()
            let near =
                #"{"id":"f2","patientId":"P9","type":"performance-status","occurredAt":"\#(formatter.string(from: soon))","data":{"scale":"ecog","value":0}}"#
            let today =
                #"{"id":"f3","patientId":"P9","type":"performance-status","occurredAt":"2026-03-01T10:00:00Z","data":{"scale":"ecog","value":3}}"#
            #expect(try await raw(daemon, "/v1/events", today).status == 200)
            #expect(try await raw(daemon, "/v1/events", near).status == 200)
            let evaluation = try await daemon.getJSON(EvaluationV1.self, "/v1/patients/P9/recommendations")
            #expect(evaluation.derived["ecog"] == .number(3))
            #expect(evaluation.future?.map(\.eventId) == ["f2"])
        }
    }

    @Test("an NDJSON body over the line limit is 413; the answer lists at most 100 rejections; memory stays bounded")
    func batchLimits() async throws {
        let harness = try InProcessDaemon(limits: "maxBatchLines: 1000")
        try await harness.run { daemon in
            let tooMany = try await daemon.request(
                .post, "/v1/events", body: Array(String(repeating: "1\n", count: 1_001).utf8),
                contentType: "application/x-ndjson")
            #expect(tooMany.status == 413)
            #expect(tooMany.text.contains("\"code\":\"too-many-lines\""))
            var lines = (0..<300).map { _ in "1" }
            lines += pleuralPatient("BATCH-1").map { String(decoding: try! encode($0), as: UTF8.self) }
            let mixed = try await daemon.request(
                .post, "/v1/events", body: Array(lines.joined(separator: "\n").utf8),
                contentType: "application/x-ndjson")
            #expect(mixed.status == 207)
            let batch = try JSONDecoder().decode(EventBatchResultV1.self, from: Data(mixed.body))
            #expect(batch.rejected == 300)
            #expect(batch.unlistedRejections == 200)
            #expect(batch.results.filter { $0.status == "rejected" }.count == 100)
            #expect(batch.accepted == pleuralPatient("BATCH-1").count)
            #expect(mixed.body.count < 100_000)
        }
    }
}
