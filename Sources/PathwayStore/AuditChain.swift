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

/// The two record formats of the chain. v1 records (written before the upgrade) hold the whole
/// history of a patient in `input` and the output as text; v2 records reference earlier events by
/// count and digest, store the output zstd-compressed (against the dictionary of the rules
/// revision, for evaluations), and name the daemon version. Both verify; a database holds v1
/// records, then v2 records chained onto them.
public enum AuditFormat: String, Sendable, Hashable {
    case v1 = "pathwayd-audit-v1"
    case v2 = "pathwayd-audit-v2"
}

/// One record of the audit chain as stored. `input` is canonical JSON text (sorted keys);
/// `output` is canonical JSON text for v1 and zstd-compressed canonical JSON for v2. The hash
/// covers the stored bytes and the name of the dictionary they were compressed against.
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
    public var format: AuditFormat
    /// The pathwayd version that wrote the record (v2; nil for v1).
    public var version: String?
    public var input: String
    /// The output as stored: UTF-8 canonical JSON (v1) or its zstd compression (v2).
    public var storedOutput: [UInt8]
    /// The dictionary a v2 output was compressed against (`AuditDictionary.id`), if any.
    public var outputDictionary: String?
    public var prevHash: String
    public var hash: String
    /// That dictionary, as the store found it when it read the record.
    public var dictionary: AuditDictionary?

    /// The output as canonical JSON text.
    public var output: String {
        get throws(AuditFormatError) {
            switch format {
            case .v1: return String(decoding: storedOutput, as: UTF8.self)
            case .v2:
                if let outputDictionary, dictionary?.id != outputDictionary {
                    throw AuditFormatError(
                        description: "the dictionary \(outputDictionary) of record \(seq) is not in the database")
                }
                return try AuditCompression.decompress(storedOutput, dictionary: dictionary)
            }
        }
    }

    /// The hash of the record before the first one.
    public static let genesisHash = String(repeating: "0", count: 64)

    /// The bytes the hash covers: the format tag, then every field except `hash` in a fixed order,
    /// each as `<byte length>:<bytes>\n`. Absent patient or revision are empty; v2 adds the
    /// version and the output's dictionary (empty if none) after the revision, and its output is
    /// the compressed bytes. See docs/audit.md.
    public static func canonicalBytes(
        format: AuditFormat, seq: Int64, decisionId: String, at: Int64, actorUid: Int64, actorUser: String,
        actorRoles: String, action: String, patientId: String?, revision: String?, version: String?,
        outputDictionary: String?, input: String, output: some Collection<UInt8>, prevHash: String
    ) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(input.utf8.count + output.count + 256)
        bytes.append(contentsOf: format.rawValue.utf8)
        bytes.append(UInt8(ascii: "\n"))
        for field in [
            String(seq), decisionId, String(at), String(actorUid), actorUser, actorRoles, action, patientId ?? "",
            revision ?? "",
        ] {
            append(field.utf8, to: &bytes)
        }
        if format == .v2 {
            append((version ?? "").utf8, to: &bytes)
            append((outputDictionary ?? "").utf8, to: &bytes)
        }
        append(input.utf8, to: &bytes)
        append(output, to: &bytes)
        append(prevHash.utf8, to: &bytes)
        return bytes
    }

    private static func append(_ field: some Collection<UInt8>, to bytes: inout [UInt8]) {
        bytes.append(contentsOf: String(field.count).utf8)
        bytes.append(UInt8(ascii: ":"))
        bytes.append(contentsOf: field)
        bytes.append(UInt8(ascii: "\n"))
    }

    public static func hash(_ bytes: [UInt8]) -> String {
        hex(SHA256.hash(data: bytes))
    }

    /// The hash this record should have, computed from its stored content.
    public var computedHash: String {
        Self.hash(
            Self.canonicalBytes(
                format: format, seq: seq, decisionId: decisionId, at: at, actorUid: actorUid, actorUser: actorUser,
                actorRoles: actorRoles, action: action, patientId: patientId, revision: revision, version: version,
                outputDictionary: outputDictionary, input: input, output: storedOutput, prevHash: prevHash))
    }
}

/// A stored record that cannot be read as its format says.
public struct AuditFormatError: Error, Sendable, CustomStringConvertible {
    public var description: String
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

/// JSON with sorted keys and unescaped slashes: the same value always gives the same bytes. The
/// evaluation document is written directly (`CanonicalJSONWriter`, the same bytes, several times
/// faster); everything else through `JSONEncoder`.
public enum CanonicalJSON {
    public static func encode<T: Encodable>(_ value: T) throws -> String {
        if let writable = value as? any CanonicalJSONWritable {
            var writer = CanonicalJSONWriter()
            writable.write(to: &writer)
            if !writer.invalid { return writer.text }
        }
        return try encodeWithJSONEncoder(value)
    }

    /// The reference: what `CanonicalJSONWriter` must match byte for byte.
    public static func encodeWithJSONEncoder<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
