import Foundation
import JWTKit
import Synchronization

/// The CDS Hooks client JWTs (CDS Hooks 2.0, "Trusting CDS Clients") a call through the gateway
/// must carry. Each configured client is an issuer with its public keys in a JWKS file; a token is
/// accepted when its signature verifies with the key its header names, its `iss`, `aud`, `exp`,
/// `iat` and `jti` hold, and its `jti` was not seen before. Keys come from the files only: a
/// token's `jku` is never fetched.
final class CDSClientTokens: Sendable {
    /// The algorithms a client key may declare: asymmetric only (CDS Hooks requires ES384 and
    /// RS384; a shared secret cannot tell the client from anyone holding the file).
    static let algorithms: Set<String> = [
        "ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA",
    ]
    /// JWK members that hold private key material (RFC 7518 §6): a client JWKS is public keys only.
    private static let privateMembers = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"]
    static let maxTokenBytes = 16_384

    private struct Client: Sendable {
        var keys: JWTKeyCollection
        /// kid → the algorithm the key declares; a token must use exactly that one.
        var algorithms: [String: String]
    }

    private let clients: [String: Client]
    /// `https://host[:port]`, without a trailing slash; nil when no client is configured.
    let baseURL: String?
    private let maxLifetime: Double
    private let skew: Double
    private let seen: Mutex<SeenTokens>

    var isEmpty: Bool { clients.isEmpty }

