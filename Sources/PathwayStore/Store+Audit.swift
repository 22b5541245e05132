import Crypto
import Dispatch
import Foundation
import GRDB
import PathwayAPI
import PathwayCore
import Synchronization

/// What an auditor asks for (contract §9). Every filter is optional; they combine with "and".
public struct AuditQuery: Sendable, Hashable {
    public var patientId: String?
    /// A user name, or a numeric uid.
    public var actor: String?
    public var action: AuditAction?
    public var revision: String?
    /// Milliseconds since the epoch, inclusive.
    public var since: Int64?
    /// Milliseconds since the epoch, exclusive.
    public var until: Int64?
    /// Decisions that offered this option (recommended or consider).
    public var optionId: String?
    /// Decisions in which this trial was eligible or potentially eligible.
    public var trialId: String?
    public var limit: Int = 50
    /// Only records older than this sequence number (from a cursor).
    public var before: Int64?

    public init() {}

    /// The opaque cursor for the page after the one ending at `seq`.
    public static func cursor(after seq: Int64) -> String {
        Data("pathwayd-audit:\(seq)".utf8).base64EncodedString()
    }

    /// The sequence number inside a cursor, or nil if it is not one of ours.
    public static func seq(fromCursor cursor: String) -> Int64? {
        guard let data = Data(base64Encoded: cursor) else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        guard text.hasPrefix("pathwayd-audit:") else { return nil }
        return Int64(text.dropFirst("pathwayd-audit:".count))
    }
}

extension Store {
    /// One page of records matching `query`, newest first, without input and output.
    public func audit(_ query: AuditQuery) async throws -> (records: [AuditRecord], next: String?) {
        try await read { db in
            var conditions: [String] = []
            var arguments: [(any DatabaseValueConvertible)?] = []
            func add(_ condition: String, _ values: (any DatabaseValueConvertible)?...) {
                conditions.append(condition)
                arguments.append(contentsOf: values)
            }
            if let value = query.patientId { add("patient_id = ?", value) }
            if let value = query.actor {
                if let uid = Int64(value) { add("actor_uid = ?", uid) } else { add("actor_user = ?", value) }
            }
            if let value = query.action { add("action = ?", value.rawValue) }
            if let value = query.revision { add("revision = ?", value) }
            if let value = query.since { add("at >= ?", value) }
            if let value = query.until { add("at < ?", value) }
            if let value = query.optionId { add("seq IN (SELECT seq FROM audit_subjects WHERE subject = ?)", value) }
            if let value = query.trialId {
                add(
                    "seq IN (SELECT seq FROM audit_subjects WHERE subject = ?)",
                    value.hasPrefix("trial:") ? value : "trial:" + value)
            }
            if let value = query.before { add("seq < ?", value) }
            let limit = max(1, min(query.limit, 1000))
            let sql = """
                SELECT seq, decision_id, at, actor_uid, actor_user, actor_roles, action, patient_id, revision,
                       '' AS input, '' AS output, prev_hash, hash
                FROM audit \(conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND "))
                ORDER BY seq DESC LIMIT \(limit + 1)
                """
            var records = try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map(
                AuditRecord.init(row:))
            var next: String?
            if records.count > limit {
                records.removeLast()
                next = AuditQuery.cursor(after: records[records.count - 1].seq)
            }
            return (records, next)
        }
    }

    /// The full record of a decision.
    public func auditRecord(_ decisionId: String) async throws -> AuditRecord? {
        try await read { db in
            try self.dictionaries.attach(
                to: Row.fetchAll(db, sql: "SELECT * FROM audit WHERE decision_id = ?", arguments: [decisionId])
                    .map(AuditRecord.init(row:)),
                in: db
            ).first
        }
    }

