import Foundation
import Prometheus
import Synchronization

/// The daemon's metrics, in a Prometheus registry that `/v1/metrics` emits: requests by route and
/// status with latency histograms by route, events by outcome, reloads, refusals; the store's
/// writer reports commit latency, requests per group and queue depth into the same registry
/// through swift-metrics (`factory`).
final class DaemonMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    /// For swift-metrics users (the store's writer): the same registry.
    let factory: PrometheusMetricsFactory

    static let latencyBuckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
    ]

    init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = Self.latencyBuckets
        factory.defaultValueHistogramBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]
        self.factory = factory
        // Present from the start, so a scrape shows zeros rather than nothing.
        _ = registry.makeCounter(descriptor: Self.refusals)
        _ = registry.makeCounter(descriptor: Self.refusalsUnrecorded)
    }

    static var requests: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "pathwayd", metricName: "http_requests", unitName: "total",
            helpText: "HTTP requests answered, by route and status.")
    }
    static var requestDuration: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "pathwayd", metricName: "http_request_duration", unitName: "seconds",
            helpText: "Time to answer an HTTP request, by route.")
    }
    static var events: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "pathwayd", metricName: "events", unitName: "total", helpText: "Events posted, by outcome.")
    }
    static var reloads: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "pathwayd", subsystem: "rules", metricName: "reloads", unitName: "total",
            helpText: "Rules reload attempts, by outcome.")
    }
    static var refusals: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "pathwayd", metricName: "refusals", unitName: "total",
            helpText: "Requests refused for lack of a role (403).")
    }
    static var refusalsUnrecorded: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "pathwayd", metricName: "refusals_unrecorded", unitName: "total",
            helpText:
                "Refusals beyond limits.refusalsPerMinute for one uid: counted and summarised, not recorded one by one."
        )
    }

    func request(route: String, status: Int, duration: Duration) {
        registry.makeCounter(descriptor: Self.requests, labels: [("route", route), ("status", String(status))])
            .increment()
        registry.makeDurationHistogram(
            descriptor: Self.requestDuration, labels: [("route", route)], buckets: Self.latencyBuckets
        ).record(duration)
    }

    func event(_ outcome: String, count: Int = 1) {
        guard count > 0 else { return }
        registry.makeCounter(descriptor: Self.events, labels: [("outcome", outcome)]).increment(by: Int64(count))
    }

    func refusal() { registry.makeCounter(descriptor: Self.refusals).increment() }
    func refusalSuppressed() { registry.makeCounter(descriptor: Self.refusalsUnrecorded).increment() }

    func reload(_ outcome: String) {
        registry.makeCounter(descriptor: Self.reloads, labels: [("outcome", outcome)]).increment()
    }

    private let revisions = Mutex<Set<String>>([])

    /// `pathwayd_rules_info{revision}`: 1 for the running revision, 0 for those run before.
    func rulesRevision(_ running: String) {
        let all = revisions.withLock { seen in
            seen.insert(running)
            return seen
        }
        for revision in all {
            gauge(
                "rules_info", "The running rules revision.", revision == running ? 1 : 0,
                labels: [("revision", revision)])
        }
    }

    /// Sets a gauge read at scrape time.
    func gauge(_ name: String, _ help: String, _ value: Double, labels: [(String, String)] = []) {
        registry.makeGauge(
            descriptor: MetricNameDescriptor(namespace: "pathwayd", metricName: name, unitName: "", helpText: help),
            labels: labels
        ).set(value)
    }
}
