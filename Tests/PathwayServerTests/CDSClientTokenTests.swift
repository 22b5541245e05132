import Foundation
import HTTPTypes
import PathwayAPI
import PathwayTestSupport
import Testing

@testable import PathwayServer

/// The gateway's callers: a CDS Hooks call forwarded by the TLS proxy (role `gateway`) is served
/// as the client its JWT names, and refused with an audited 401 whenever the token is missing or
/// wrong in any one respect. The same through a real nginx: GatewayTests (PathwayDaemonTests).
@Suite("CDS client tokens through the gateway, in-process")
struct CDSClientTokenTests {
    static let base = "https://pathway.example.org"
    static let issuer = "https://ehr.example.org/cds-client"

    /// A daemon with one configured client whose JWKS file is `client`'s public key.
    static func harness(_ client: CDSTestClient, limits: String = "refusalsPerMinute: 1000") throws -> InProcessDaemon {
        let jwks = FileManager.default.temporaryDirectory.appendingPathComponent("jwks-\(UUID().uuidString).json")
        try client.jwks.write(to: jwks, atomically: true, encoding: .utf8)
        return try InProcessDaemon(
            limits: limits,
            extra: """
                cdsHooks:
                  baseURL: \(base)/
                  clients:
                    - { issuer: "\(client.issuer)", jwks: \(jwks.path) }
                """)
    }

    static func bearer(_ token: String) -> HTTPFields { [.authorization: "Bearer " + token] }