    /// Walks the chain in order and reports the first record whose order, link or content is
    /// wrong. With `checkpoint`, also checks that the record it names is still there, unchanged.
    /// With `from` (a verified head), starts after that record, once its hash is checked.
    public func verify(against checkpoint: ChainHead? = nil, from: ChainHead? = nil) async throws -> AuditVerificationV1
    {
        let clock = ContinuousClock()
        let start = clock.now
        let (count, head, failure) = try await read { db -> (Int64, ChainHead?, AuditVerificationV1.Failure?) in
            var previous = ChainHead(seq: 0, hash: AuditRecord.genesisHash)
            var checkpointSeen = false
            if let from, from.seq > 0 {
                let stored = try Row.fetchOne(
                    db, sql: "SELECT CAST(decision_id AS TEXT), CAST(hash AS TEXT) FROM audit WHERE seq = ?",
                    arguments: [from.seq])
                guard let stored, stored[1] as String? == from.hash else {
                    return (
                        0, nil,
                        .init(
                            seq: from.seq, decisionId: stored?[0], problem: "checkpoint",
                            message: stored == nil
                                ? "the last checkpoint names record \(from.seq), which is gone"
                                : "record \(from.seq) no longer has the hash of the last checkpoint (\(from.hash)): the trail was rewritten"
                        )
                    )
                }
                previous = from
                checkpointSeen = true
            }
            // Every field as the database holds its bytes (CAST: a value of another type, written
            // behind the daemon's back, is read as its text and fails the hash rather than the
            // read), hashed without being decoded into Swift strings.
            let statement = try db.makeStatement(
                sql: """
                    SELECT CAST(seq AS INTEGER), CAST(decision_id AS BLOB), CAST(at AS INTEGER),
                           CAST(actor_uid AS INTEGER), CAST(actor_user AS BLOB), CAST(actor_roles AS BLOB),
                           CAST(action AS BLOB), CAST(patient_id AS BLOB), CAST(revision AS BLOB),
                           CAST(input AS BLOB), CAST(output AS BLOB), CAST(prev_hash AS BLOB), CAST(hash AS BLOB),
                           CAST(format AS BLOB), CAST(version AS BLOB), CAST(output_zstd AS BLOB),
                           CAST(output_dictionary AS BLOB)
                    FROM audit WHERE seq > ? ORDER BY seq
                    """)
            let cursor = try Row.fetchCursor(statement, arguments: [previous.seq])
            var count: Int64 = 0
            // The stored hash of the last record read, which the next one must link to.
            var previousHash = Array(previous.hash.utf8)
            // The first record to name each dictionary: each must still be there, with its bytes.
            var dictionaryUse: [String: (seq: Int64, decisionId: String)] = [:]
            var lastDictionary: [UInt8] = []
            // Records are gathered in batches and their hashes computed on every core; what is
            // checked record by record (order, links, the checkpoint) is checked while reading,
            // and a failure there waits until the records before it are hashed: the first broken
            // record is reported, whatever broke it.
            var batch = VerifyBatch()
            let columns = UnsafeMutableBufferPointer<Data?>.allocate(capacity: 17)
            columns.initialize(repeating: nil)
            defer {
                _ = columns.deinitialize()
                columns.deallocate()
            }
            while true {
                let row = try cursor.next()
                var found: AuditVerificationV1.Failure?
                if let row {
                    let seq: Int64 = row[0] ?? 0
                    count += 1
                    found = try withUnsafeColumns(row, Self.verifiedColumns[...], columns) { column in
                        var decisionId: String { String(decoding: column[1] ?? Data(), as: UTF8.self) }
                        let linked = (column[11] ?? Data()).withUnsafeBytes { stored in
                            batch.lastHash { sameBytes($0, stored) }
                                ?? previousHash.withUnsafeBytes { sameBytes($0, stored) }
                        }
                        let expected = (batch.lastSeq ?? previous.seq) + 1
                        guard seq == expected else {
                            return .init(
                                seq: seq, decisionId: decisionId, problem: "order",
                                message:
                                    "record \(seq) follows record \(expected - 1): records are missing or out of order")
                        }
                        guard linked else {
                            return .init(
                                seq: seq, decisionId: decisionId, problem: "link",
                                message: "record \(seq) does not link to the hash of record \(expected - 1)")
                        }
                        // The stored bytes are hashed as they are: a v2 output is not inflated to verify it.
                        let format = AuditFormat(stored: column[13])
                        let dictionary = column[16]
                        if let dictionary,
                            !dictionary.withUnsafeBytes({ new in lastDictionary.withUnsafeBytes { sameBytes($0, new) } }
                            )
                        {
                            lastDictionary = dictionary.withUnsafeBytes { Array($0) }
                            let id = String(decoding: dictionary, as: UTF8.self)
                            if dictionaryUse[id] == nil { dictionaryUse[id] = (seq, decisionId) }
                        }
                        let hash = column[12] ?? Data()
                        batch.append(seq: seq, decisionId: column[1] ?? Data(), hash: hash) {
                            $0.record(
                                format: format, seq: seq, decisionId: column[1] ?? Data(), at: row[2] ?? 0,
                                actorUid: row[3] ?? 0, actorUser: column[4] ?? Data(), actorRoles: column[5] ?? Data(),
                                action: column[6] ?? Data(), patientId: column[7], revision: column[8],
                                version: column[14], outputDictionary: dictionary, input: column[9] ?? Data(),
                                output: (format == .v1 ? column[10] : column[15]) ?? Data(),
                                prevHash: column[11] ?? Data())
                        }
                        // The checkpoint is the hash this record has once its content verifies.
                        if let checkpoint, checkpoint.seq == seq {
                            checkpointSeen = true
                            if !hash.elementsEqual(checkpoint.hash.utf8) {
                                return .init(
                                    seq: seq, decisionId: decisionId, problem: "checkpoint",
                                    message:
                                        "record \(seq) has hash \(String(decoding: hash, as: UTF8.self)), the checkpoint says \(checkpoint.hash)"
                                )
                            }
                        }
                        return nil
                    }
                }
                guard row == nil || found != nil || batch.isFull else { continue }
                let base = count - Int64(batch.count) - (found == nil || found?.problem == "checkpoint" ? 0 : 1)
                if let broken = batch.firstMismatch() {
                    let record = batch.records[broken]
                    return (
                        base + Int64(broken) + 1, broken == 0 ? previous : batch.head(at: broken - 1),
                        .init(
                            seq: record.seq, decisionId: batch.decisionId(at: broken), problem: "content",
                            message: "record \(record.seq) does not match its hash: its content was changed")
                    )
                }
                if let found {
                    let verified = found.problem == "checkpoint" ? batch.count - 2 : batch.count - 1
                    return (count, verified < 0 ? previous : batch.head(at: verified), found)
                }
                if batch.count > 0 {
                    previous = batch.head(at: batch.count - 1)
                    previousHash = Array(previous.hash.utf8)
                }
                batch.removeAll()
                if row == nil { break }
            }
            for (id, first) in dictionaryUse.sorted(by: { $0.value.seq < $1.value.seq }) {
                if let problem = try AuditDictionaries.problem(with: id, in: db) {
                    return (
                        count, previous,
                        .init(seq: first.seq, decisionId: first.decisionId, problem: "dictionary", message: problem)
                    )
                }
            }
            if let checkpoint, checkpoint.seq > 0, !checkpointSeen {
                return (
                    count, previous,
                    .init(
                        seq: checkpoint.seq, decisionId: nil, problem: "truncated",
                        message:
                            "the checkpoint names record \(checkpoint.seq) but the chain ends at \(previous.seq): records were removed from the end"
                    )
                )
            }
            return (count, previous.seq == 0 ? nil : previous, nil)
        }
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return AuditVerificationV1(
            status: failure == nil ? "ok" : "broken", records: count,
            head: head.map { .init(seq: $0.seq, hash: $0.hash) }, firstBroken: failure, seconds: seconds)
    }
}

