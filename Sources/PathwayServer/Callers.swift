import Hummingbird
import NIOCore
import PathwayAPI
import PathwayStore

/// The request context: Hummingbird's core storage, the connection's channel, and the caller the
/// caller middleware identified.
public struct PathwayContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    let channel: any Channel
    /// Set by `CallerMiddleware` before any route or policy runs.
    public internal(set) var caller: Caller?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// The identified caller; a route reached without one is refused rather than served.
    func requireCaller() throws -> Caller {
        guard let caller else { throw APIError(.forbidden, .forbidden, "the caller could not be identified") }
        return caller
    }
}

/// Says who is calling. The daemon identifies callers by their kernel credentials; tests inject
/// callers of their choosing through `buildRouter(service:callers:)`.
public protocol CallerIdentifying: Sendable {
    func caller(of request: Request, context: PathwayContext) async throws -> Caller
}

/// The production identification: `SO_PEERCRED` of the Unix socket connection, read once when the
/// connection was accepted (`ConnectionGuard`), mapped to roles by the configuration.
struct PeerCredentialCallers: CallerIdentifying {
    let roleMap: RoleMap
    let connections: ConnectionRegistry

    func caller(of request: Request, context: PathwayContext) async throws -> Caller {
        let peer: PeerCredentials
        if let admitted = connections.peer(of: context.channel) {
            peer = admitted
        } else {
            do { peer = try await PeerCredentials.of(context.channel) } catch {
                throw APIError(.forbidden, .forbidden, "the peer's credentials could not be read")
            }
        }
        return roleMap.caller(for: peer)
    }
}

/// Puts the caller on the request context.
struct CallerMiddleware: RouterMiddleware {
    typealias Context = PathwayContext
    let callers: any CallerIdentifying

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        var context = context
        context.caller = try await callers.caller(of: request, context: context)
        return try await next(request, context)
    }
}
