import Foundation
import JWTKit

/// A CDS Hooks client as the tests play it: an ES384 key pair, the JWKS file the daemon is
/// configured with, and tokens signed with the key — well-formed, or broken one claim at a time.
public struct CDSTestClient: Sendable {
    public let issuer: String
    public let kid: String
    private let keys: JWTKeyCollection
    /// The public key as a JWKS document (what `cdsHooks.clients[].jwks` points to).
    public let jwks: String
    /// The private key (PEM), for a client outside this process (schemathesis's hook).
    public let privateKeyPEM: String

    public init(issuer: String, kid: String = "k1") async {
        self.issuer = issuer
        self.kid = kid
        let key = ES384PrivateKey()
        keys = JWTKeyCollection()
        await keys.add(ecdsa: key, kid: JWKIdentifier(string: kid))
        privateKeyPEM = key.pemRepresentation
        let (x, y) = key.parameters!
        jwks =
            #"{"keys":[{"kty":"EC","crv":"P-384","use":"sig","alg":"ES384","kid":"\#(kid)","x":"\#(x)","y":"\#(y)"}]}"#
    }

    /// The claims of a token; `nil` leaves a claim out.
    public struct Claims: JWTPayload {
        public var iss: String?
        public var aud: [String]?
        public var exp: Int?
        public var iat: Int?
        public var jti: String?
        public func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    /// Claims valid for `audience` now: a fresh `jti`, `exp` two minutes ahead.
    public func claims(audience: String, now: Date = Date()) -> Claims {
        let seconds = Int(now.timeIntervalSince1970)
        return Claims(
            iss: issuer, aud: [audience], exp: seconds + 120, iat: seconds, jti: UUID().uuidString.lowercased())
    }

    /// Signs `claims` with this client's key, naming `kid` (the client's own unless said otherwise).
    public func sign(_ claims: Claims, kid: String? = nil) async throws -> String {
        var header = JWTHeader()
        header.typ = "JWT"
        header.alg = "ES384"
        header.kid = kid ?? self.kid
        return try await keys.sign(claims, header: header)
    }

    /// A token with any header, unsigned or with a made-up signature (alg `none`, `HS256`…).
    public static func forged(header: String, claims: Claims, signature: String = "") throws -> String {
        let payload = try JSONEncoder().encode(claims)
        return base64URL(Data(header.utf8)) + "." + base64URL(payload) + "." + signature
    }

    private static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
