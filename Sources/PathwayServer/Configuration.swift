import Foundation
import PathwayAPI
import PathwayCore
import Yams

/// The daemon's configuration (contract §12), read from YAML. Unknown keys are refused so that a
/// misspelt setting is an error at start, not a silent default.
public struct DaemonConfiguration: Codable, Sendable, Equatable {
    public struct Socket: Codable, Sendable, Equatable {
        public var path: String
        /// Octal, as a string: "0660".
        public var mode: String? = "0660"
        public var group: String?
    }

    public struct Database: Codable, Sendable, Equatable {
        public var path: String
        /// `full` (default) or `normal`.
        public var synchronous: String? = "full"
    }

    public struct Rules: Codable, Sendable, Equatable {
        public var directory: String
        /// Pack parameters applied to every evaluation (e.g. `region: eu`).
        public var parameters: [String: String]? = nil
        /// Generated patients the safety invariants are checked on at start and at every reload.
        public var safetyPatients: Int? = 10_000
    }

    public struct Grant: Codable, Sendable, Equatable {
        /// User names or numeric uids; `@self` is the user the daemon runs as.
        public var users: [String]? = nil
        /// Group names or numeric gids.
        public var groups: [String]? = nil
    }

    public struct Limits: Codable, Sendable, Equatable {
        public var maxBodyBytes: Int? = 1_048_576
        public var maxConnections: Int? = 256
        public var idleTimeoutSeconds: Int? = 60
        /// How far ahead of the receiving clock an event may be dated (clock skew); later is refused.
        public var maxFutureSeconds: Int? = 86_400
        /// Refusals (403) of one peer uid written to the audit trail per minute; the rest are
        /// counted and summarised in one record.
        public var refusalsPerMinute: Int? = 60
        /// Lines an NDJSON body may hold (413 beyond).
        public var maxBatchLines: Int? = 1_000
        /// Connections one peer uid may hold (below maxConnections, so others keep room).
        public var maxConnectionsPerUid: Int? = 64
        /// A request's bytes must all arrive within this many seconds of its first byte.
        public var requestTimeoutSeconds: Int? = 30
    }

    public struct Audit: Codable, Sendable, Equatable {
        /// How often the chain head is written to the operational log.
        public var checkpointIntervalSeconds: Int? = 300
    }

    /// CDS Hooks clients calling through the gateway (Config/nginx): who they are and how their
    /// JWTs are checked.
    public struct CDSHooks: Codable, Sendable, Equatable {
        public struct Client: Codable, Sendable, Equatable {
            /// The `iss` of the client's tokens; it is the audited actor of the calls it makes.
            public var issuer: String
            /// A JWKS file with the client's public keys (each with `kid` and `alg`).
            public var jwks: String
        }

        /// The address CDS clients call, as they see it through the gateway
        /// (`https://pathway.example-hospital.org`). A token's `aud` names the endpoint called under
        /// it (`…/cds-services/{id}`) or the services' base (`…/cds-services`).
        public var baseURL: String? = nil
        public var clients: [Client]? = []
        /// How far ahead a token's `exp` may lie (CDS Hooks clients use short-lived tokens).
        public var maxTokenLifetimeSeconds: Int? = 300
        /// Allowed difference between the client's clock and this one.
        public var clockSkewSeconds: Int? = 60
        /// Token ids remembered against replay; beyond this many live tokens a call is refused.
        public var maxLiveTokens: Int? = 100_000
    }

    public var socket: Socket
    public var database: Database
    public var rules: Rules
    public var roles: [String: Grant]
    public var limits: Limits? = Limits()
    public var audit: Audit? = Audit()
    public var cdsHooks: CDSHooks? = nil

    public static let knownRoles = Set(Role.grantable.map(\.rawValue))

