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

    /// What one worker saw.
    private struct Outcome: Sendable {
        var latencies: [Double] = []
        var failures: [String] = []
    }

    func run() async throws {
        let start = Date().addingTimeInterval(1)  // warm-up: connections and first requests
        let end = start.addingTimeInterval(seconds)
        let (clients, prefix, tolerateFailures) = (clients, prefix, tolerateFailures)
        let interval = rate.map { Double(clients) / $0 }
        let acks = try ackLog.map(AckLog.init)
        // One connection per worker: the pool's limit is the number of workers.
        let outcomes = try await PathwayClient.with(socketPath: socket, timeout: .seconds(60), connections: clients) {
            client in
            try await withThrowingTaskGroup(of: Outcome.self) { group in
                for worker in 0..<clients {
                    group.addTask {
                        var outcome = Outcome()
                        var n = 0
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
                            let body = LoadEvents.event(patient: "\(prefix)-\(worker)-\(n / 7)", sequence: n)
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
        let at = "2026-01-\(String(format: "%02d", 1 + sequence % 28))T09:00:00Z"
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
