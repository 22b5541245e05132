import Foundation
import Glibc
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import PathwayAPI
import PathwayCore
import PathwayStore
import ServiceLifecycle
import Synchronization
import UnixSignals

/// Starts pathwayd: checks the accounts the configuration names, takes the socket's lock, opens the
/// service (rules, database, start-up record), serves until SIGTERM/SIGINT, then finishes in-flight
/// requests and closes the database.
public enum Daemon {
    public static func run(
        configuration: DaemonConfiguration, logger: Logger, acceptDamagedAuditTrail: Bool = false
    ) async throws {
        try checkAccounts(configuration, logger: logger)
        // Patient data: files the daemon creates are not readable by others.
        umask(0o027)
        let notifier = SystemdNotifier()
        let socketPath = configuration.socket.path
        try makeParentDirectory(of: socketPath)
        let lock = try SocketLock.acquire(for: socketPath)
        defer { lock.release() }
        let service = try await PathwayService.open(
            configuration: configuration, logger: logger, notifier: notifier,
            acceptDamagedAuditTrail: acceptDamagedAuditTrail)

        let socketWatch = SocketWatchService(path: socketPath, logger: logger)
        // The socket is created by bind with the process umask: narrow it first (trap 5), then
        // set the exact mode and group once it exists.
        let mode = configuration.socketMode
        let previousMask = umask(~mode & 0o777)
        let group = configuration.socket.group
        let revision = service.rules.snapshot.rules.revision
        let app = buildApplication(service: service) { _ in
            umask(previousMask)
            chmod(socketPath, mode)
            if let group, let gid = UInt32(group) ?? RoleMap.lookupGroup(group), chown(socketPath, uid_t.max, gid) != 0
            {
                logger.error("cannot give the socket to group \(group): \(String(cString: strerror(errno)))")
            }
            logger.notice(
                "pathwayd ready",
                metadata: [
                    "socket": "\(socketPath)", "rules": "\(revision)", "database": "\(configuration.database.path)",
                    "version": "\(PathwayVersion.current)",
                ])
            socketWatch.listening()
            notifier.notify(["READY=1", "STATUS=serving rules \(revision)", "MAINPID=\(getpid())"])
        }

        let reloads = SignalReloadService(service: service, caller: service.selfCaller, logger: logger)
        let checkpoints = CheckpointService(
            store: service.store, logger: logger, interval: configuration.checkpointIntervalSeconds)
        let services = ServiceGroup(
            configuration: .init(
                services: [
                    // First, so it is the last to stop: after the server has drained.
                    .init(service: StoreService(service: service)),
                    .init(service: app), .init(service: reloads), .init(service: checkpoints),
                    .init(service: socketWatch, failureTerminationBehavior: .gracefullyShutdownGroup),
                    // Last, so it is the first to hear of the shutdown: STOPPING=1 before the drain.
                    .init(service: StoppingNotifier(notifier: notifier)),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        var failure: (any Error)?
        do { try await services.run() } catch { failure = error }
        try await service.close()  // already closed by StoreService, unless the group failed to start
        unlink(socketPath)
        if let failure { throw failure }
        logger.notice("pathwayd stopped; database closed")
    }

    /// A name that does not exist would silently grant nothing (or leave the socket in the wrong
    /// group): refuse to start, naming it. A role account that cannot reach the socket is named in
    /// a warning.
    static func checkAccounts(_ configuration: DaemonConfiguration, logger: Logger) throws {
        var unknown = RoleMap.unknownNames(in: configuration.roles)
        if let group = configuration.socket.group, UInt32(group) == nil, RoleMap.lookupGroup(group) == nil {
            unknown.insert("socket.group: \(group)", at: 0)
        }
        guard unknown.isEmpty else {
            throw DaemonError(
                "the configuration names users or groups this system does not have: "
                    + "\(unknown.joined(separator: "; ")); not starting")
        }
        if let group = configuration.socket.group, let gid = UInt32(group) ?? RoleMap.lookupGroup(group),
            configuration.socketMode & 0o006 == 0
        {
            let lacking = RoleMap.accountsWithoutSocketAccess(in: configuration.roles, socketGroup: gid)
            if !lacking.isEmpty {
                let names = lacking.joined(separator: ", ")
                logger.warning(
                    "these role accounts are not in the socket's group \(group) and cannot connect: \(names) (usermod -aG \(group) NAME)"
                )
            }
        }
    }

    /// Writes the chain head to the operational log: an auditor copies these lines off the machine
    /// and later runs `verify --against SEQ:HASH` to detect a truncated trail.
    /// The head is verified from the last recorded checkpoint before it is logged and recorded:
    /// a checkpoint never vouches for records nobody checked.
    static func logCheckpoint(_ store: any PathwayStoring, _ logger: Logger, _ when: String) async throws {
        let integrity = try await store.checkIntegrity()
        let verified = integrity.verification.head.map { ChainHead(seq: $0.seq, hash: $0.hash) }
        guard integrity.isIntact, let head = verified ?? integrity.lastCheckpoint else {
            if !integrity.isIntact {
                logger.critical("audit trail integrity check failed; no checkpoint logged: \(integrity.problems)")
            }
            return
        }
        try await store.recordCheckpoint(head, at: now().millisecondsSinceEpoch, kind: when)
        logger.notice("audit checkpoint \(head.seq):\(head.hash)", metadata: ["when": "\(when)"])
    }

    static func makeParentDirectory(of path: String) throws {
        let parent = (path as NSString).deletingLastPathComponent
        guard !parent.isEmpty else { return }
        try FileManager.default.createDirectory(
            atPath: parent, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
    }
}

public struct DaemonError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Holds an exclusive flock on `<socket>.lock` for the daemon's life, so a second daemon refuses
/// to start instead of unlinking a live socket (trap 4). A socket file left by a crashed daemon
/// (nobody holds the lock, nobody answers on it) is removed.
final class SocketLock: Sendable {
    let fd: Int32

    static func acquire(for socketPath: String) throws -> SocketLock {
        let lockPath = socketPath + ".lock"
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw DaemonError("cannot open lock file \(lockPath): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw DaemonError("another pathwayd is running on \(socketPath) (it holds \(lockPath)); not starting")
        }
        if FileManager.default.fileExists(atPath: socketPath) {
            if answers(socketPath) {
                close(fd)
                throw DaemonError("another process is listening on \(socketPath); not starting")
            }
            unlink(socketPath)
        }
        return SocketLock(fd: fd)
    }

    init(fd: Int32) { self.fd = fd }

    func release() {
        close(fd)
    }

    /// Whether something accepts connections on the socket.
    private static func answers(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let result = withUnixSocketAddress(Array(path.utf8)) { connect(fd, $0, $1) }
        return result == 0
    }
}

/// SIGHUP → reload the rules (contract §11).
struct SignalReloadService: Service {
    let service: PathwayService
    let caller: Caller
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            logger.notice("SIGHUP: reloading rules")
            do { _ = try await service.reload(by: caller, reason: "SIGHUP") } catch {
                logger.error("reload failed", metadata: ["error": "\(error)"])
            }
        }
    }
}

/// The store as a service of the group: started before the HTTP server and stopped after it. Once
/// the server has drained, the writer commits what is queued (refusing anything new), the stop
/// checkpoint is recorded and the database is closed.
struct StoreService: Service {
    let service: PathwayService

    func run() async throws {
        try? await gracefulShutdown()
        // Not cancelled with the group: closing must finish either way.
        try await Task { try await service.close() }.value
    }
}

/// Tells systemd `STOPPING=1` as soon as a graceful shutdown begins.
struct StoppingNotifier: Service {
    let notifier: SystemdNotifier

    func run() async throws {
        try? await gracefulShutdown()
        notifier.notify(["STOPPING=1", "STATUS=stopping: finishing requests in flight"])
    }
}

/// Writes the audit chain head to the log every `interval` seconds.
struct CheckpointService: Service {
    let store: any PathwayStoring
    let logger: Logger
    let interval: Int

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do { try await gracefulShutdownSafeSleep(seconds: interval) } catch { return }
            if Task.isShuttingDownGracefully { return }
            try? await Daemon.logCheckpoint(store, logger, "periodic")
        }
    }