    /// The development defaults, identical to Config/development.yaml.
    public static let developmentYAML = """
        # Development defaults: what `pathwayd` uses when started without --config (embedded in the binary;
        # tests check that this file and the embedded copy are the same). Paths are relative to the
        # directory the daemon is started in.
        socket:   { path: .run/pathwayd.sock, mode: "0660" }
        database: { path: .run/pathwayd.sqlite, synchronous: full }
        # 2,000 generated patients for the safety check at start and reload keep a debug start near 10 s;
        # production checks 10,000 (Config/production.yaml), and so does `pathwayctl rules check`.
        rules:    { directory: Rules, safetyPatients: 2000 }
        roles:
          # "@self" is the user the daemon runs as: in development, whoever started it holds every role.
          ehr:       { users: ["@self"] }
          clinician: { users: ["@self"] }
          auditor:   { users: ["@self"] }
          admin:     { users: ["@self"] }
        limits:   { maxBodyBytes: 1048576, maxConnections: 256, idleTimeoutSeconds: 60 }
        audit:    { checkpointIntervalSeconds: 300 }

        """

    public static func parse(_ yaml: String, file: String) throws -> DaemonConfiguration {
        let configuration: DaemonConfiguration
        do {
            try KeyCheck.check(try YAMLDecoder().decode(KeyCheck.self, from: yaml), against: allowedKeys, path: "")
            configuration = try YAMLDecoder().decode(DaemonConfiguration.self, from: yaml)
        } catch let error as ConfigurationError {
            throw ConfigurationError("\(file): \(error.description)")
        } catch {
            throw ConfigurationError("\(file): \(describe(error))")
        }
        try configuration.validate(file: file)
        return configuration
    }

    public static func load(_ path: String) throws -> DaemonConfiguration {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ConfigurationError("cannot read configuration file \(path)")
        }
        return try parse(text, file: path)
    }

    var socketMode: mode_t { mode_t(socket.mode ?? "0660", radix: 8) ?? 0o660 }
    var maxBodyBytes: Int { limits?.maxBodyBytes ?? 1_048_576 }
    var maxConnections: Int { limits?.maxConnections ?? 256 }
    var idleTimeoutSeconds: Int { limits?.idleTimeoutSeconds ?? 60 }
    var maxFutureSeconds: Int { limits?.maxFutureSeconds ?? 86_400 }
    var refusalsPerMinute: Int { limits?.refusalsPerMinute ?? 60 }
    var maxBatchLines: Int { limits?.maxBatchLines ?? 1_000 }
    var maxConnectionsPerUid: Int { limits?.maxConnectionsPerUid ?? min(64, maxConnections / 4) }
    var requestTimeoutSeconds: Int { limits?.requestTimeoutSeconds ?? 30 }
    var checkpointIntervalSeconds: Int { audit?.checkpointIntervalSeconds ?? 300 }
    var safetyPatients: Int { rules.safetyPatients ?? SafetyCheck.defaultPatients }

    func validate(file: String) throws {
        for role in roles.keys where !Self.knownRoles.contains(role) {
            throw ConfigurationError(
                "\(file): roles.\(role): unknown role (known: \(Self.knownRoles.sorted().joined(separator: ", ")))")
        }
        if let mode = socket.mode, mode_t(mode, radix: 8).map({ $0 <= 0o777 }) != true {
            throw ConfigurationError("\(file): socket.mode: expected an octal mode such as \"0660\", got \(mode)")
        }
        if let value = database.synchronous, !["full", "normal"].contains(value) {
            throw ConfigurationError("\(file): database.synchronous: expected full or normal, got \(value)")
        }
        if socket.path.utf8.count > 107 {
            throw ConfigurationError("\(file): socket.path: longer than the 107 bytes a Unix socket path may have")
        }
        for (name, value) in [
            ("maxBodyBytes", maxBodyBytes), ("maxConnections", maxConnections),
            ("idleTimeoutSeconds", idleTimeoutSeconds), ("maxFutureSeconds", maxFutureSeconds),
            ("refusalsPerMinute", refusalsPerMinute), ("maxBatchLines", maxBatchLines),
            ("maxConnectionsPerUid", maxConnectionsPerUid), ("requestTimeoutSeconds", requestTimeoutSeconds),
        ]
        where value <= 0 {
            throw ConfigurationError("\(file): limits.\(name): must be positive")
        }
        if maxConnectionsPerUid >= maxConnections {
            throw ConfigurationError(
                "\(file): limits.maxConnectionsPerUid: must be below limits.maxConnections (\(maxConnections)), so that other peers keep room"
            )
        }
        try validateCDSHooks(file: file)
        if safetyPatients < 1 || safetyPatients > 1_000_000 {
            throw ConfigurationError("\(file): rules.safetyPatients: must be 1–1000000 (production: at least 10000)")
        }
    }

    private func validateCDSHooks(file: String) throws {
        guard let cds = cdsHooks else { return }
        let clients = cds.clients ?? []
        if let base = cds.baseURL {
            guard let url = URL(string: base), url.scheme == "https", url.host != nil, url.query == nil else {
                throw ConfigurationError(
                    "\(file): cdsHooks.baseURL: expected the https address clients call, such as https://pathway.example.org, got \(base)"
                )
            }
        } else if !clients.isEmpty {
            throw ConfigurationError(
                "\(file): cdsHooks.baseURL: required with clients (a token's aud is checked against it)")
        }
        var issuers: Set<String> = []
        for (index, client) in clients.enumerated() {
            guard !client.issuer.isEmpty, issuers.insert(client.issuer).inserted else {
                throw ConfigurationError(
                    "\(file): cdsHooks.clients[\(index)].issuer: empty or named twice (\(client.issuer))")
            }
        }
        for (name, value) in [
            ("maxTokenLifetimeSeconds", cds.maxTokenLifetimeSeconds), ("clockSkewSeconds", cds.clockSkewSeconds),
            ("maxLiveTokens", cds.maxLiveTokens),
        ] where (value ?? 1) <= 0 {
            throw ConfigurationError("\(file): cdsHooks.\(name): must be positive")
        }
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let context):
            return (context.codingPath + [key]).map(\.stringValue).joined(separator: ".") + ": required"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context),
            DecodingError.dataCorrupted(let context):
            return context.codingPath.map(\.stringValue).joined(separator: ".") + ": " + context.debugDescription
        default:
            return "\(error)"
        }
    }
}

