import Synchronization

/// Counters for `/v1/metrics`, in Prometheus text format.
final class DaemonMetrics: Sendable {
    private struct Key: Hashable, Comparable {
        var route: String
        var status: Int
        static func < (a: Key, b: Key) -> Bool { (a.route, a.status) < (b.route, b.status) }
    }

    private let requests = Mutex<[Key: Int]>([:])
    private let events = Mutex<[String: Int]>([:])
    private let reloads = Mutex<[String: Int]>([:])
    /// Refusals (403): all, and those only counted (beyond the per-uid audit limit).
    private let refusals = Mutex((all: 0, suppressed: 0))

    func request(route: String, status: Int) {
        requests.withLock { $0[Key(route: route, status: status), default: 0] += 1 }
    }

    func event(_ outcome: String, count: Int = 1) {
        events.withLock { $0[outcome, default: 0] += count }
    }

    func refusal() { refusals.withLock { $0.all += 1 } }
    func refusalSuppressed() { refusals.withLock { $0.suppressed += 1 } }

    func reload(_ outcome: String) {
        reloads.withLock { $0[outcome, default: 0] += 1 }
    }

    func render(extra: [(name: String, help: String, type: String, samples: [(labels: String, value: Double)])])
        -> String
    {
        var lines: [String] = []
        func family(_ name: String, _ help: String, _ type: String, _ samples: [(String, Double)]) {
            lines.append("# HELP \(name) \(help)")
            lines.append("# TYPE \(name) \(type)")
            for (labels, value) in samples {
                let number = value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(value)
                lines.append("\(name)\(labels.isEmpty ? "" : "{\(labels)}") \(number)")
            }
        }
        let requestCounts = requests.withLock { $0 }.sorted { $0.key < $1.key }
        family(
            "pathwayd_http_requests_total", "HTTP requests answered, by route and status.", "counter",
            requestCounts.map { ("route=\"\($0.key.route)\",status=\"\($0.key.status)\"", Double($0.value)) })
        family(
            "pathwayd_events_total", "Events posted, by outcome.", "counter",
            events.withLock { $0 }.sorted { $0.key < $1.key }.map { ("outcome=\"\($0.key)\"", Double($0.value)) })
        family(
            "pathwayd_rules_reloads_total", "Rules reload attempts, by outcome.", "counter",
            reloads.withLock { $0 }.sorted { $0.key < $1.key }.map { ("outcome=\"\($0.key)\"", Double($0.value)) })
        let refused = refusals.withLock { $0 }
        family(
            "pathwayd_refusals_total", "Requests refused for lack of a role (403).", "counter",
            [("", Double(refused.all))])
        family(
            "pathwayd_refusals_unrecorded_total",
            "Refusals beyond limits.refusalsPerMinute for one uid: counted and summarised, not recorded one by one.",
            "counter", [("", Double(refused.suppressed))])
        for item in extra { family(item.name, item.help, item.type, item.samples.map { ($0.labels, $0.value) }) }
        return lines.joined(separator: "\n") + "\n"
    }
}