    @Test("a valid token: the call is served as its issuer, with the clinician role, and audited under that name")
    func accepted() async throws {
        let client = await CDSTestClient(issuer: Self.issuer)
        let harness = try Self.harness(client)
        try await harness.run { daemon in
            let discovery = try await daemon.request(
                .get, "/cds-services", as: [.gateway],
                headers: Self.bearer(try await client.sign(client.claims(audience: Self.base + "/cds-services"))))
            #expect(discovery.status == 200, "\(discovery.text)")
            let path = "/cds-services/pathwayd-patient-view"
            let call = try await daemon.request(
                .post, path, body: try encode(CDSHooksRouteTests.call(prefetch: try CDSHooksRouteTests.prefetch())),
                contentType: "application/json", as: [.gateway],
                headers: Self.bearer(try await client.sign(client.claims(audience: Self.base + path))))
            #expect(call.status == 200, "\(call.text)")
            #expect(try call.json().at("cards.0.uuid")?.string != nil)
        }
        #expect(
            try harness.sql("SELECT actor_user, actor_roles FROM audit WHERE action = 'view'") == [
                "\(Self.issuer)|clinician"
            ])
        #expect(try harness.sql("SELECT count(*) FROM audit WHERE action = 'denied'") == ["0"])
    }

    @Test(
        "every way a token can be wrong is 401 unauthorized with WWW-Authenticate, named, audited, and serves nothing")
    func refused() async throws {
        let client = await CDSTestClient(issuer: Self.issuer)
        let stranger = await CDSTestClient(issuer: Self.issuer)  // same issuer and kid, another key
        let other = await CDSTestClient(issuer: "https://other.example.org")
        let verbose = await CDSTestClient(issuer: String(repeating: "x", count: 10_000))
        let audience = Self.base + "/cds-services"
        let harness = try Self.harness(client)
        let refusals = try await harness.run { daemon in
            // Signed once the daemon is up: a slow start on a busy machine must not expire them.
            let now = Int(Date().timeIntervalSince1970)
            func claims(_ change: (inout CDSTestClient.Claims) -> Void) -> CDSTestClient.Claims {
                var claims = client.claims(audience: audience)
                change(&claims)
                return claims
            }
            let replayed = try await client.sign(claims { _ in })
            let cases: [(String, String?, String)] = [
                ("no header", nil, "no bearer token"),
                ("not bearer", "Basic dXNlcjpwYXNz", "no bearer token"),
                ("not a JWT", "Bearer not.a.jwt", "not a signed JWT"),
                (
                    "alg none",
                    "Bearer "
                        + (try CDSTestClient.forged(header: #"{"alg":"none","kid":"k1"}"#, claims: claims { _ in })),
                    "alg none"
                ),
                (
                    "HS256 with the public key as secret",
                    "Bearer "
                        + (try CDSTestClient.forged(
                            header: #"{"alg":"HS256","kid":"k1"}"#, claims: claims { _ in }, signature: "c2lnbmF0dXJl")),
                    "alg HS256"
                ),
                ("another key, same kid", "Bearer " + (try await stranger.sign(claims { _ in })), "does not verify"),
                (
                    "unknown issuer", "Bearer " + (try await other.sign(other.claims(audience: audience))),
                    "not a configured CDS client"
                ),
                (
                    "an issuer of 10,000 characters",
                    "Bearer " + (try await verbose.sign(verbose.claims(audience: audience))),
                    "not a configured CDS client"
                ),
                ("unknown kid", "Bearer " + (try await client.sign(claims { _ in }, kid: "k9")), "kid k9"),
                (
                    "wrong aud",
                    "Bearer " + (try await client.sign(claims { $0.aud = ["https://elsewhere.example.org"] })),
                    "aud"
                ),
                ("expired", "Bearer " + (try await client.sign(claims { $0.exp = now - 3_600 })), "expired"),
                ("exp too far ahead", "Bearer " + (try await client.sign(claims { $0.exp = now + 86_400 })), "ahead"),
                ("iat in the future", "Bearer " + (try await client.sign(claims { $0.iat = now + 3_600 })), "iat"),
                ("no jti", "Bearer " + (try await client.sign(claims { $0.jti = nil })), "not a signed JWT"),
                ("no exp", "Bearer " + (try await client.sign(claims { $0.exp = nil })), "not a signed JWT"),
                ("replayed jti", "Bearer " + replayed, "used before"),
            ]
            let expired = try await client.sign(claims { $0.exp = now - 3_600 })
            // The token that is replayed below is good once.
            let first = try await daemon.request(.get, "/cds-services", as: [.gateway], headers: Self.bearer(replayed))
            #expect(first.status == 200, "\(first.text)")
            for (name, authorization, reason) in cases {
                var headers: HTTPFields = [:]
                if let authorization { headers[.authorization] = authorization }
                let answer = try await daemon.request(.get, "/cds-services", as: [.gateway], headers: headers)
                #expect(answer.status == 401, "\(name): \(answer.text)")
                #expect(try answer.json().at("error.code")?.string == "unauthorized", "\(name)")
                let message = try answer.json().at("error.message")?.string ?? ""
                #expect(message.contains(reason), "\(name): \(message)")
                // What the token claims is named, never more than 80 characters of it.
                #expect(message.utf8.count < 400, "\(name): \(message.utf8.count) bytes")
                #expect(answer.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true, "\(name)")
            }
            // A hook call with a bad token evaluates nothing and records no view.
            let path = "/cds-services/pathwayd-patient-view"
            let call = try await daemon.request(
                .post, path, body: try encode(CDSHooksRouteTests.call(prefetch: try CDSHooksRouteTests.prefetch())),
                contentType: "application/json", as: [.gateway],
                headers: Self.bearer(expired))
            #expect(call.status == 401)
            return cases.count + 1
        }
        #expect(refusals == 17)
        #expect(try harness.sql("SELECT count(*) FROM audit WHERE action = 'view'") == ["0"])
        #expect(try harness.sql("SELECT count(*) FROM audit WHERE action = 'denied'") == [String(refusals)])
        let outputs = try harness.sql("SELECT output FROM audit WHERE action = 'denied'")
        #expect(outputs.allSatisfy { $0.contains(#""code":"unauthorized""#) }, "\(outputs)")
        // The refused caller is the gateway as the kernel named it, not anything the token claims.
        #expect(
            try harness.sql("SELECT DISTINCT actor_user, actor_roles FROM audit WHERE action = 'denied'") == [
                "test-4242|gateway"
            ])
    }

    @Test("the gateway reaches the CDS Hooks routes only: with a valid token, any other route is 403")
    func gatewayOnlyCDS() async throws {
        let client = await CDSTestClient(issuer: Self.issuer)
        let harness = try Self.harness(client)
        try await harness.run { daemon in
            for path in ["/v1/rules", "/v1/openapi.json", "/v1/patients/P-1", "/v1/audit/verify", "/v1/metrics"] {
                let answer = try await daemon.request(
                    .get, path, as: [.gateway],
                    headers: Self.bearer(try await client.sign(client.claims(audience: Self.base + path))))
                #expect(answer.status == 403, "\(path): \(answer.text)")
            }
        }
    }

    @Test("token ids are remembered until they expire, and no more than the capacity of them at once")
    func seenTokens() {
        var seen = SeenTokens(capacity: 2)
        let now = Date()
        #expect(seen.insert("a", until: now + 10, now: now) == .inserted)
        #expect(seen.insert("a", until: now + 10, now: now) == .replayed)
        #expect(seen.insert("b", until: now + 20, now: now) == .inserted)
        #expect(seen.insert("c", until: now + 20, now: now + 5) == .full)
        // Once "a" has expired its place is free again.
        #expect(seen.insert("c", until: now + 30, now: now + 11) == .inserted)
        #expect(seen.insert("b", until: now + 20, now: now + 11) == .replayed)
    }

    @Test("a JWKS that holds a private key, a key without alg, or a missing file stops the start, naming it")
    func badKeySets() async throws {
        let client = await CDSTestClient(issuer: Self.issuer)
        let withPrivate = client.jwks.replacingOccurrences(of: #""kid""#, with: #""d":"c2VjcmV0","kid""#)
        let withoutAlg = client.jwks.replacingOccurrences(of: #""alg":"ES384","#, with: "")
        let symmetric = #"{"keys":[{"kty":"oct","alg":"HS256","kid":"k1","k":"c2VjcmV0"}]}"#
        for (jwks, expected) in [
            (withPrivate, "private key material"), (withoutAlg, "needs alg"), (symmetric, "needs alg"),
            ("{}", "not a JWKS"), (nil, "cannot read"),
        ] as [(String?, String)] {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("jwks-\(UUID().uuidString).json")
            if let jwks { try jwks.write(to: path, atomically: true, encoding: .utf8) }
            let harness = try InProcessDaemon(
                extra: """
                    cdsHooks:
                      baseURL: \(Self.base)
                      clients: [{ issuer: x, jwks: \(path.path) }]
                    """)
            await #expect(throws: ConfigurationError.self, "\(expected)") {
                try await harness.run { _ in }
            }
            do { try await harness.run { _ in } } catch let error as ConfigurationError {
                #expect(error.description.contains(expected), "\(error.description)")
                #expect(error.description.contains(path.path), "\(error.description)")
            }
        }
    }

    @Test("configuration: clients need an https baseURL, distinct issuers, and known keys only")
    func configuration() throws {
        let base = """
            socket: { path: /tmp/x.sock }
            database: { path: /tmp/x.sqlite }
            rules: { directory: Rules }
            roles: { gateway: { users: [www-data] } }

            """
        for (yaml, expected) in [
            ("cdsHooks: { clients: [{ issuer: a, jwks: /x }] }", "cdsHooks.baseURL: required"),
            ("cdsHooks: { baseURL: http://x.example.org, clients: [] }", "cdsHooks.baseURL: expected the https"),
            (
                "cdsHooks: { baseURL: https://x.org, clients: [{ issuer: a, jwks: /x }, { issuer: a, jwks: /y }] }",
                "named twice"
            ),
            (
                "cdsHooks: { baseURL: https://x.org, clients: [{ issuer: a, jwks: /x, secret: s }] }",
                "cdsHooks.clients[].secret"
            ),
            ("cdsHooks: { baseURL: https://x.org, maxTokenLifetimeSeconds: 0 }", "must be positive"),
        ] {
            #expect(throws: ConfigurationError.self) { try DaemonConfiguration.parse(base + yaml, file: "t") }
            do { _ = try DaemonConfiguration.parse(base + yaml, file: "t") } catch {
                #expect("\(error)".contains(expected), "\(error)")
            }
        }
        let good = try DaemonConfiguration.parse(
            base + "cdsHooks: { baseURL: https://x.org, clients: [{ issuer: a, jwks: /x }] }", file: "t")
        #expect(good.cdsHooks?.clients?.first?.issuer == "a")
    }
}
