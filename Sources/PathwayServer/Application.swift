import Hummingbird
import HummingbirdCore
import NIOCore
import PathwayStore

/// The router: contract §10 error bodies and metrics outermost, then identifier limits, then the
/// caller, then each controller's role policy and routes.
public func buildRouter(service: PathwayService, callers: any CallerIdentifying) -> Router<PathwayContext> {
    let router = Router(context: PathwayContext.self)
    router.add(middleware: ErrorMiddleware(metrics: service.metrics, logger: service.logger))
    router.add(middleware: IdentifierMiddleware())
    router.add(middleware: CallerMiddleware(callers: callers))
    OperationsController(service: service).addRoutes(to: router)
    EventsController(service: service).addRoutes(to: router)
    FHIRController(service: service).addRoutes(to: router)
    CDSHooksController(service: service).addRoutes(to: router)
    PatientsController(service: service).addRoutes(to: router)
    EvaluationController(service: service).addRoutes(to: router)
    RulesController(service: service).addRoutes(to: router)
    AuditController(service: service).addRoutes(to: router)
    return router
}

/// The application on the configured Unix socket, behind the connection guard (per-uid connection
/// limit, request deadline, HTTP edge cases). Callers are identified by their kernel credentials
/// unless `callers` says otherwise (tests).
public func buildApplication(
    service: PathwayService, callers: (any CallerIdentifying)? = nil,
    onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
) -> Application<RouterResponder<PathwayContext>> {
    let configuration = service.configuration
    let connections = ConnectionRegistry(perUidLimit: configuration.maxConnectionsPerUid)
    let router = buildRouter(
        service: service, callers: callers ?? PeerCredentialCallers(roleMap: service.roleMap, connections: connections))
    return Application(
        router: router,
        server: .guardedHTTP1(
            idleTimeout: .seconds(Int64(configuration.idleTimeoutSeconds)),
            requestTimeout: .seconds(Int64(configuration.requestTimeoutSeconds)),
            registry: connections, logger: service.logger),
        configuration: .init(
            address: .unixDomainSocket(path: configuration.socket.path), serverName: "pathwayd",
            availableConnectionsDelegate: MaximumAvailableConnections(configuration.maxConnections)),
        onServerRunning: onServerRunning,
        logger: service.logger)
}
