import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import PathwayAPI

/// A client of pathwayd's v1 contract over its Unix socket, on AsyncHTTPClient: typed calls that
/// return `PathwayAPI` values, and raw requests for what a caller wants to see as it came. Every
/// request has a deadline for the answer's head and a read timeout while its body arrives, so a
/// daemon that stops answering is an error, never a hang.
///
/// Use it through `PathwayClient.with(socketPath:) { client in … }`, which shuts it down.
public final class PathwayClient: Sendable {
    public let socketPath: String
    /// How long a request may take until the answer's head has arrived.
    public let timeout: Duration
    private let http: HTTPClient

    /// - Parameters:
    ///   - timeout: the deadline for each answer's head (a rules impact over many patients takes a while).
    ///   - readTimeout: the longest silence while a body arrives (an export streams for minutes).
    ///   - connections: connections kept to the daemon (the load client uses one per worker).
    public init(
        socketPath: String, timeout: Duration = .seconds(120), readTimeout: Duration = .seconds(60),
        connections: Int = 8
    ) {
        self.socketPath = socketPath
        self.timeout = timeout
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(5), read: TimeAmount(readTimeout)),
            connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connections),
            decompression: .disabled)
        configuration.httpVersion = .http1Only
        http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    /// Runs `body` with a client and shuts the client down afterwards, whatever happens.
    public static func with<T: Sendable>(
        socketPath: String, timeout: Duration = .seconds(120), connections: Int = 8,
        _ body: (PathwayClient) async throws -> T
    ) async throws -> T {
        let client = PathwayClient(socketPath: socketPath, timeout: timeout, connections: connections)
        do {
            let value = try await body(client)
            try await client.shutdown()
            return value
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    public func shutdown() async throws { try await http.shutdown() }

    // MARK: Raw requests

    /// An answer as it came: status, headers, body bytes.
    public struct Response: Sendable {
        public var status: Int
        public var headers: [(name: String, value: String)]
        public var body: [UInt8]

        public var text: String { String(decoding: body, as: UTF8.self) }

        public func header(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }

        /// The contract §10 error body, when the answer is one.
        public var error: ErrorResponseV1? { try? JSONDecoder().decode(ErrorResponseV1.self, from: Data(body)) }
    }

    /// Sends one request and collects the whole answer (at most `limit` bytes).
    public func request(
        _ method: String, _ path: String, body: [UInt8]? = nil, contentType: String? = nil,
        headers extra: [(String, String)] = [], limit: Int = 256 << 20
    ) async throws(PathwayClientError) -> Response {
        try await send(method, path, body: body, contentType: contentType, headers: extra) { response in
            var collected: [UInt8] = []
            for try await piece in response.body {
                guard collected.count + piece.readableBytes <= limit else {
                    throw PathwayClientError.protocolError("the answer is larger than \(limit) bytes")
                }
                collected += piece.readableBytesView
            }
            return collected
        }
    }

    /// Sends one request and hands the body to `sink` piece by piece as it arrives (long exports);
    /// the returned response's body is empty unless the status is not 200, when it holds the error.
    public func stream(
        _ path: String, into sink: @escaping @Sendable ([UInt8]) throws -> Void
    ) async throws(PathwayClientError) -> Response {
        try await send("GET", path, body: nil, contentType: nil, headers: []) { response in
            var error: [UInt8] = []
            for try await piece in response.body {
                if response.status == .ok {
                    try sink(Array(piece.readableBytesView))
                } else {
                    error += piece.readableBytesView
                }
            }
            return error
        }
    }

    private func send(
        _ method: String, _ path: String, body: [UInt8]?, contentType: String?, headers extra: [(String, String)],
        read: (HTTPClientResponse) async throws -> [UInt8]
    ) async throws(PathwayClientError) -> Response {
        guard let url = URL(httpURLWithSocketPath: socketPath, uri: path) else {
            throw .protocolError("not a usable socket path and request path: \(socketPath) \(path)")
        }
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = HTTPMethod(rawValue: method)
        request.headers.add(name: "User-Agent", value: "pathwayctl/\(PathwayVersion.current)")
        if let body {
            request.body = .bytes(ByteBuffer(bytes: body))
            if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
        }
        for (name, value) in extra { request.headers.add(name: name, value: value) }
        do {
            let response = try await http.execute(request, timeout: TimeAmount(timeout))
            let bytes = try await read(response)
            return Response(
                status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: bytes)
        } catch let error as PathwayClientError {
            throw error
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            throw .timedOut("\(method) \(path): no answer from \(socketPath) within the client's timeout")
        } catch let error as HTTPClientError where error == .connectTimeout {
            throw .cannotConnect(socketPath, "timed out")
        } catch let error as HTTPClientError where error == .remoteConnectionClosed {
            throw .protocolError("the daemon closed the connection in the middle of an answer")
        } catch let error as IOError {
            throw .cannotConnect(socketPath, String(cString: strerror(error.errnoCode)))
        } catch {
            throw .protocolError("\(error)")
        }
    }

    // MARK: Typed calls

    /// Sends a request and decodes a 2xx answer (or one of `accept`); any other status is
    /// `PathwayClientError.refused` with the contract's error body.
    public func call<T: Decodable>(
        _ type: T.Type, _ method: String, _ path: String, body: [UInt8]? = nil,
        contentType: String = "application/json", accept: Set<Int> = [200]
    ) async throws(PathwayClientError) -> T {
        let response = try await request(method, path, body: body, contentType: body == nil ? nil : contentType)
        guard accept.contains(response.status) else {
            throw .refused(status: response.status, error: response.error, body: response.text)
        }
        do { return try JSONDecoder().decode(T.self, from: Data(response.body)) } catch {
            throw .protocolError("the answer to \(method) \(path) is not a \(T.self): \(error)")
        }
    }

    /// Percent-encodes a path segment or query value.
    public static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~")))
            ?? text
    }

    /// `?a=1&b=2` from the values that are set, sorted by name; empty when none is.
    public static func query(_ items: [String: String?]) -> String {
        let set = items.compactMap { key, value in value.map { "\(key)=\(escape($0))" } }.sorted()
        return set.isEmpty ? "" : "?" + set.joined(separator: "&")
    }
}

/// Why a request got no usable answer.
public enum PathwayClientError: Error, CustomStringConvertible, Sendable {
    case cannotConnect(String, String)
    case timedOut(String)
    case protocolError(String)
    /// The daemon answered with a status the call does not accept.
    case refused(status: Int, error: ErrorResponseV1?, body: String)

    public var description: String {
        switch self {
        case .cannotConnect(let path, let reason):
            "cannot connect to \(path): \(reason) (is pathwayd running, and may you use its socket?)"
        case .timedOut(let what): what
        case .protocolError(let what): what
        case .refused(let status, let error, let body):
            error.map { "\(status) \($0.error.code): \($0.error.message)" } ?? "\(status): \(body)"
        }
    }
}

extension PathwayClient {
    /// Shuts the client down from synchronous code (a test harness's deinit), blocking until done.
    /// It waits on the client's own event loops, never on Swift concurrency's threads; never call it
    /// on one of those event loops.
    @available(*, noasync, message: "use shutdown() from async code")
    public func shutdownWaiting() {
        try? http.syncShutdown()
    }
}