extension Store {
    /// Up to `limit` full records after sequence number `afterSeq`, oldest first, with `at` in [since, until).
    public func records(afterSeq: Int64, since: Int64?, until: Int64?, limit: Int) async throws -> [AuditRecord] {
        try await read { db in
            try self.dictionaries.attach(
                to: Row.fetchAll(
                    db, sql: "SELECT * FROM audit WHERE seq > ? AND at >= ? AND at < ? ORDER BY seq LIMIT ?",
                    arguments: [afterSeq, since ?? Int64.min, until ?? Int64.max, limit]
                ).map(AuditRecord.init(row:)),
                in: db)
        }
    }
}

extension Store {
    /// The columns of `verify`'s query read as bytes (the rest are integers).
    fileprivate static let verifiedColumns = [1, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]
}

/// Runs `body` with the bytes of a row's columns, indexed by column (the others nil), without
/// copying them: each is valid until `body` returns. The columns are kept in `columns`, a buffer
/// of the caller's with room for every index.
private func withUnsafeColumns<T>(
    _ row: Row, _ indices: ArraySlice<Int>, _ columns: UnsafeMutableBufferPointer<Data?>,
    _ body: (UnsafeMutableBufferPointer<Data?>) throws -> T
) throws -> T {
    guard let index = indices.first else { return try body(columns) }
    return try row.withUnsafeData(atIndex: index) { data in
        columns[index] = data
        return try withUnsafeColumns(row, indices.dropFirst(), columns, body)
    }
}

