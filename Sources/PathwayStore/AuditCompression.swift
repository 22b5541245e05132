import CZstd
import Crypto
import PathwayAPI
import PathwayCore
import Synchronization

/// The outputs of v2 records, compressed with zstd (RFC 8878, Debian's libzstd). An evaluation is
/// compressed against the dictionary of its rules revision (`AuditDictionary`): most of an
/// evaluation document is the revision's own text (option names, criteria, evidence), so what a
/// record stores is mostly what is particular to its patient. Other outputs are compressed alone.
/// `zstd -d -D <dictionary>` and Python's `zstandard` read them offline (docs/audit.md).
public enum AuditCompression {
    /// The largest output a record may inflate to; an evaluation document is tens of kilobytes.
    static let maximumInflatedBytes = 64 << 20
    /// zstd's level 2. Measured on evaluation documents of the load benchmark against their
    /// dictionary (`zstd -b`): level 2 writes 3 % more bytes than level 4 at six times its speed
    /// (1,095 against 180 MB/s); level 4's compression was a sixth of an event's CPU time.
    static let level: Int32 = 2

    public static func compress(_ text: String, dictionary: AuditDictionary? = nil) throws -> [UInt8] {
        var text = text
        return try text.withUTF8 { try compress(UnsafeRawBufferPointer($0), dictionary: dictionary) }
    }

    public static func compress(_ bytes: [UInt8], dictionary: AuditDictionary? = nil) throws -> [UInt8] {
        try bytes.withUnsafeBytes { try compress($0, dictionary: dictionary) }
    }

    private static func compress(_ source: UnsafeRawBufferPointer, dictionary: AuditDictionary?) throws -> [UInt8] {
        let capacity = ZSTD_compressBound(source.count)
        let context = try CompressionContexts.shared.take()
        defer { CompressionContexts.shared.give(back: context) }
        var failure: Int?
        let compressed = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
            let written =
                if let dictionary {
                    ZSTD_compress_usingCDict(
                        context.pointer, buffer.baseAddress, capacity, source.baseAddress, source.count,
                        dictionary.compression)
                } else {
                    ZSTD_compressCCtx(
                        context.pointer, buffer.baseAddress, capacity, source.baseAddress, source.count, level)
                }
            if ZSTD_isError(written) != 0 {
                failure = written
                count = 0
            } else {
                count = written
            }
        }
        if let failure { throw AuditFormatError(description: "zstd: " + errorName(failure)) }
        return compressed
    }

    /// The text of a stored output; `dictionary` must be the one the record names.
    public static func decompress(_ bytes: [UInt8], dictionary: AuditDictionary?) throws(AuditFormatError) -> String {
        let size = bytes.withUnsafeBytes { ZSTD_getFrameContentSize($0.baseAddress, $0.count) }
        // ZSTD_CONTENTSIZE_UNKNOWN and ZSTD_CONTENTSIZE_ERROR are the two largest values.
        guard size < UInt64.max - 1 else {
            throw AuditFormatError(description: "a v2 record's output is not a zstd frame with its size")
        }
        guard size <= UInt64(maximumInflatedBytes) else {
            throw AuditFormatError(description: "a v2 record's output would inflate to \(size) bytes")
        }
        guard let context = ZSTD_createDCtx() else { throw AuditFormatError(description: "zstd: out of memory") }
        defer { ZSTD_freeDCtx(context) }
        var failure: Int?
        let text = bytes.withUnsafeBytes { source in
            String(unsafeUninitializedCapacity: Int(size)) { buffer in
                let written =
                    if let dictionary {
                        ZSTD_decompress_usingDDict(
                            context, buffer.baseAddress, buffer.count, source.baseAddress, source.count,
                            dictionary.decompression)
                    } else {
                        ZSTD_decompressDCtx(context, buffer.baseAddress, buffer.count, source.baseAddress, source.count)
                    }
                if ZSTD_isError(written) != 0 {
                    failure = written
                    return 0
                }
                return written
            }
        }
        if let failure {
            throw AuditFormatError(description: "a v2 record's output does not inflate: zstd: " + errorName(failure))
        }
        guard text.utf8.count == Int(size) else {
            throw AuditFormatError(description: "a v2 record's output inflates to other than its stated size")
        }
        return text
    }

    fileprivate static func errorName(_ code: Int) -> String {
        ZSTD_getErrorName(code).map { String(cString: $0) } ?? "error \(code)"
    }
}

