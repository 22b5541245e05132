import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import PathwayAPI
import PathwayCore
import PathwayStore

/// Health (anyone who can connect) and metrics (role `admin`).
struct OperationsController {
    let service: PathwayService

    func addRoutes(to router: Router<PathwayContext>) {
        router.get("/v1/health", use: health)
        router.group("/v1/metrics").add(middleware: RoleMiddleware(.roles([.admin]), service: service))
            .get(use: metrics)
    }

    @Sendable func health(_ request: Request, context: PathwayContext) async throws -> Response {
        try .json(
            encoding: HealthV1(
                status: "ok", rules: .init(revision: service.rules.snapshot.rules.revision),
                uptimeSeconds: service.uptimeSeconds))
    }

    @Sendable func metrics(_ request: Request, context: PathwayContext) async throws -> Response {
        let counts = service.store.writerCounts
        let head = try await service.store.head
        let text = service.metrics.render(extra: [
            (
                "pathwayd_uptime_seconds", "Seconds since the daemon started.", "gauge",
                [("", Double(service.uptimeSeconds))]
            ),
            (
                "pathwayd_rules_info", "The running rules revision.", "gauge",
                [("revision=\"\(service.rules.snapshot.rules.revision)\"", 1)]
            ),
            (
                "pathwayd_writer_transactions_total", "Transactions committed by the writer.", "counter",
                [("", Double(counts.batches))]
            ),
            (
                "pathwayd_writer_requests_total", "Requests committed by the writer.", "counter",
                [("", Double(counts.jobs))]
            ),
            (
                "pathwayd_writer_failed_transactions_total", "Writer transactions that failed and were rolled back.",
                "counter", [("", Double(counts.failed))]
            ),
            (
                "pathwayd_audit_head_sequence", "Sequence number of the last audit record.", "gauge",
                [("", Double(head.seq))]
            ),
        ])
        var buffer = ByteBuffer()
        buffer.writeString(text)
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: ResponseBody(byteBuffer: buffer))
    }

}
