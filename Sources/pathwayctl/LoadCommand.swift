import ArgumentParser
import Foundation
import PathwayAPI
import PathwayClient
import Synchronization

/// A load client for `scripts/bench-load`: posts distinct valid events over the socket from N
/// clients with keep-alive, and reports acknowledged events/s and latency percentiles. With
/// `--rate`, requests follow a fixed schedule and latency counts from the scheduled time, so a
/// stall is not hidden by the client waiting (no coordinated omission).
struct Load: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load benchmark client: events/s and p50/p99/p999 latency over the socket (not a test).")

    @Option(help: "The socket.") var socket: String
    @Option(help: "Concurrent clients, each with one keep-alive connection.") var clients: Int = 16
    @Option(help: "Seconds to run (after a 1 s warm-up).") var seconds: Double = 10
    @Option(help: "Fixed total rate in requests/s (open loop); without it, as fast as acknowledged.") var rate: Double?
    @Option(help: "A label printed with the numbers.") var label: String = "pathwayd"
    @Option(help: "Prefix of patient ids (distinct per run).") var prefix: String = "LOAD-\(getpid())"
    @Option(help: "Append 'eventId decisionId' of every acknowledged event to this file (crash tests).") var ackLog: String?
    @Flag(help: "Keep going when the daemon goes away (crash tests).") var tolerateFailures = false

    func run() throws {
        let latencies = Mutex<[Double]>([])
        let failures = Mutex<[String]>([])
        let start = Date().addingTimeInterval(1)  // warm-up: connections and first requests
        let end = start.addingTimeInterval(seconds)
        let interval = rate.map { Double(clients) / $0 }
        let socket = socket
        let prefix = prefix
        let ackFile = ackLog.flatMap { path -> FileHandle? in
            if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
            return FileHandle(forWritingAtPath: path)
        }
        ackFile?.seekToEndOfFile()
        let ackLock = NSLock()
        let threads = (0..<clients).map { worker in
            Thread {
                let client = UnixHTTPClient(socketPath: socket)
                var local: [Double] = []
                var n = 0
                var scheduled = Date().addingTimeInterval(interval.map { $0 * Double(worker) / Double(max(1, clients)) } ?? 0)
                while true {
                    if interval != nil {
                        let wait = scheduled.timeIntervalSinceNow
                        if wait > 0 { usleep(UInt32(wait * 1_000_000)) }
                    }
                    let sent = interval == nil ? Date() : scheduled
                    if sent >= end { break }
                    n += 1
                    let body = LoadEvents.event(patient: "\(prefix)-\(worker)-\(n / 7)", sequence: n)
                    do {
                        let response = try client.request("POST", "/v1/events", body: body, contentType: "application/json")
                        if response.status != 200 {
                            failures.withLock { $0.append("\(response.status) \(response.text.prefix(200))") }
                        } else {
                            if sent >= start { local.append(Date().timeIntervalSince(sent)) }
                            if let ackFile, let result = try? JSONDecoder().decode(EventResultV1.self, from: Data(response.body)) {
                                // Written only after the answer arrived: the daemon acknowledged it.
                                let line = Data("\(result.eventId) \(result.decisionId)\n".utf8)
                                ackLock.withLock { ackFile.write(line) }
                            }
                        }
                    } catch {
                        failures.withLock { $0.append("\(error)") }
                        if tolerateFailures { usleep(50_000) }
                    }
                    scheduled = scheduled.addingTimeInterval(interval ?? 0)
                }
                latencies.withLock { $0.append(contentsOf: local) }
            }
        }
        threads.forEach { $0.start() }
        while threads.contains(where: { !$0.isFinished }) { usleep(20_000) }
        let sorted = latencies.withLock { $0 }.sorted()
        let failed = failures.withLock { $0 }
        try ackFile?.synchronize()
        if tolerateFailures && sorted.isEmpty { return }
        guard !sorted.isEmpty else { throw CLIError("no request succeeded: \(failed.prefix(3))") }
        func percentile(_ p: Double) -> String {
            String(format: "%.2f ms", sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] * 1000)
        }
        let throughput = Double(sorted.count) / seconds
        print(
            "\(label): \(clients) clients\(rate.map { String(format: ", fixed %.0f/s", $0) } ?? ""): \(String(format: "%.0f", throughput)) acknowledged/s, p50 \(percentile(0.5)), p99 \(percentile(0.99)), p999 \(percentile(0.999)), \(failed.count) failed"
        )
        print("RESULT \(label) rate=\(String(format: "%.1f", throughput)) p50=\(percentile(0.5)) p99=\(percentile(0.99)) failed=\(failed.count)")
        if !failed.isEmpty { printError("first failures: \(failed.prefix(3))") }
    }
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
            case 1: ("diagnosis", #"{"cancer":"pleural-mesothelioma","histology":"biphasic","histologyConfirmed":true}"#)
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
