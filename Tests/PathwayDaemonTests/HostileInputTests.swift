import Foundation
import Glibc
import PathwayAPI
import PathwayClient
import PathwayTestSupport
import Testing

@Suite("Refusals and batches are bounded", .serialized)
struct BoundedWritesTests {
    @Test(
        "an id over the contract's limits is refused before any record; refusals beyond the per-uid limit are only counted"
    )
    func refusalsAreBounded() async throws {
        let daemon = try DaemonHarness(
            roles: """
                  admin: { users: ["@self"] }
                """, limits: "refusalsPerMinute: 5")
        try await daemon.start()
        defer { daemon.stop() }
        let long = String(repeating: "A", count: 10_000)
        for path in [
            "/v1/patients/\(long)", "/v1/patients/\(String(repeating: "B", count: 65))/recommendations",
            "/v1/patients/bad%20id", "/v1/audit/decisions/\(String(repeating: "x", count: 129))",
        ] {
            let response = try await daemon.get(path)
            #expect(response.status == 400, "\(path.prefix(40)): \(response.status)")
            #expect(response.text.contains("\"code\":\"invalid-request\""))
            #expect(!response.text.contains(String(repeating: "A", count: 100)), "the id is not echoed")
        }
        #expect(try daemon.sql("SELECT count(*) FROM audit WHERE action = 'denied'") == ["0"])
        // 40 refusals of one uid in a minute: 5 records, the rest counted.
        for _ in 0..<40 { #expect(try await daemon.get("/v1/patients/P1").status == 403) }
        #expect(try daemon.sql("SELECT count(*) FROM audit WHERE action = 'denied'") == ["5"])
        let bytes = try daemon.sql("SELECT max(length(input) + length(output)) FROM audit WHERE action = 'denied'")
        #expect(Int(bytes.first ?? "") ?? .max < 1_000, "\(bytes)")
        let metrics = try await daemon.get("/v1/metrics").text
        #expect(metrics.contains("pathwayd_refusals_total 40"))
        #expect(metrics.contains("pathwayd_refusals_unrecorded_total 35"))
    }
}

/// A raw Unix-socket connection, for peers that misbehave on purpose.
final class RawConnection {
    let fd: Int32

    init(path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in path.utf8.enumerated() where index < buffer.count - 1 { buffer[index] = byte }
        }
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        // No close(fd) here: the initializer throws after every property is set, so deinit runs
        // and closes it. Closing here as well closed the descriptor twice — the second time
        // whichever file another thread had opened under that number meanwhile (the daemon
        // harness probes a starting daemon this way every 20 ms); CI saw spawns fail with EBADF
        // and a rules file read as garbage.
        guard status == 0 else { throw HarnessError("connect failed: \(errno)") }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    @discardableResult
    func send(_ text: String) -> Bool {
        Array(text.utf8).withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            == text.utf8.count
    }

    /// What the daemon sent before closing (or within the receive timeout).
    func readAll() -> String {
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { break }
            result += buffer[0..<count]
        }
        return String(decoding: result, as: UTF8.self)
    }
}

@Suite("No peer can lock others out", .serialized)
struct ConnectionPolicyTests {
    @Test("one uid holding its connection limit gets 503 for the next; another uid's health check still answers")
    func perUidLimit() async throws {
        let daemon = try DaemonHarness(socketMode: "0666", limits: "maxConnectionsPerUid: 8")
        try await daemon.start()
        defer { daemon.stop() }
        let held = try (0..<8).map { _ in try RawConnection(path: daemon.socket) }
        try await Task.sleep(for: .microseconds(200_000))
        let refused = try RawConnection(path: daemon.socket)
        let answer = refused.readAll()
        #expect(answer.hasPrefix("HTTP/1.1 503"), "\(answer)")
        #expect(answer.contains("too-many-connections"))
        let health = try run(
            "/usr/bin/setpriv",
            [
                "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/curl", "-s", "--max-time", "5", "-w",
                "\n%{http_code}",
                "--unix-socket", daemon.socket, "http://localhost/v1/health",
            ])
        #expect(health.output.hasSuffix("\n200"), "\(health.output) \(health.errors)")
        _ = held
    }

    @Test("a body trickled byte by byte is cut off at the request deadline; the daemon keeps answering")
    func slowBody() async throws {
        let daemon = try DaemonHarness(limits: "requestTimeoutSeconds: 2")
        try await daemon.start()
        defer { daemon.stop() }
        let slow = try RawConnection(path: daemon.socket)
        slow.send(
            "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n")
        let start = Date()
        var closed = false
        for _ in 0..<8 {
            guard slow.send("{") else { closed = true; break }
            try await Task.sleep(for: .microseconds(500_000))
        }
        let rest = slow.readAll()
        #expect(closed || rest.isEmpty || !rest.contains("200 OK"))
        // Without the deadline the read would wait for the 92 bytes that never come; the margin
        // over 2 s + 8 × 0.5 s is for a loaded CI machine, not for the daemon.
        #expect(Date().timeIntervalSince(start) < 20)
        #expect(try await daemon.get("/v1/health").status == 200)
        #expect(daemon.log.contains("did not arrive in full"), "\(daemon.log.suffix(1500))")
    }
}

@Suite("HTTP edges", .serialized)
struct HTTPEdgeTests {
    @Test(
        "parser refusals and bad chunk sizes are 400 in the contract's shape; HTTP/1.0 without keep-alive is closed; a deleted socket stops the daemon"
    )
    func edges() async throws {
        let daemon = try DaemonHarness()
        try await daemon.start()
        func exchange(_ request: String) throws -> String {
            let connection = try RawConnection(path: daemon.socket)
            connection.send(request)
            return connection.readAll()
        }
        let chunk = try exchange(
            "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nabc\r\n0\r\n\r\n"
        )
        #expect(chunk.hasPrefix("HTTP/1.1 400"), "\(chunk)")
        #expect(chunk.contains("\"code\":\"invalid-request\""))
        let garbage = try exchange("GARBAGE\r\n\r\n")
        #expect(garbage.hasPrefix("HTTP/1.1 400"), "\(garbage)")
        #expect(garbage.contains("{\"error\":{\"code\":\"invalid-request\""))
        // readAll returns when the daemon closes the connection (or after 10 s): closed at once.
        let start = Date()
        let old = try exchange("GET /v1/health HTTP/1.0\r\n\r\n")
        #expect(old.contains("200 OK"))
        #expect(
            Date().timeIntervalSince(start) < 5, "an HTTP/1.0 connection without keep-alive is closed after the answer")
        // The socket file deleted: the daemon notices, logs it and stops with status 1.
        unlink(daemon.socket)
        let status = daemon.waitForExit(seconds: 15)
        #expect(status == 1)
        #expect(daemon.log.contains("was removed or replaced"))
    }
}
