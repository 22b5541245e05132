import Foundation
import Glibc
import PathwayAPI
import PathwayClient
import PathwayTestSupport
import Testing

/// A real pathwayd process on a real socket and database in a fresh temporary directory.
final class DaemonHarness: @unchecked Sendable {
    let directory: URL
    let rulesDirectory: URL
    var socket: String { directory.appendingPathComponent("d.sock").path }
    var database: String { directory.appendingPathComponent("d.sqlite").path }
    var configPath: String { directory.appendingPathComponent("pathwayd.yaml").path }
    private(set) var process: Process?
    /// The typed client, shut down with the harness; a new one for every start, so that a pool
    /// that saw the previous daemon die does not answer for the new one.
    private(set) var client: PathwayClient
    let logPath: String
    var environment: [String: String] = [:]

    /// - Parameters:
    ///   - copyRules: run on a private copy of Rules/ (for tests that change the rules).
    ///   - socketMode: e.g. "0666" when another uid must be able to connect.
    ///   - roles: YAML for the `roles:` mapping.
    ///   - safetyPatients: generated patients checked at start and reload (10,000 in production; fewer
    ///     here, since every test starts a debug build).
    ///   - limits: extra `limits:` entries, e.g. `refusalsPerMinute: 5`.
    ///   - extra: more configuration, appended (e.g. a `cdsHooks:` block), at column 0.
    init(
        copyRules: Bool = false, socketMode: String = "0660", roles: String? = nil, safetyPatients: Int = 300,
        limits: String = "", socketGroup: String? = nil, extra: String = ""
    ) throws {
        // Short: a socket path has at most 107 bytes.
        directory = URL(fileURLWithPath: "/tmp/pw-" + String(UUID().uuidString.prefix(8)))
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        chmod(directory.path, 0o755)
        client = PathwayClient(
            socketPath: directory.appendingPathComponent("d.sock").path, timeout: .seconds(60), connections: 16)
        logPath = directory.appendingPathComponent("daemon.log").path
        if copyRules {
            rulesDirectory = directory.appendingPathComponent("rules")
            try FileManager.default.copyItem(at: repositoryRoot.appendingPathComponent("Rules"), to: rulesDirectory)
        } else {
            rulesDirectory = repositoryRoot.appendingPathComponent("Rules")
        }
        let roleYAML =
            roles ?? """
                  ehr:       { users: ["@self"] }
                  clinician: { users: ["@self"] }
                  auditor:   { users: ["@self"] }
                  admin:     { users: ["@self"] }
                """
        let config = """
            socket:   { path: \(socket), mode: "\(socketMode)"\(socketGroup.map { ", group: \($0)" } ?? "") }
            database: { path: \(database), synchronous: full }
            rules:    { directory: \(rulesDirectory.path), safetyPatients: \(safetyPatients) }
            roles:
            \(roleYAML)
            limits:   { maxBodyBytes: 65536, maxConnections: 64, idleTimeoutSeconds: 30\(limits.isEmpty ? "" : ", " + limits) }
            audit:    { checkpointIntervalSeconds: 3600 }
            \(extra)
            """
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    deinit {
        client.shutdownWaiting()
        if let process, process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(at: directory)
    }

    /// Starts the daemon and waits until it answers `/v1/health`.
    func start(arguments extra: [String] = []) async throws {
        let process = Process()
        process.executableURL = binaries.appendingPathComponent("pathwayd")
        process.arguments = ["--config", configPath] + extra
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "NOTIFY_SOCKET")
        environment.merge(self.environment) { $1 }
        process.environment = environment
        if !FileManager.default.fileExists(atPath: logPath) {
            _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        try process.run()
        self.process = process
        // Waited for on a thread of its own: other suites of this process may keep every thread of
        // the concurrency pool busy with long synchronous work, and a wait that cannot run would
        // see its deadline pass. A debug build checks its safety invariants at start, so on a busy
        // two-core machine that can take a while.
        let socket = socket
        let exited: String? = await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                let deadline = Date().addingTimeInterval(120)
                while Date() < deadline {
                    if !process.isRunning {
                        continuation.resume(returning: "pathwayd exited with \(process.terminationStatus)")
                        return
                    }
                    // A fresh connection per probe: the client's pool would back off after the
                    // refused connects of a daemon still starting.
                    if let probe = try? RawConnection(path: socket),
                        probe.send("GET /v1/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
                        probe.readAll().hasPrefix("HTTP/1.1 200")
                    {
                        continuation.resume(returning: nil)
                        return
                    }
                    usleep(20_000)
                }
                continuation.resume(returning: "pathwayd did not answer within 120 s")
            }
        }
        if let exited { throw HarnessError("\(exited):\n\(self.log)") }
        try? await client.shutdown()
        client = PathwayClient(socketPath: socket, timeout: .seconds(60), connections: 16)
    }

    /// SIGTERM, then waits for the exit; returns the exit status.
    @discardableResult
    func stop() -> Int32 {
        guard let process else { return -1 }
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        let status = exitStatus(of: process, within: 120)
        self.process = nil
        return status ?? -1
    }

    /// Waits for the daemon to exit by itself; its status, or nil after `seconds`.
    func waitForExit(seconds: Double) -> Int32? {
        guard let process else { return nil }
        guard let status = exitStatus(of: process, within: seconds) else { return nil }
        self.process = nil
        return status
    }

    /// SIGKILL: no chance to finish anything.
    func crash() {
        guard let process else { return }
        kill(process.processIdentifier, SIGKILL)
        _ = exitStatus(of: process, within: 120)
        self.process = nil
    }

    func signal(_ number: Int32) {
        if let process { kill(process.processIdentifier, number) }
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// One request, answered as it came.
    func request(_ method: String, _ path: String, body: [UInt8]? = nil, contentType: String? = nil) async throws
        -> PathwayClient.Response
    {
        try await client.request(method, path, body: body, contentType: contentType)
    }

    // MARK: Requests

    @discardableResult
    func post(_ event: JSONValue) async throws -> PathwayClient.Response {
        try await request("POST", "/v1/events", body: encode(event), contentType: "application/json")
    }

    @discardableResult
    func postNDJSON(_ events: [JSONValue]) async throws -> PathwayClient.Response {
        let body = try events.map { String(decoding: try encode($0), as: UTF8.self) }.joined(separator: "\n")
        return try await request("POST", "/v1/events", body: Array(body.utf8), contentType: "application/x-ndjson")
    }

    func get(_ path: String) async throws -> PathwayClient.Response {
        try await request("GET", path)
    }

    func getJSON<T: Decodable>(_ type: T.Type, _ path: String) async throws -> T {
        try await client.call(type, "GET", path)
    }

    /// Runs SQL with the sqlite3 command-line tool and returns its output lines.
    func sql(_ statement: String) throws -> [String] {
        try run("/usr/bin/sqlite3", [database, statement]).output.split(separator: "\n").map(String.init)
    }

    /// The bytes of the database file and its WAL: what must not change when a request is refused.
    func databaseBytes() throws -> [Data] {
        try [database, database + "-wal"].map { path in
            FileManager.default.fileExists(atPath: path) ? try Data(contentsOf: URL(fileURLWithPath: path)) : Data()
        }
    }
}

func json(_ response: PathwayClient.Response) throws -> JSONValue {
    try JSONDecoder().decode(JSONValue.self, from: Data(response.body))
}
