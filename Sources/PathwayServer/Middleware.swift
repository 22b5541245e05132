import Foundation
import HTTPTypes
import Hummingbird
import Logging
import PathwayAPI
import PathwayCore
import PathwayStore

/// Who may call a group of routes: anyone (health), any role at all, or one of some roles.
enum Access: Sendable {
    case anyone
    case anyRole
    case roles(Set<Role>)

    func allows(_ caller: Caller) -> Bool {
        switch self {
        case .anyone: true
        // The gateway reaches the CDS Hooks routes only, as the client its token names.
        case .anyRole: !caller.roles.subtracting([.gateway]).isEmpty
        case .roles(let roles): !roles.isDisjoint(with: caller.roles)
        }
    }

    var needed: String {
        switch self {
        case .anyone: "nothing"
        case .anyRole: "any role but gateway"
        case .roles(let roles): roles.sorted().map(\.rawValue).joined(separator: " or ")
        }
    }
}

/// The outermost middleware: turns every error into a contract §10 body (Hummingbird's own, the
/// store's, the engine's, and anything unexpected as `500 internal-error`), and counts the answer
/// by route template and status.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = PathwayContext
    let metrics: DaemonMetrics
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        let started = ContinuousClock.now
        let response: Response
        do { response = try await next(request, context) } catch { response = answer(error, request).response }
        let route = context.endpointPath ?? "unknown"
        metrics.request(
            route: "\(request.method) \(route)", status: response.status.code, duration: ContinuousClock.now - started)
        return response
    }

    private func answer(_ error: any Error, _ request: Request) -> APIError {
        if let mapped = APIError(mapping: error) {
            if mapped.code == .storageUnavailable {
                logger.error("storage unavailable", metadata: ["error": "\(error)"])
            }
            return mapped
        }
        if let error = error as? HTTPError {
            let code: ErrorCode =
                switch error.status {
                case .notFound: .notFound
                case .methodNotAllowed: .methodNotAllowed
                case .contentTooLarge: .bodyTooLarge
                default: error.status.code < 500 ? .invalidRequest : .internalError
                }
            let message =
                error.status == .notFound
                ? "no route \(request.method) \(request.uri.path)" : (error.body ?? error.status.reasonPhrase)
            return APIError(error.status, code, message)
        }
        logger.error("internal error", metadata: ["error": "\(error)"])
        return APIError(.internalServerError, .internalError, "internal error")
    }
}

/// Path identifiers are checked against the contract's limits before anything else: a patient id
/// is 1–64 of `A-Z a-z 0-9 . _ : -`, a decision id 1–128 printable ASCII. Nothing longer reaches a
/// record, an error message or the store.
struct IdentifierMiddleware: RouterMiddleware {
    typealias Context = PathwayContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        try Self.check(context)
        return try await next(request, context)
    }

    static func check(_ context: Context) throws {
        guard let id = context.parameters.get("id") else { return }
        if context.endpointPath?.hasPrefix("/v1/patients/") == true {
            guard (1...64).contains(id.utf8.count), id.utf8.allSatisfy(EventDecoder.isPatientIdByte) else {
                throw APIError.invalidRequest("id: a patient id is 1–64 characters of A-Z a-z 0-9 . _ : -", field: "id")
            }
        } else {
            guard (1...128).contains(id.utf8.count), id.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
                throw APIError.invalidRequest("id: a decision id is 1–128 printable ASCII characters", field: "id")
            }
        }
    }
}

/// The role policy of a group of routes. A caller without a role the group needs gets
/// `403 forbidden`, and the refusal is written to the audit trail before it is answered (beyond
/// `limits.refusalsPerMinute` per uid, refusals are counted and summarised instead).
struct RoleMiddleware: RouterMiddleware {
    typealias Context = PathwayContext
    let access: Access
    let service: PathwayService

    init(_ access: Access, service: PathwayService) {
        self.access = access
        self.service = service
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        let caller = try context.requireCaller()
        guard access.allows(caller) else {
            try await refuse(caller, request: request, context: context)
        }
        return try await next(request, context)
    }

    private func refuse(_ caller: Caller, request: Request, context: Context) async throws -> Never {
        let route = context.endpointPath ?? request.uri.path
        let message = "\(caller.user) (uid \(caller.uid)) may not \(request.method) \(route): needs \(access.needed)"
        try await service.refuse(caller, request, context: context, APIError(.forbidden, .forbidden, message))
    }
}

/// Calls through the gateway (the TLS proxy, role `gateway`) are identified by their CDS Hooks
/// client JWT, not by the proxy: a valid token makes its issuer the caller, with the clinician
/// role the CDS Hooks routes need; a missing or bad one is `401 unauthorized`, audited like a
/// `403`. Callers without the gateway role pass unchanged (a local clinician on the socket).
struct GatewayMiddleware: RouterMiddleware {
    typealias Context = PathwayContext
    let service: PathwayService

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        let caller = try context.requireCaller()
        guard caller.roles.contains(.gateway) else { return try await next(request, context) }
        let issuer: String
        do {
            issuer = try await service.cdsClients.verify(
                authorization: request.headers[.authorization], path: request.uri.path, at: Date())
        } catch let refusal as CDSClientTokens.Refusal {
            var error = APIError(.unauthorized, .unauthorized, "CDS client token refused: \(refusal)")
            error.headers[.wwwAuthenticate] = #"Bearer error="invalid_token""#
            try await service.refuse(caller, request, context: context, error)
        }
        var context = context
        context.caller = Caller(uid: caller.uid, gid: caller.gid, pid: caller.pid, user: issuer, roles: [.clinician])
        return try await next(request, context)
    }
}

extension PathwayService {
    /// Writes a refusal (403, or 401 through the gateway) to the audit trail, then throws it.
    /// Beyond `limits.refusalsPerMinute` per uid, refusals are counted and summarised instead.
    func refuse(_ caller: Caller, _ request: Request, context: PathwayContext, _ error: APIError) async throws -> Never
    {
        // Identifiers were checked against the contract's limits before this point, so the record
        // is bounded: method, route template, the path (≤ 64 + 64 bytes with `{id}`), peer.
        let route = context.endpointPath ?? request.uri.path
        let patientId = route.hasPrefix("/v1/patients/") ? context.parameters.get("id") : nil
        metrics.refusal()
        let at = now()
        switch refusals.decide(uid: caller.uid, at: at) {
        case .suppress:
            metrics.refusalSuppressed()
        case .write(let suppressed, let since):
            if suppressed > 0, let since {
                let summary = try CanonicalJSON.encode([
                    "suppressedRefusals": "\(suppressed)", "since": since.description, "uid": "\(caller.uid)",
                    "limitPerMinute": "\(refusals.limit)",
                ])
                try await audit(actor: caller, action: .deniedSummary, patientId: nil, input: summary, output: "{}")
            }
            let input = try CanonicalJSON.encode([
                "method": "\(request.method)", "path": request.uri.path, "route": route,
            ])
            let output = try CanonicalJSON.encode(ErrorResponseV1(code: error.code.rawValue, message: error.message))
            try await audit(actor: caller, action: .denied, patientId: patientId, input: input, output: output)
        }
        throw error
    }
}
