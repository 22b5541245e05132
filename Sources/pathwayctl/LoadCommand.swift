import ArgumentParser
import Foundation
import PathwayAPI
import PathwayClient
import Synchronization

/// A load client for `scripts/bench-load`: posts distinct valid events over the socket from N
/// clients with keep-alive, and reports acknowledged events/s and latency percentiles. With
/// `--rate`, requests follow a fixed schedule and latency counts from the scheduled time, so a
/// stall is not hidden by the client waiting (no coordinated omission).
struct Load: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load benchmark client: events/s and p50/p99/p999 latency over the socket (not a test).")

    @Option(help: "The socket.") var socket: String
    @Option(help: "Concurrent clients, each with one keep-alive connection.") var clients: Int = 16
    @Option(help: "Seconds to run (after a 1 s warm-up).") var seconds: Double = 10
    @Option(help: "Fixed total rate in requests/s (open loop); without it, as fast as acknowledged.") var rate: Double?
    @Option(help: "A label printed with the numbers.") var label: String = "pathwayd"
    @Option(help: "Prefix of patient ids (distinct per run).") var prefix: String = "LOAD-\(getpid())"
    @Option(help: "Append 'eventId decisionId' of every acknowledged event to this file (crash tests).") var ackLog:
        String?
    @Flag(help: "Keep going when the daemon goes away (crash tests).") var tolerateFailures = false
    @Option(
        help: """
            Events each client first stores, untimed, for a patient of its own, to whom it then sends all its \
            timed events: the rate with a long history per patient.
            """)
    var history: Int = 0

    /// What one worker saw.
    private struct Outcome: Sendable {
        var latencies: [Double] = []
        var failures: [String] = []
    }

    func run() async throws {
        let (clients, prefix, tolerateFailures, history, seconds) = (
            clients, prefix, tolerateFailures, history, seconds
        )
        let interval = rate.map { Double(clients) / $0 }
        let acks = try ackLog.map(AckLog.init)
        // One connection per worker: the pool's limit is the number of workers.
        let outcomes = try await PathwayClient.with(socketPath: socket, timeout: .seconds(60), connections: clients) {
            client in
            if history > 0 { try await Self.storeHistories(client, clients: clients, prefix: prefix, events: history) }
            let start = Date().addingTimeInterval(1)  // warm-up: connections and first requests
            let end = start.addingTimeInterval(seconds)
            return try await withThrowingTaskGroup(of: Outcome.self) { group in
                for worker in 0..<clients {
                    group.addTask {
                        var outcome = Outcome()
                        var n = history
                        let own = "\(prefix)-\(worker)-history"
                        var scheduled = Date().addingTimeInterval(
                            interval.map { $0 * Double(worker) / Double(max(1, clients)) } ?? 0)
                        while true {
                            if interval != nil {
                                let wait = scheduled.timeIntervalSinceNow
                                if wait > 0 { try await Task.sleep(for: .seconds(wait)) }
                            }
                            let sent = interval == nil ? Date() : scheduled
                            if sent >= end { break }
                            n += 1
                            let patient = history > 0 ? own : "\(prefix)-\(worker)-\(n / 7)"
                            let body = LoadEvents.event(patient: patient, sequence: n)
                            do {
                                let response = try await client.request(
                                    "POST", "/v1/events", body: body, contentType: "application/json")
                                if response.status != 200 {
                                    outcome.failures.append("\(response.status) \(response.text.prefix(200))")
                                } else {
                                    if sent >= start { outcome.latencies.append(Date().timeIntervalSince(sent)) }
                                    // Written only after the answer arrived: the daemon acknowledged it.
                                    if let acks,
                                        let result = try? JSONDecoder().decode(
                                            EventResultV1.self, from: Data(response.body))
                                    {
                                        acks.write("\(result.eventId) \(result.decisionId)\n")
                                    }
                                }
                            } catch {
                                outcome.failures.append("\(error)")
                                if tolerateFailures { try await Task.sleep(for: .milliseconds(50)) }
                            }
                            scheduled = scheduled.addingTimeInterval(interval ?? 0)
                        }
                        return outcome
                    }
                }
                return try await group.reduce(into: [Outcome]()) { $0.append($1) }
            }
        }
        let sorted = outcomes.flatMap(\.latencies).sorted()
        let failed = outcomes.flatMap(\.failures)
        try acks?.close()
        if tolerateFailures && sorted.isEmpty { return }
        guard !sorted.isEmpty else { throw CLIError("no request succeeded: \(failed.prefix(3))") }
        func percentile(_ p: Double) -> String {
            String(format: "%.2f ms", sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] * 1000)
        }
        let throughput = Double(sorted.count) / seconds
        print(
            "\(label): \(clients) clients\(rate.map { String(format: ", fixed %.0f/s", $0) } ?? ""): \(String(format: "%.0f", throughput)) acknowledged/s, p50 \(percentile(0.5)), p99 \(percentile(0.99)), p999 \(percentile(0.999)), \(failed.count) failed"
        )
        print(
            "RESULT \(label) rate=\(String(format: "%.1f", throughput)) p50=\(percentile(0.5)) p99=\(percentile(0.99)) failed=\(failed.count)"
        )
        if !failed.isEmpty { printError("first failures: \(failed.prefix(3))") }
    }
}

