import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import PathwayAPI
import PathwayCore
import PathwayStore

/// Health (anyone who can connect), metrics (role `admin`) and the OpenAPI document (any role).
struct OperationsController {
    let service: PathwayService

    func addRoutes(to router: Router<PathwayContext>) {
        router.get("/v1/health", use: health)
        router.group("/v1/metrics").add(middleware: RoleMiddleware(.roles([.admin]), service: service))
            .get(use: metrics)
        router.group("/v1/openapi.json").add(middleware: RoleMiddleware(.anyRole, service: service))
            .get(use: openAPI)
    }

    /// The OpenAPI 3.1 document of every route, `Sources/PathwayServer/openapi.json`, compiled in.
    @Sendable func openAPI(_ request: Request, context: PathwayContext) async throws -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: PackageResources.openapi_json)))
    }

    @Sendable func health(_ request: Request, context: PathwayContext) async throws -> Response {
        try .json(
            encoding: HealthV1(
                status: "ok", rules: .init(revision: service.rules.snapshot.rules.revision),
                uptimeSeconds: service.uptimeSeconds))
    }

    @Sendable func metrics(_ request: Request, context: PathwayContext) async throws -> Response {
        let metrics = service.metrics
        let head = try await service.store.head
        metrics.gauge("uptime_seconds", "Seconds since the daemon started.", Double(service.uptimeSeconds))
        metrics.rulesRevision(service.rules.snapshot.rules.revision)
        metrics.gauge("audit_head_sequence", "Sequence number of the last audit record.", Double(head.seq))
        let database = service.configuration.database.path
        for (file, path) in [("database", database), ("wal", database + "-wal")] {
            let bytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            metrics.gauge(
                "database_bytes", "Size of the database file and of its write-ahead log.", Double(bytes),
                labels: [("file", file)])
        }
        var buffer = ByteBuffer()
        buffer.writeBytes(metrics.registry.emitToBuffer())
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: ResponseBody(byteBuffer: buffer))
    }

}
