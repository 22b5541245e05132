import Crypto
import Foundation
import PathwayAPI

/// Who made a request: the peer's kernel credentials and the roles the configuration gives them.
public struct Caller: Sendable, Hashable {
    public var uid: UInt32
    public var gid: UInt32
    public var pid: Int32
    public var user: String
    public var roles: Set<Role>

    public init(uid: UInt32, gid: UInt32, pid: Int32, user: String, roles: Set<Role>) {
        self.uid = uid
        self.gid = gid
        self.pid = pid
        self.user = user
        self.roles = roles
    }

    /// The roles as the audit record stores them: sorted, comma-separated.
    public var rolesText: String { roles.sorted().map(\.rawValue).joined(separator: ",") }

    /// The daemon itself (start-up rules load, SIGHUP reload).
    public static func daemon(uid: UInt32, user: String) -> Caller {
        Caller(uid: uid, gid: 0, pid: 0, user: user, roles: [.daemon])
    }
}

/// One record of the audit chain as stored. `input` and `output` are canonical JSON text (sorted
/// keys), hashed byte for byte.
public struct AuditRecord: Sendable, Hashable {
    public var seq: Int64
    public var decisionId: String
    /// Milliseconds since the Unix epoch.
    public var at: Int64
    public var actorUid: Int64
    public var actorUser: String
    /// Sorted, comma-separated.
    public var actorRoles: String
    public var action: String
    public var patientId: String?
    public var revision: String?
    public var input: String
    public var output: String
    public var prevHash: String
    public var hash: String

    /// The hash of the record before the first one.
    public static let genesisHash = String(repeating: "0", count: 64)

    /// The bytes the hash covers: a version tag, then every field except `hash` in a fixed order,
    /// each as `<byte length>:<bytes>\n`. Absent patient or revision are empty. See docs/audit.md.
    public static func canonicalBytes(
        seq: Int64, decisionId: String, at: Int64, actorUid: Int64, actorUser: String, actorRoles: String,
        action: String, patientId: String?, revision: String?, input: String, output: String, prevHash: String
    ) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(input.utf8.count + output.utf8.count + 256)
        bytes.append(contentsOf: "pathwayd-audit-v1\n".utf8)
        for field in [
            String(seq), decisionId, String(at), String(actorUid), actorUser, actorRoles, action, patientId ?? "",
            revision ?? "",
        ] {
            append(field, to: &bytes)
        }
        append(input, to: &bytes)
        append(output, to: &bytes)
        append(prevHash, to: &bytes)
        return bytes
    }

    private static func append(_ field: String, to bytes: inout [UInt8]) {
        bytes.append(contentsOf: String(field.utf8.count).utf8)
        bytes.append(UInt8(ascii: ":"))
        bytes.append(contentsOf: field.utf8)
        bytes.append(UInt8(ascii: "\n"))
    }

    public static func hash(_ bytes: [UInt8]) -> String {
        hex(SHA256.hash(data: bytes))
    }

    /// The hash this record should have, computed from its content.
    public var computedHash: String {
        Self.hash(
            Self.canonicalBytes(
                seq: seq, decisionId: decisionId, at: at, actorUid: actorUid, actorUser: actorUser,
                actorRoles: actorRoles, action: action, patientId: patientId, revision: revision, input: input,
                output: output, prevHash: prevHash))
    }
}

func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(64)
    for byte in digest {
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 0x0F)])
    }
    return String(decoding: out, as: UTF8.self)
}

/// JSON with sorted keys and unescaped slashes: the same value always gives the same bytes.
public enum CanonicalJSON {
    public static func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