extension Load {
    /// Stores `events` events for each client's own patient, in NDJSON batches of 500, untimed.
    static func storeHistories(_ client: PathwayClient, clients: Int, prefix: String, events: Int) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<clients {
                group.addTask {
                    let patient = "\(prefix)-\(worker)-history"
                    for first in stride(from: 1, through: events, by: 500) {
                        let lines = (first...min(events, first + 499)).map {
                            String(decoding: LoadEvents.event(patient: patient, sequence: $0), as: UTF8.self)
                        }
                        let response = try await client.request(
                            "POST", "/v1/events", body: Array(lines.joined(separator: "\n").utf8),
                            contentType: "application/x-ndjson")
                        guard response.status == 200 else {
                            throw CLIError("storing a history: \(response.status) \(response.text.prefix(200))")
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}

/// The backfill benchmark: one client posts a hospital's history as NDJSON batches, one after
/// another, and reports acknowledged events/s over the whole run.
struct Backfill: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Backfill benchmark client: NDJSON batches from one client, events/s (not a test).")

    @Option(help: "The socket.") var socket: String
    @Option(help: "Events in all (patients of 7 events each, as `load` sends them).") var events: Int = 100_000
    @Option(help: "Lines per request.") var batch: Int = 1000
    @Option(help: "Prefix of patient ids (distinct per run).") var prefix: String = "BACKFILL-\(getpid())"

    func run() async throws {
        let (events, batch, prefix) = (events, max(1, batch), prefix)
        let clock = ContinuousClock()
        let (elapsed, accepted) = try await PathwayClient.with(
            socketPath: socket, timeout: .seconds(300), connections: 1
        ) { client in
            var accepted = 0
            let elapsed = try await clock.measure {
                for first in stride(from: 0, to: events, by: batch) {
                    let lines = (first..<min(events, first + batch)).map { n in
                        String(decoding: LoadEvents.event(patient: "\(prefix)-\(n / 7)", sequence: n), as: UTF8.self)
                    }
                    let response = try await client.request(
                        "POST", "/v1/events", body: Array(lines.joined(separator: "\n").utf8),
                        contentType: "application/x-ndjson")
                    guard response.status == 200 else {
                        throw CLIError("batch at line \(first): \(response.status) \(response.text.prefix(200))")
                    }
                    accepted += try JSONDecoder().decode(EventBatchResultV1.self, from: Data(response.body)).accepted
                }
            }
            return (elapsed, accepted)
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        guard accepted == events else { throw CLIError("\(accepted) of \(events) events accepted") }
        print(
            "backfill: \(events) events in batches of \(batch) from one client: \(String(format: "%.1f", seconds)) s, \(String(format: "%.0f", Double(events) / seconds)) events/s"
        )
        print("RESULT backfill rate=\(String(format: "%.1f", Double(events) / seconds))")
    }
}

/// The acknowledged events of a crash test, appended as they are acknowledged.
final class AckLog: Sendable {
    private let file: Mutex<FileHandle>

    init(path: String) throws {
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
        }
        guard let handle = FileHandle(forWritingAtPath: path) else { throw CLIError("cannot write \(path)") }
        handle.seekToEndOfFile()
        file = Mutex(handle)
    }

    func write(_ line: String) { file.withLock { $0.write(Data(line.utf8)) } }

    func close() throws { try file.withLock { try $0.synchronize() } }
}

/// Realistic events: each patient gets demographics, diagnosis, staging, performance status,
/// conditions and a lab, so every request is validated, folded, evaluated and audited in full.
enum LoadEvents {
    static func event(patient: String, sequence: Int) -> [UInt8] {
        let id = "\(patient)-\(sequence)"
        // A minute apart, in order of sequence: a patient's events dated as a live feed sends them
        // (40,320 of them, four weeks, before the dates wrap round).
        let minute = sequence % 40_320
        let at = String(format: "2026-01-%02dT%02d:%02d:00Z", 1 + minute / 1_440, minute / 60 % 24, minute % 60)
        let (type, data): (String, String) =
            switch sequence % 7 {
            case 0: ("demographics", #"{"birthDate":"1958-04-02","sex":"male","weightKg":78}"#)
            case 1:
                ("diagnosis", #"{"cancer":"pleural-mesothelioma","histology":"biphasic","histologyConfirmed":true}"#)
            case 2: ("staging", #"{"edition":"ajcc8","t":"T3","n":"N1","m":"M0"}"#)
            case 3: ("performance-status", #"{"scale":"ecog","value":1}"#)
            case 4: ("condition", #"{"code":"autoimmune-disease","status":"absent"}"#)
            case 5: ("lab", #"{"test":"wbc","value":7.2,"unit":"10^9/L"}"#)
            default: ("metastasis", #"{"site":"brain","status":"absent"}"#)
            }
        return Array(
            #"{"id":"\#(id)","patientId":"\#(patient)","type":"\#(type)","occurredAt":"\#(at)","source":"load","data":\#(data)}"#
                .utf8)
    }
}