    private func gracefulShutdownSafeSleep(seconds: Int) async throws {
        try await cancelWhenGracefulShutdown {
            try await Task.sleep(for: .seconds(seconds))
        }
    }
}

/// Watches the socket file: if it is deleted or replaced, the daemon is alive but nobody can reach
/// it. It stops (graceful shutdown, exit status 1), so that the service manager restarts it and
/// the socket is created anew; the reason is logged.
final class SocketWatchService: Service, Sendable {
    let path: String
    let logger: Logger
    /// The socket's inode, set once the server is listening.
    private let bound = Mutex<ino_t?>(nil)
    let interval: Duration = .seconds(2)

    init(path: String, logger: Logger) {
        self.path = path
        self.logger = logger
    }

    /// Called when the server listens: from now on the file must stay this socket.
    func listening() {
        var info = stat()
        if stat(path, &info) == 0 { bound.withLock { $0 = info.st_ino } }
    }

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            var info = stat()
            if let expected = bound.withLock({ $0 }),
                stat(path, &info) != 0 || info.st_mode & S_IFMT != S_IFSOCK || info.st_ino != expected
            {
                logger.critical(
                    "the socket \(path) was removed or replaced; stopping so that the service manager restarts pathwayd"
                )
                throw DaemonError("socket \(path) removed or replaced")
            }
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
            } catch { return }
        }
    }
}
