import CPeerCredentials
import Glibc
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes
import Synchronization

/// The admitted connections: how many each peer uid holds, and each connection's peer
/// credentials, read once when it was accepted.
final class ConnectionRegistry: Sendable {
    let perUidLimit: Int
    private struct State {
        var counts: [UInt32: Int] = [:]
        var peers: [ObjectIdentifier: PeerCredentials] = [:]
    }
    private let state = Mutex(State())

    init(perUidLimit: Int) { self.perUidLimit = perUidLimit }

    /// Takes a slot for the peer's uid, or answers false when the uid already holds its limit.
    func admit(_ peer: PeerCredentials, channel: ObjectIdentifier) -> Bool {
        state.withLock { state in
            guard state.counts[peer.uid, default: 0] < perUidLimit else { return false }
            state.counts[peer.uid, default: 0] += 1
            state.peers[channel] = peer
            return true
        }
    }

    func release(channel: ObjectIdentifier) {
        state.withLock { state in
            guard let peer = state.peers.removeValue(forKey: channel) else { return }
            let remaining = state.counts[peer.uid, default: 1] - 1
            state.counts[peer.uid] = remaining > 0 ? remaining : nil
        }
    }

    /// The peer of an admitted connection.
    func peer(of channel: any Channel) -> PeerCredentials? {
        state.withLock { $0.peers[ObjectIdentifier(channel)] }
    }
}

/// Sent by `HTTPEdges` when a request has been read to its end.
struct RequestComplete {}

/// The first handler of every connection, on raw bytes: refuses a peer uid over its connection
/// limit (so no one peer can hold every slot and lock others out) and cuts off a request whose
/// bytes do not all arrive within the request deadline, counted from its first byte (a slow
/// header or a body trickled one byte a second resets no timer here).
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private let registry: ConnectionRegistry
    private let requestTimeout: TimeAmount
    private let logger: Logger
    private var admitted: ObjectIdentifier?
    private var deadline: Scheduled<Void>?

    init(registry: ConnectionRegistry, requestTimeout: TimeAmount, logger: Logger) {
        self.registry = registry
        self.requestTimeout = requestTimeout
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        guard let provider = context.channel as? any SocketOptionProvider else { return }
        // On the channel's event loop the option is read at once: the future is already complete,
        // so the callback runs before any byte is read.
        let future: EventLoopFuture<pathwayd_ucred> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED))
        future.assumeIsolated().whenComplete { result in
            switch result {
            case .success(let credentials):
                self.admit(
                    PeerCredentials(pid: credentials.pid, uid: credentials.uid, gid: credentials.gid), context: context)
            case .failure: context.close(promise: nil)
            }
        }
    }

    private func admit(_ peer: PeerCredentials, context: ChannelHandlerContext) {
        let uid = peer.uid
        guard registry.admit(peer, channel: ObjectIdentifier(context.channel)) else {
            logger.warning(
                "connection refused: uid \(uid) holds \(registry.perUidLimit) connections (limits.maxConnectionsPerUid)"
            )
            let body =
                #"{"error":{"code":"too-many-connections","message":"this user already holds \#(registry.perUidLimit) connections"}}"#
            let head =
                "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n"
            context.writeAndFlush(wrapOutboundOut(.byteBuffer(ByteBuffer(string: head + body)))).assumeIsolated()
                .whenComplete { _ in
                    context.close(promise: nil)
                }
            return
        }
        admitted = ObjectIdentifier(context.channel)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        if let admitted { registry.release(channel: admitted) }
        admitted = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard admitted != nil else { return }  // refused: nothing is read
        var data = data
        if deadline == nil {
            // The first bytes of a request: an HTTP/1.0 request without keep-alive gets
            // `Connection: close`, which Hummingbird honours (HTTPTypes carry no version).
            var bytes = unwrapInboundIn(data)
            if let closed = Self.closingHTTP10(bytes) {
                bytes = closed
                data = wrapInboundOut(bytes)
            }
            let channel = context.channel
            let timeout = requestTimeout
            deadline = context.eventLoop.scheduleTask(in: timeout) { [logger] in
                logger.notice("connection closed: a request did not arrive in full within \(timeout)")
                channel.close(promise: nil)
            }
        }
        context.fireChannelRead(data)
    }

    /// The request with `Connection: close` added after its request line, when it is HTTP/1.0 and
    /// its headers (in this first buffer) name no `Connection`.
    static func closingHTTP10(_ buffer: ByteBuffer) -> ByteBuffer? {
        let view = buffer.readableBytesView
        guard let lineEnd = view.firstIndex(of: UInt8(ascii: "\n")), lineEnd > view.startIndex else { return nil }
        let line = view[view.startIndex..<lineEnd]
        let trimmed = line.last == UInt8(ascii: "\r") ? line.dropLast() : line[...]
        guard trimmed.count >= 8, trimmed.suffix(8).elementsEqual("HTTP/1.0".utf8) else { return nil }
        let headers = String(decoding: view[lineEnd...].prefix(8192), as: UTF8.self).lowercased()
        let headerBlock = headers.components(separatedBy: "\r\n\r\n").first ?? headers
        guard !headerBlock.contains("\nconnection:") else { return nil }
        var rewritten = ByteBuffer()
        rewritten.writeBytes(view[view.startIndex...lineEnd])
        rewritten.writeString("Connection: close\r\n")
        rewritten.writeBytes(view[view.index(after: lineEnd)...])
        return rewritten
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        if event is RequestComplete {
            deadline?.cancel()
            deadline = nil
            promise?.succeed()
        } else {
            context.triggerUserOutboundEvent(event, promise: promise)
        }
    }
}

/// After the HTTP decoder: tells `ConnectionGuard` when a request has been read to its end, and
/// gives the bare 400 Hummingbird writes for a request the HTTP parser refused the contract's
/// error body (every 4xx has the §10 shape).
final class HTTPEdges: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private var rewritingParserError = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .end = unwrapInboundIn(data) {
            context.triggerUserOutboundEvent(RequestComplete(), promise: nil)
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head) where head.status == .badRequest && head.headerFields[.contentLength] == "0":
            // The application never answers 400 without a body: this is the parser's answer.
            let body = ByteBuffer(
                string: #"{"error":{"code":"invalid-request","message":"the request is not valid HTTP/1.1"}}"# + "\n")
            head.headerFields[.contentLength] = String(body.readableBytes)
            head.headerFields[.contentType] = "application/json; charset=utf-8"
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(body)), promise: promise)
        default:
            context.write(data, promise: promise)
        }
    }
}

/// HTTP/1.1 with `ConnectionGuard` in front of the decoder.
struct GuardedHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value
    let http1: HTTP1Channel
    let registry: ConnectionRegistry
    let requestTimeout: TimeAmount
    let logger: Logger

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        do {
            try channel.pipeline.syncOperations.addHandler(
                ConnectionGuard(registry: registry, requestTimeout: requestTimeout, logger: self.logger),
                position: .first)
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return http1.setup(channel: channel, logger: logger)
    }

    func handle(value: Value, logger: Logger) async {
        await http1.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 behind the connection guard.
    static func guardedHTTP1(
        idleTimeout: TimeAmount, requestTimeout: TimeAmount, registry: ConnectionRegistry, logger: Logger
    ) -> HTTPServerBuilder {
        .init { responder in
            GuardedHTTP1Channel(
                http1: HTTP1Channel(
                    responder: responder,
                    configuration: .init(additionalChannelHandlers: [HTTPEdges()], idleTimeout: idleTimeout)),
                registry: registry, requestTimeout: requestTimeout, logger: logger)
        }
    }
}