/// The keys each mapping of the configuration may have; `*` stands for any key (role names,
/// parameters) whose value is checked one level further down.
private let allowedKeys: [String: Set<String>] = [
    "": ["socket", "database", "rules", "roles", "limits", "audit", "cdsHooks"],
    "socket": ["path", "mode", "group"],
    "database": ["path", "synchronous"],
    "rules": ["directory", "parameters", "safetyPatients"],
    "rules.parameters": ["*"],
    "roles": ["*"],
    "roles.*": ["users", "groups"],
    "limits": [
        "maxBodyBytes", "maxConnections", "idleTimeoutSeconds", "maxFutureSeconds", "refusalsPerMinute",
        "maxBatchLines",
        "maxConnectionsPerUid", "requestTimeoutSeconds",
    ],
    "audit": ["checkpointIntervalSeconds"],
    "cdsHooks": ["baseURL", "clients", "maxTokenLifetimeSeconds", "clockSkewSeconds", "maxLiveTokens"],
    "cdsHooks.clients[]": ["issuer", "jwks"],
]

/// A YAML document reduced to its mapping keys, to refuse keys the configuration does not know.
/// The items of a sequence are checked under `path[]`.
private enum KeyCheck: Decodable {
    case mapping([String: KeyCheck])
    case sequence([KeyCheck])
    case other

    init(from decoder: any Decoder) throws {
        if let mapping = try? decoder.container(keyedBy: AnyKey.self) {
            var members: [String: KeyCheck] = [:]
            for key in mapping.allKeys { members[key.stringValue] = try mapping.decode(KeyCheck.self, forKey: key) }
            self = .mapping(members)
        } else if var sequence = try? decoder.unkeyedContainer() {
            var items: [KeyCheck] = []
            while !sequence.isAtEnd { items.append(try sequence.decode(KeyCheck.self)) }
            self = .sequence(items)
        } else {
            self = .other
        }
    }

    static func check(_ node: KeyCheck, against allowed: [String: Set<String>], path: String) throws {
        if case .sequence(let items) = node {
            for item in items { try check(item, against: allowed, path: path + "[]") }
            return
        }
        guard case .mapping(let members) = node, let keys = allowed[path] else { return }
        for (key, value) in members {
            let child = path.isEmpty ? key : path + "." + key
            if keys.contains("*") {
                try check(value, against: allowed, path: path + ".*")
            } else if keys.contains(key) {
                try check(value, against: allowed, path: child)
            } else {
                throw ConfigurationError(
                    "\(child): unknown setting (known here: \(keys.sorted().joined(separator: ", ")))")
            }
        }
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}

public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
