import Glibc

/// A small blocking HTTP/1.1 client over a Unix domain socket, with keep-alive. It is what
/// `pathwayctl`, the daemon tests and the load benchmark speak to pathwayd with: no event loop, no
/// TLS, nothing the daemon does not need.
public final class UnixHTTPClient {
    public struct Response: Sendable {
        public var status: Int
        public var headers: [(name: String, value: String)]
        public var body: [UInt8]

        public var text: String { String(decoding: body, as: UTF8.self) }

        public func header(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }
    }

    public let socketPath: String
    private var fd: Int32 = -1
    private var buffer: [UInt8] = []
    private var start = 0

    public init(socketPath: String) {
        self.socketPath = socketPath
    }

    deinit { close() }

    public func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
        buffer = []
        start = 0
    }

    /// Sends one request and reads the whole answer. `sink`, when given, receives the body in
    /// pieces as it arrives instead of it being collected (for long exports).
    @discardableResult
    public func request(
        _ method: String, _ path: String, body: [UInt8]? = nil, contentType: String? = nil,
        headers extra: [(String, String)] = [], sink: (([UInt8]) -> Void)? = nil
    ) throws(ClientError) -> Response {
        if fd < 0 { try connect() }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: localhost\r\nUser-Agent: pathwayctl\r\n"
        if let body {
            head += "Content-Length: \(body.count)\r\n"
            if let contentType { head += "Content-Type: \(contentType)\r\n" }
        }
        for (name, value) in extra { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        do {
            try send(Array(head.utf8) + (body ?? []))
            return try readResponse(sink: sink)
        } catch {
            close()
            throw error
        }
    }

    /// Opens the connection now (the first request does it otherwise).
    public func connect() throws(ClientError) {
        close()
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ClientError.system("socket", errno) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(socketPath.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            Glibc.close(fd)
            throw ClientError.protocolError("socket path too long: \(socketPath)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            let code = errno
            Glibc.close(fd)
            throw ClientError.cannotConnect(socketPath, code)
        }
        self.fd = fd
    }

    private func send(_ bytes: [UInt8]) throws(ClientError) {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent < 0 {
                if errno == EINTR { continue }
                throw ClientError.system("send", errno)
            }
            offset += sent
        }
    }

    /// Reads more bytes into the buffer; false at end of stream.
    private func fill() throws(ClientError) -> Bool {
        if start > 0, start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        }
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 {
                if errno == EINTR { continue }
                throw ClientError.system("recv", errno)
            }
            if count == 0 { return false }
            buffer.append(contentsOf: chunk[0..<count])
            return true
        }
    }

    private func readLine() throws(ClientError) -> String {
        while true {
            if let end = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                var line = buffer[start..<end]
                if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
                start = end + 1
                return String(decoding: line, as: UTF8.self)
            }
            guard try fill() else { throw ClientError.protocolError("connection closed in the middle of a response") }
        }
    }

    private func readExactly(_ count: Int, into deliver: ([UInt8]) -> Void) throws(ClientError) {
        var remaining = count
        while remaining > 0 {
            if start == buffer.count {
                guard try fill() else { throw ClientError.protocolError("connection closed in the middle of a body") }
            }
            let take = min(remaining, buffer.count - start)
            deliver(Array(buffer[start..<start + take]))
            start += take
            remaining -= take
        }
    }

    private func readResponse(sink: (([UInt8]) -> Void)?) throws(ClientError) -> Response {
        let statusLine = try readLine()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw ClientError.protocolError("not an HTTP response: \(statusLine)")
        }
        var headers: [(name: String, value: String)] = []
        while true {
            let line = try readLine()
            if line.isEmpty { break }
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append((String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingSpaces))
        }
        var response = Response(status: status, headers: headers, body: [])
        var collected: [UInt8] = []
        let deliver: ([UInt8]) -> Void = { piece in
            if let sink { sink(piece) } else { collected.append(contentsOf: piece) }
        }
        if let length = response.header("content-length").flatMap(Int.init) {
            try readExactly(length, into: deliver)
        } else if response.header("transfer-encoding")?.lowercased().contains("chunked") == true {
            while true {
                let sizeLine = try readLine()
                guard let size = Int(sizeLine.split(separator: ";").first ?? "", radix: 16) else {
                    throw ClientError.protocolError("bad chunk size: \(sizeLine)")
                }
                if size == 0 {
                    while !(try readLine()).isEmpty {}
                    break
                }
                try readExactly(size, into: deliver)
                _ = try readLine()
            }
        } else {
            // No length: the body runs to the end of the connection.
            while true {
                if start < buffer.count {
                    deliver(Array(buffer[start...]))
                    start = buffer.count
                }
                guard try fill() else { break }
            }
            close()
        }
        if response.header("connection")?.lowercased() == "close" { close() }
        response.body = collected
        return response
    }
}

public enum ClientError: Error, CustomStringConvertible, Sendable {
    case cannotConnect(String, Int32)
    case system(String, Int32)
    case protocolError(String)

    public var description: String {
        switch self {
        case .cannotConnect(let path, let code):
            "cannot connect to \(path): \(String(cString: strerror(code))) (is pathwayd running? --socket sets the path)"
        case .system(let call, let code): "\(call): \(String(cString: strerror(code)))"
        case .protocolError(let message): message
        }
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        var text = Substring(self)
        while text.first == " " || text.first == "\t" { text = text.dropFirst() }
        while text.last == " " || text.last == "\t" { text = text.dropLast() }
        return String(text)
    }
}