/// Records of the chain read for `verify`: each one's hash message in one buffer, with its
/// sequence number, decision id and stored hash. Their hashes are computed on every core.
private struct VerifyBatch {
    struct Record {
        var seq: Int64
        var message: Range<Int>
        var hash: Range<Int>
        var decisionId: Range<Int>
    }

    static let capacity = 4_096
    private var hasher = ChainHasher(bytes: [])
    /// Stored hashes and decision ids, as the database holds their bytes.
    private var texts: [UInt8] = []
    private(set) var records: [Record] = []

    init() {
        records.reserveCapacity(Self.capacity)
        hasher.bytes.reserveCapacity(Self.capacity * 4_096)
    }

    var count: Int { records.count }
    var isFull: Bool { records.count >= Self.capacity }
    var lastSeq: Int64? { records.last?.seq }

    func lastHash<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R? {
        records.last.map { last in texts.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[last.hash])) } }
    }

    func decisionId(at index: Int) -> String { String(decoding: texts[records[index].decisionId], as: UTF8.self) }

    func head(at index: Int) -> ChainHead {
        ChainHead(seq: records[index].seq, hash: String(decoding: texts[records[index].hash], as: UTF8.self))
    }

    mutating func append(seq: Int64, decisionId: Data, hash: Data, message: (inout ChainHasher) -> Void) {
        let start = hasher.bytes.count
        message(&hasher)
        let hashStart = texts.count
        hash.withUnsafeBytes { texts.append(contentsOf: $0) }
        let idStart = texts.count
        decisionId.withUnsafeBytes { texts.append(contentsOf: $0) }
        records.append(
            Record(
                seq: seq, message: start..<hasher.bytes.count, hash: hashStart..<idStart,
                decisionId: idStart..<texts.count))
    }

    mutating func removeAll() {
        hasher.bytes.removeAll(keepingCapacity: true)
        texts.removeAll(keepingCapacity: true)
        records.removeAll(keepingCapacity: true)
    }

    /// The index of the first record whose stored hash is not the hash of its content, if any:
    /// the records are split between the cores, each hashing its share in order.
    func firstMismatch() -> Int? {
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, records.count / 64))
        let (messages, texts, records) = (hasher.bytes, texts, records)
        let found = Mutex(Int.max)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let share = records.count * worker / workers..<records.count * (worker + 1) / workers
            messages.withUnsafeBytes { messages in
                texts.withUnsafeBytes { texts in
                    for index in share {
                        let record = records[index]
                        let digest = SHA256.hash(data: UnsafeRawBufferPointer(rebasing: messages[record.message]))
                        if !hexMatches(digest, UnsafeRawBufferPointer(rebasing: texts[record.hash])) {
                            found.withLock { $0 = min($0, index) }
                            return
                        }
                    }
                }
            }
        }
        let first = found.withLock { $0 }
        return first == Int.max ? nil : first
    }
}

/// Whether two byte ranges hold the same bytes.
private func sameBytes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    a.count == b.count && (a.count == 0 || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0)
}

extension AuditFormat {
    private static let v1Tag = Array(AuditFormat.v1.rawValue.utf8)

    /// The format a record's `format` column names: none is v1 (written before the column), an
    /// unknown tag is read as v2 (and fails its hash).
    init(stored: Data?) {
        guard let stored else {
            self = .v1
            return
        }
        self = stored.withUnsafeBytes { stored in Self.v1Tag.withUnsafeBytes { sameBytes($0, stored) } } ? .v1 : .v2
    }
}
