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

    /// The record's hash: lowercase hex SHA-256 of the format tag and a newline, then every field
    /// except `hash` in a fixed order, each as `<byte length>:<bytes>\n`. Absent patient or
    /// revision are empty; v2 adds the version and the output's dictionary (empty if none) after
    /// the revision, and its output is the compressed bytes. See docs/audit.md. The fields are
    /// read as they are: Swift strings when a record is written, the database's own bytes when
    /// the chain is verified.
    public static func hash<Text: ChainField>(
        format: AuditFormat, seq: Int64, decisionId: Text, at: Int64, actorUid: Int64, actorUser: Text,
        actorRoles: Text, action: Text, patientId: Text?, revision: Text?, version: Text?,
        outputDictionary: Text?, input: Text, output: some ChainField, prevHash: Text
    ) -> String {
        var hasher = ChainHasher(bytes: [])
        hasher.bytes.reserveCapacity(512 + input.withBytes(\.count) + output.withBytes(\.count))
        hasher.record(
            format: format, seq: seq, decisionId: decisionId, at: at, actorUid: actorUid, actorUser: actorUser,
            actorRoles: actorRoles, action: action, patientId: patientId, revision: revision, version: version,
            outputDictionary: outputDictionary, input: input, output: output, prevHash: prevHash)
        return hex(SHA256.hash(data: hasher.bytes))
    }

    /// The hash this record should have, computed from its stored content.
    public var computedHash: String {
        Self.hash(
            format: format, seq: seq, decisionId: decisionId, at: at, actorUid: actorUid, actorUser: actorUser,
            actorRoles: actorRoles, action: action, patientId: patientId, revision: revision, version: version,
            outputDictionary: outputDictionary, input: input, output: storedOutput, prevHash: prevHash)
    }
}

/// A field of a record as hashed: its bytes.
public protocol ChainField {
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R
}

extension String: ChainField {
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        var text = self
        return text.withUTF8 { body(UnsafeRawBufferPointer($0)) }
    }
}

extension Data: ChainField {
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R { withUnsafeBytes(body) }
}

extension Array: ChainField where Element == UInt8 {
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R { withUnsafeBytes(body) }
}

/// The length-prefixed fields of a record, gathered and then hashed at once (one SHA-256 update
/// per record: each update costs more than copying a record's few kilobytes). `verify` gathers
/// many records into one buffer and hashes them on every core.
struct ChainHasher {
    var bytes: [UInt8]

    /// Appends the message a record's hash is taken over (see `AuditRecord.hash`).
    mutating func record<Text: ChainField>(
        format: AuditFormat, seq: Int64, decisionId: Text, at: Int64, actorUid: Int64, actorUser: Text,
        actorRoles: Text, action: Text, patientId: Text?, revision: Text?, version: Text?,
        outputDictionary: Text?, input: Text, output: some ChainField, prevHash: Text
    ) {
        bytes.append(contentsOf: format.rawValue.utf8)
        bytes.append(UInt8(ascii: "\n"))
        field(seq)
        field(decisionId)
        field(at)
        field(actorUid)
        for text in [actorUser, actorRoles, action] { field(text) }
        field(patientId)
        field(revision)
        if format == .v2 {
            field(version)
            field(outputDictionary)
        }
        field(input)
        field(output)
        field(prevHash)
    }

    mutating func field(_ value: some ChainField) {
        value.withBytes { field in
            decimal(field.count)
            bytes.append(UInt8(ascii: ":"))
            bytes.append(contentsOf: field)
        }
        bytes.append(UInt8(ascii: "\n"))
    }

    mutating func field<Text: ChainField>(_ value: Text?) {
        if let value { field(value) } else { field("") }
    }

    mutating func field(_ value: Int64) { field(String(value)) }

    /// A length in decimal digits, without making a string of it.
    private mutating func decimal(_ value: Int) {
        guard value >= 10 else {
            bytes.append(UInt8(ascii: "0") + UInt8(value))
            return
        }
        decimal(value / 10)
        bytes.append(UInt8(ascii: "0") + UInt8(value % 10))
    }
}

/// Whether `stored` is the lowercase hex of `digest`, compared byte by byte.
func hexMatches(_ digest: SHA256.Digest, _ stored: UnsafeRawBufferPointer) -> Bool {
    guard stored.count == SHA256.byteCount * 2 else { return false }
    let digits: StaticString = "0123456789abcdef"
    return digest.withUnsafeBytes { raw in
        digits.withUTF8Buffer { digits in
            for (index, byte) in raw.enumerated()
            where stored[2 * index] != digits[Int(byte >> 4)] || stored[2 * index + 1] != digits[Int(byte & 0x0F)] {
                return false
            }
            return true
        }
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
/// evaluation document and events (`JSONValue`) are written directly (`CanonicalJSONWriter`, the
/// same bytes, several times faster); everything else through `JSONEncoder`.
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
