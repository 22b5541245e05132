import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import PathwayAPI
import PathwayServer
import PathwayStore
import PathwayTestSupport

/// Callers of the test's choosing, in place of the kernel's peer credentials: the `x-test-roles`
/// header lists roles, `x-test-uid` the uid. Only this test target has it; the daemon identifies
/// callers by `SO_PEERCRED` alone.
struct TestCallers: CallerIdentifying {
    static let roles = HTTPField.Name("x-test-roles")!
    static let uid = HTTPField.Name("x-test-uid")!

    func caller(of request: Request, context: PathwayContext) async throws -> Caller {
        let roles = (request.headers[Self.roles] ?? "").split(separator: ",").compactMap { Role(rawValue: String($0)) }
        let uid = request.headers[Self.uid].flatMap { UInt32($0) } ?? 4242
        return Caller(uid: uid, gid: uid, pid: 1, user: "test-\(uid)", roles: Set(roles))
    }
}

/// An answer as the tests read it.
struct Answer: Sendable {
    var status: Int
    var body: [UInt8]
    var headers: HTTPFields
    var text: String { String(decoding: body, as: UTF8.self) }
    func json() throws -> JSONValue { try JSONDecoder().decode(JSONValue.self, from: Data(body)) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try JSONDecoder().decode(type, from: Data(body)) }
}

/// The pathwayd application in-process: the real service (rules checked, a real SQLite file in a
/// fresh directory, the start-up record), the real router and middleware, requests through
/// Hummingbird's router test client. No socket, no process.
final class InProcessDaemon: Sendable {
    let directory: URL
    let configuration: DaemonConfiguration
    var database: String { configuration.database.path }

    /// - Parameter database: a gzipped database to start from (a fixture), instead of an empty one.
    /// - Parameter extra: more configuration, appended (e.g. a `cdsHooks:` block).
    init(
        limits: String = "", safetyPatients: Int = 300, copyRules: Bool = false, database: URL? = nil,
        extra: String = ""
    ) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("pwip-" + UUID().uuidString)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if let database {
            let unpacked = try PathwayTestSupport.run(
                "/bin/sh", ["-c", "gzip -dc \"$0\" > \"$1\"", database.path, directory.path + "/d.sqlite"])
            guard unpacked.status == 0 else { throw HarnessError("gzip: \(unpacked.errors)") }
        }
        var rules = repositoryRoot.appendingPathComponent("Rules")
        if copyRules {
            let copy = directory.appendingPathComponent("rules")
            try FileManager.default.copyItem(at: rules, to: copy)
            rules = copy
        }
        configuration = try DaemonConfiguration.parse(
            """
            socket:   { path: \(directory.path)/d.sock }
            database: { path: \(directory.path)/d.sqlite, synchronous: full }
            rules:    { directory: \(rules.path), safetyPatients: \(safetyPatients) }
            roles:
              ehr:       { users: ["@self"] }
            limits:   { maxBodyBytes: 65536\(limits.isEmpty ? "" : ", " + limits) }
            \(extra)
            """, file: "test")
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    /// Opens the service, serves `body`'s requests through the router, closes the service.
    func run<T: Sendable>(_ body: @Sendable (Client) async throws -> T) async throws -> T {
        var logger = Logger(label: "pathwayd-test")
        logger.logLevel = .warning
        let service = try await PathwayService.open(configuration: configuration, logger: logger)
        let app = buildApplication(service: service, callers: TestCallers())
        do {
            let value = try await app.test(.router) { client in try await body(Client(client: client, daemon: self)) }
            try await service.close()
            return value
        } catch {
            try? await service.close()
            throw error
        }
    }

    /// Runs SQL with the sqlite3 command-line tool and returns its output lines.
    func sql(_ statement: String) throws -> [String] {
        try PathwayTestSupport.run("/usr/bin/sqlite3", [database, statement]).output.split(separator: "\n")
            .map(String.init)
    }

    /// The bytes of the database file and its WAL: what must not change when a request is refused.
    func databaseBytes() throws -> [Data] {
        try [database, database + "-wal"].map { path in
            FileManager.default.fileExists(atPath: path) ? try Data(contentsOf: URL(fileURLWithPath: path)) : Data()
        }
    }

    struct Client: Sendable {
        /// Every role a local caller may hold: the gateway's calls are identified by their token.
        static let everyRole = Role.grantable.filter { $0 != .gateway }
        let client: any TestClientProtocol
        let daemon: InProcessDaemon

        /// A request as a caller holding `roles` (every role unless said otherwise).
        func request(
            _ method: HTTPRequest.Method, _ path: String, body: [UInt8]? = nil, contentType: String? = nil,
            as roles: [Role] = Client.everyRole, uid: UInt32 = 4242, headers extra: HTTPFields = [:]
        ) async throws -> Answer {
            var headers: HTTPFields = [
                TestCallers.roles: roles.map(\.rawValue).joined(separator: ","),
                TestCallers.uid: String(uid),
            ]
            headers.append(contentsOf: extra)
            if let contentType { headers[.contentType] = contentType }
            let response = try await client.execute(
                uri: path, method: method, headers: headers, body: body.map { ByteBuffer(bytes: $0) })
            return Answer(
                status: Int(response.status.code), body: Array(buffer: response.body), headers: response.headers)
        }

        @discardableResult
        func post(_ event: JSONValue, as roles: [Role] = [.ehr]) async throws -> Answer {
            try await request(.post, "/v1/events", body: encode(event), contentType: "application/json", as: roles)
        }

        @discardableResult
        func postNDJSON(_ events: [JSONValue]) async throws -> Answer {
            let body = try events.map { String(decoding: try encode($0), as: UTF8.self) }.joined(separator: "\n")
            return try await request(.post, "/v1/events", body: Array(body.utf8), contentType: "application/x-ndjson")
        }

        func get(_ path: String, as roles: [Role] = Client.everyRole) async throws -> Answer {
            try await request(.get, path, as: roles)
        }

        func getJSON<T: Decodable>(_ type: T.Type, _ path: String) async throws -> T {
            let answer = try await get(path)
            guard answer.status == 200 else { throw HarnessError("GET \(path): \(answer.status) \(answer.text)") }
            return try answer.decode(type)
        }

        func sql(_ statement: String) throws -> [String] { try daemon.sql(statement) }
        func databaseBytes() throws -> [Data] { try daemon.databaseBytes() }
    }
}