/// The compression dictionary of a rules revision: the canonical evaluations of some of the
/// revision's own pack test patients (and of a patient with no facts), one after another. It is
/// plain JSON text, stored once in `audit_dictionaries` and named by the SHA-256 of its bytes, which
/// the records compressed against it name and their hash covers; `verify` checks that each
/// dictionary still has the bytes its name says. It holds no patient's data, only test cases.
public final class AuditDictionary: @unchecked Sendable, Hashable {
    /// `sha256:` and the hex SHA-256 of `bytes`.
    public let id: String
    public let revision: String
    public let bytes: [UInt8]
    // zstd's digested dictionaries are read-only once made, and may be shared by threads (zstd.h).
    let compression: OpaquePointer
    let decompression: OpaquePointer

    /// At most this many test patients, and about this many bytes: a dictionary is read whole
    /// for every record, so more would cost more than it saves.
    static let samples = 6
    static let budget = 384 << 10

    /// - Throws: when zstd cannot digest the bytes (memory).
    public init(revision: String, bytes: [UInt8]) throws {
        self.revision = revision
        self.bytes = bytes
        id = "sha256:" + hex(SHA256.hash(data: bytes))
        // A dictionary that began with zstd's dictionary magic would be read as one; ours begin with `{`.
        guard bytes.first == UInt8(ascii: "{"),
            let compression = bytes.withUnsafeBytes({
                ZSTD_createCDict($0.baseAddress, $0.count, AuditCompression.level)
            })
        else { throw AuditFormatError(description: "zstd cannot use the dictionary of \(revision)") }
        guard let decompression = bytes.withUnsafeBytes({ ZSTD_createDDict($0.baseAddress, $0.count) }) else {
            ZSTD_freeCDict(compression)
            throw AuditFormatError(description: "zstd cannot use the dictionary of \(revision)")
        }
        self.compression = compression
        self.decompression = decompression
    }

    /// Builds the dictionary of `rules`: deterministic for the same revision and engine.
    public convenience init(rules: CompiledRules) throws {
        let tests = rules.tests
        var picked: [PackTest] = []
        if !tests.isEmpty {
            // Spread over the packs: the tests come in file order.
            let step = max(1, tests.count / Self.samples)
            picked = stride(from: 0, to: tests.count, by: step).prefix(Self.samples).map { tests[$0] }
        }
        let now = picked.first?.now ?? Instant(millisecondsSinceEpoch: 0)
        var text = ""
        for (events, now, parameters) in [([], now, [:])] + picked.map({ ($0.events, $0.now, $0.parameters) }) {
            let context = EvaluationContext(
                now: now, decisionId: "dictionary", patientId: "DICTIONARY", parameters: parameters)
            let evaluation = rules.evaluate(PatientFacts(events: events, asOf: now), context: context)
            let document = "{\"evaluation\":" + (try CanonicalJSON.encode(evaluation)) + "}\n"
            if !text.isEmpty, text.utf8.count + document.utf8.count > Self.budget { break }
            text += document
        }
        try self.init(revision: rules.revision, bytes: Array(text.utf8))
    }

    deinit {
        ZSTD_freeCDict(compression)
        ZSTD_freeDDict(decompression)
    }

    public static func == (lhs: AuditDictionary, rhs: AuditDictionary) -> Bool { lhs.id == rhs.id }
    public func hash(into hasher: inout Hasher) { hasher.combine(id) }
}

/// Reused compression contexts: a context keeps its work space between outputs instead of
/// allocating it for each.
private final class CompressionContexts: Sendable {
    struct Context: @unchecked Sendable {
        let pointer: OpaquePointer
    }

    static let shared = CompressionContexts()
    private let idle = Mutex<[Context]>([])

    func take() throws -> Context {
        if let context = idle.withLock({ $0.popLast() }) { return context }
        guard let pointer = ZSTD_createCCtx() else {
            throw AuditFormatError(description: "zstd: no memory for a compression context")
        }
        return Context(pointer: pointer)
    }

    func give(back context: Context) {
        let kept = idle.withLock { idle in
            guard idle.count < 16 else { return false }
            idle.append(context)
            return true
        }
        if !kept { ZSTD_freeCCtx(context.pointer) }
    }
}