    /// Reads every client's JWKS file. A file that cannot be read or holds anything but public
    /// keys of the accepted algorithms stops the start, naming the file and the key.
    static func load(_ configuration: DaemonConfiguration) async throws -> CDSClientTokens {
        let settings = configuration.cdsHooks ?? DaemonConfiguration.CDSHooks()
        var clients: [String: Client] = [:]
        for (index, client) in (settings.clients ?? []).enumerated() {
            let field = "cdsHooks.clients[\(index)].jwks"
            guard let data = FileManager.default.contents(atPath: client.jwks) else {
                throw ConfigurationError("\(field): cannot read \(client.jwks)")
            }
            clients[client.issuer] = try await Self.client(jwks: data, field: "\(field) (\(client.jwks))")
        }
        return CDSClientTokens(
            clients: clients, baseURL: settings.baseURL.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 },
            maxLifetime: Double(settings.maxTokenLifetimeSeconds ?? 300),
            skew: Double(settings.clockSkewSeconds ?? 60), capacity: settings.maxLiveTokens ?? 100_000)
    }

    private init(clients: [String: Client], baseURL: String?, maxLifetime: Double, skew: Double, capacity: Int) {
        self.clients = clients
        self.baseURL = baseURL
        self.maxLifetime = maxLifetime
        self.skew = skew
        seen = Mutex(SeenTokens(capacity: capacity))
    }

    private static func client(jwks data: Data, field: String) async throws -> Client {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let members = object["keys"] as? [[String: Any]], !members.isEmpty
        else { throw ConfigurationError("\(field): not a JWKS (a JSON object with a non-empty \"keys\" array)") }
        var algorithms: [String: String] = [:]
        for (index, member) in members.enumerated() {
            guard let kid = member["kid"] as? String, !kid.isEmpty else {
                throw ConfigurationError("\(field): keys[\(index)]: needs a kid (tokens name their key by it)")
            }
            guard let alg = member["alg"] as? String, Self.algorithms.contains(alg) else {
                throw ConfigurationError(
                    "\(field): key \(kid): needs alg, one of \(Self.algorithms.sorted().joined(separator: ", "))")
            }
            if let secret = Self.privateMembers.first(where: { member[$0] != nil }) {
                throw ConfigurationError(
                    "\(field): key \(kid): holds private key material (\(secret)); a client JWKS holds public keys only"
                )
            }
            guard algorithms.updateValue(alg, forKey: kid) == nil else {
                throw ConfigurationError("\(field): key \(kid): the kid is used twice")
            }
        }
        let keys = JWTKeyCollection()
        do { try await keys.add(jwks: try JSONDecoder().decode(JWKS.self, from: data)) } catch {
            throw ConfigurationError("\(field): the keys cannot be used: \(error)")
        }
        return Client(keys: keys, algorithms: algorithms)
    }

    /// Checks the `Authorization` header of a call to `path` and returns the token's issuer.
    /// Throws `Refusal` with the reason, for the 401 and its audit record.
    func verify(authorization: String?, path: String, at now: Date) async throws -> String {
        guard let authorization, authorization.count > 7, authorization.prefix(7).lowercased() == "bearer " else {
            throw Refusal("no bearer token: a CDS Hooks call through the gateway carries its client's JWT")
        }
        let token = authorization.dropFirst(7).trimmingCharacters(in: .whitespaces)
        guard token.utf8.count <= Self.maxTokenBytes else {
            throw Refusal("the token is longer than \(Self.maxTokenBytes) bytes")
        }
        let parsed: (header: JWTHeader, payload: Claims, signature: Data)
        do { parsed = try DefaultJWTParser().parse(Array(token.utf8), as: Claims.self) } catch {
            throw Refusal("the token is not a signed JWT with iss, aud, exp, iat and jti")
        }
        let header = parsed.header
        guard let alg = header.alg, Self.algorithms.contains(alg) else {
            throw Refusal(
                "alg \(Self.shown(header.alg ?? "missing")): accepted are \(Self.algorithms.sorted().joined(separator: ", "))"
            )
        }
        guard header.crit == nil else { throw Refusal("the token names critical header extensions (crit)") }
        let issuer = parsed.payload.iss
        guard let client = clients[issuer] else {
            throw Refusal("iss \(Self.shown(issuer)) is not a configured CDS client")
        }
        guard let kid = header.kid, let keyAlgorithm = client.algorithms[kid] else {
            throw Refusal("kid \(Self.shown(header.kid ?? "missing")) is not a key of \(issuer)")
        }
        guard keyAlgorithm == alg else {
            throw Refusal("key \(kid) of \(issuer) is \(keyAlgorithm), the token says \(alg)")
        }
        let claims: Claims
        do { claims = try await client.keys.verify(token, as: Claims.self) } catch {
            throw Refusal("the signature does not verify with key \(kid) of \(issuer)")
        }
        guard let baseURL else { throw Refusal("cdsHooks.baseURL is not configured") }
        let endpoint = baseURL + path
        guard claims.aud.value.contains(endpoint) || claims.aud.value.contains(baseURL + "/cds-services") else {
            throw Refusal(
                "aud \(Self.shown(claims.aud.value.joined(separator: ", "))) is neither \(endpoint) nor \(baseURL)/cds-services"
            )
        }
        let expires = claims.exp.value
        guard expires.timeIntervalSince(now) > -skew else { throw Refusal("the token expired at \(expires)") }
        guard expires.timeIntervalSince(now) <= maxLifetime + skew else {
            throw Refusal("exp is more than \(Int(maxLifetime)) s ahead (cdsHooks.maxTokenLifetimeSeconds)")
        }
        guard claims.iat.value.timeIntervalSince(now) <= skew else { throw Refusal("iat is in the future") }
        guard (1...256).contains(claims.jti.utf8.count) else { throw Refusal("jti must be 1–256 characters") }
        let fresh = seen.withLock {
            $0.insert(issuer + " " + claims.jti, until: expires.addingTimeInterval(skew), now: now)
        }
        switch fresh {
        case .inserted: return issuer
        case .replayed: throw Refusal("jti \(claims.jti) of \(issuer) was used before (a token is good for one call)")
        case .full: throw Refusal("too many live tokens (cdsHooks.maxLiveTokens); retry shortly")
        }
    }

    /// A value of an unverified token as a refusal names it: at most 80 characters, so that the
    /// audit record of a refusal stays small whatever the token holds.
    private static func shown(_ value: String) -> String {
        value.unicodeScalars.count <= 80
            ? value : String(String.UnicodeScalarView(value.unicodeScalars.prefix(79))) + "…"
    }

    struct Refusal: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// The claims CDS Hooks 2.0 requires of a client JWT. Their values are checked by `verify`
    /// against the configuration and the clock; decoding fails when one is missing.
    private struct Claims: JWTPayload {
        var iss: String
        var aud: AudienceClaim
        var exp: ExpirationClaim
        var iat: IssuedAtClaim
        var jti: String

        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }
}

/// The `jti`s of tokens not yet expired, so that a token serves one call. Bounded: a token lives
/// at most `maxTokenLifetimeSeconds` plus the skew, expired entries are dropped as the set grows,
/// and beyond `capacity` live entries a new token is refused rather than the memory grown.
struct SeenTokens: Sendable {
    enum Outcome { case inserted, replayed, full }

    let capacity: Int
    private var until: [String: Date] = [:]
    private var sweepAt = 1_024
    /// The soonest expiry held: while it is ahead, a full set has nothing to drop, and a sweep
    /// would walk every entry for nothing.
    private var earliest = Date.distantFuture

    init(capacity: Int) { self.capacity = capacity }

    mutating func insert(_ key: String, until expiry: Date, now: Date) -> Outcome {
        if let known = until[key], known > now { return .replayed }
        if until.count >= sweepAt || (until.count >= capacity && earliest <= now) {
            until = until.filter { $0.value > now }
            sweepAt = max(1_024, until.count * 2)
            earliest = until.values.min() ?? .distantFuture
        }
        guard until.count < capacity else { return .full }
        until[key] = expiry
        earliest = min(earliest, expiry)
        return .inserted
    }
}
