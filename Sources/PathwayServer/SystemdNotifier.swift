import Foundation
import Glibc

/// Sends sd_notify(3) messages (`READY=1`, `RELOADING=1`, `STOPPING=1`, `STATUS=…`) as one datagram
/// to `$NOTIFY_SOCKET`; does nothing when the variable is not set (not started by systemd).
public struct SystemdNotifier: Sendable {
    let socketPath: String?

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        socketPath = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
    }

    @discardableResult
    public func notify(_ assignments: [String]) -> Bool {
        guard let socketPath else { return false }
        let message = assignments.joined(separator: "\n")
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var path = Array(socketPath.utf8)
        // A leading "@" names an abstract socket: the name starts with a NUL byte.
        if path.first == UInt8(ascii: "@") { path[0] = 0 }
        let sent = withUnixSocketAddress(path) { address, length in
            message.withCString { text in sendto(fd, text, strlen(text), Int32(MSG_NOSIGNAL), address, length) }
        }
        return (sent ?? -1) >= 0
    }

    /// CLOCK_MONOTONIC in microseconds, for `MONOTONIC_USEC` with `RELOADING=1`.
    public static func monotonicMicroseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000 + UInt64(time.tv_nsec) / 1000
    }
}

/// Calls `body` with a `sockaddr_un` holding `path` and its length, or returns nil when the path
/// does not fit (`sun_path` has 108 bytes).
func withUnixSocketAddress<T>(_ path: [UInt8], _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T? {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    guard path.count < MemoryLayout.size(ofValue: address.sun_path) else { return nil }
    withUnsafeMutableBytes(of: &address.sun_path) { buffer in
        for (index, byte) in path.enumerated() { buffer[index] = byte }
    }
    let length = socklen_t(MemoryLayout<sa_family_t>.size + path.count)
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
    }
}
