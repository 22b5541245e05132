import Crypto
import Dispatch
import Foundation
import GRDB
import GRDBSQLite
import PathwayAPI
import Synchronization

extension Store {
    /// Walks the chain in order and reports the first record whose order, link or content is
    /// wrong. With `checkpoint`, also checks that the record it names is still there, unchanged.
    /// With `from` (a verified head), starts after that record, once its hash is checked.
    ///
    /// Records are read in batches. What is checked record by record (order, links, the
    /// checkpoint) is checked while reading; a batch's hashes are computed on the other cores
    /// while the next batch is read. A failure waits until the records before it are hashed, so
    /// the first broken record is reported, whatever broke it.
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
            var walk = ChainWalk(previous: previous, checkpoint: checkpoint, checkpointSeen: checkpointSeen)
            let (count, verified, failure) = try walk.run(db)
            if let failure { return (count, verified, failure) }
            for (id, first) in walk.dictionaryUse.sorted(by: { $0.value.seq < $1.value.seq }) {
                if let problem = try AuditDictionaries.problem(with: id, in: db) {
                    return (
                        count, verified,
                        .init(seq: first.seq, decisionId: first.decisionId, problem: "dictionary", message: problem)
                    )
                }
            }
            if let checkpoint, checkpoint.seq > 0, !walk.checkpointSeen {
                return (
                    count, verified,
                    .init(
                        seq: checkpoint.seq, decisionId: nil, problem: "truncated",
                        message:
                            "the checkpoint names record \(checkpoint.seq) but the chain ends at \(verified.seq): records were removed from the end"
                    )
                )
            }
            return (count, verified.seq == 0 ? nil : verified, nil)
        }
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return AuditVerificationV1(
            status: failure == nil ? "ok" : "broken", records: count,
            head: head.map { .init(seq: $0.seq, hash: $0.hash) }, firstBroken: failure, seconds: seconds)
    }
}

/// One walk of the chain for `verify`, on one read transaction.
private struct ChainWalk {
    typealias Failure = AuditVerificationV1.Failure

    /// The last record handed to hashing (or where the walk starts): the next batch links to it.
    var previous: ChainHead
    let checkpoint: ChainHead?
    var checkpointSeen: Bool
    /// Records read so far.
    var count: Int64 = 0
    /// The stored hash of `previous`.
    private var previousHash: [UInt8]
    /// The first record to name each dictionary: each must still be there, with its bytes.
    var dictionaryUse: [String: (seq: Int64, decisionId: String)] = [:]
    private var lastDictionary: [UInt8] = []

    init(previous: ChainHead, checkpoint: ChainHead?, checkpointSeen: Bool) {
        self.previous = previous
        self.checkpoint = checkpoint
        self.checkpointSeen = checkpointSeen
        previousHash = Array(previous.hash.utf8)
    }

    /// A batch being hashed, with where it starts.
    private struct Hashing {
        var batch: VerifyBatch
        var work: BatchHashing
        /// The record before the batch's first.
        var before: ChainHead
        /// Records read before the batch's first.
        var base: Int64

        /// The batch's first record whose content does not match its hash, as `verify` reports it.
        func broken() -> (Int64, ChainHead, Failure)? {
            guard let index = work.firstMismatch() else { return nil }
            let record = batch.records[index]
            return (
                base + Int64(index) + 1, index == 0 ? before : batch.head(at: index - 1),
                .init(
                    seq: record.seq, decisionId: batch.decisionId(at: index), problem: "content",
                    message: "record \(record.seq) does not match its hash: its content was changed")
            )
        }
    }

    /// Reads every record after `previous`: the records verified, the last of them, and the first
    /// failure.
    mutating func run(_ db: Database) throws -> (Int64, ChainHead, Failure?) {
        // Every field as the database holds its bytes (CAST: a value of another type, written
        // behind the daemon's back, is read as its text and fails the hash rather than the read),
        // read through SQLite's own pointers and hashed without being decoded into Swift values.
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
        try statement.setArguments([previous.seq])
        let sqlite = statement.sqliteStatement
        var reading = VerifyBatch()
        var spare: VerifyBatch?
        var hashing: Hashing?
        while true {
            let step = sqlite3_step(sqlite)
            guard step == SQLITE_ROW || step == SQLITE_DONE else {
                throw DatabaseError(
                    resultCode: ResultCode(rawValue: step),
                    message: db.sqliteConnection.map { String(cString: sqlite3_errmsg($0)) }, sql: statement.sql)
            }
            var found: Failure?
            if step == SQLITE_ROW {
                count += 1
                found = read(sqlite, into: &reading)
            }
            guard step == SQLITE_DONE || found != nil || reading.isFull else { continue }
            let current = Hashing(
                batch: reading, work: BatchHashing(reading), before: previous,
                base: count - Int64(reading.count) - (found == nil || found?.problem == "checkpoint" ? 0 : 1))
            // The batch before this one comes first.
            if let earlier = hashing {
                if let broken = earlier.broken() {
                    _ = current.work.firstMismatch()
                    return broken
                }
                spare = earlier.batch
            }
            hashing = nil
            if step == SQLITE_DONE || found != nil {
                if let broken = current.broken() { return broken }
                if let found {
                    let verified = found.problem == "checkpoint" ? reading.count - 2 : reading.count - 1
                    return (count, verified < 0 ? previous : reading.head(at: verified), found)
                }
                return (count, reading.count > 0 ? reading.head(at: reading.count - 1) : previous, nil)
            }
            previous = reading.head(at: reading.count - 1)
            previousHash = Array(previous.hash.utf8)
            hashing = current
            // The batch hashed two rounds ago is free again (the hashing let go of its storage).
            reading = spare ?? VerifyBatch()
            spare = nil
            reading.removeAll()
        }
    }

    /// Checks what the statement's current row says of its place in the chain, and adds its hash
    /// message to the batch.
    private mutating func read(_ statement: SQLiteStatement, into batch: inout VerifyBatch) -> Failure? {
        /// A column's bytes, valid until the statement steps; nil for NULL.
        func column(_ index: Int32) -> UnsafeRawBufferPointer? {
            guard sqlite3_column_type(statement, index) != SQLITE_NULL else { return nil }
            let bytes = sqlite3_column_blob(statement, index)  // before its length, as SQLite asks
            return UnsafeRawBufferPointer(start: bytes, count: Int(sqlite3_column_bytes(statement, index)))
        }
        let empty = UnsafeRawBufferPointer(start: nil, count: 0)
        let seq = sqlite3_column_int64(statement, 0)
        let decisionIdBytes = column(1) ?? empty
        var decisionId: String { String(decoding: decisionIdBytes, as: UTF8.self) }
        let storedPrevious = column(11) ?? empty
        let linked =
            batch.lastHash { sameBytes($0, storedPrevious) }
            ?? previousHash.withUnsafeBytes { sameBytes($0, storedPrevious) }
        let expected = (batch.lastSeq ?? previous.seq) + 1
        guard seq == expected else {
            return .init(
                seq: seq, decisionId: decisionId, problem: "order",
                message: "record \(seq) follows record \(expected - 1): records are missing or out of order")
        }
        guard linked else {
            return .init(
                seq: seq, decisionId: decisionId, problem: "link",
                message: "record \(seq) does not link to the hash of record \(expected - 1)")
        }
        // The stored bytes are hashed as they are: a v2 output is not inflated to verify it.
        let format = AuditFormat(stored: column(13))
        let dictionary = column(16)
        if let dictionary, !lastDictionary.withUnsafeBytes({ sameBytes($0, dictionary) }) {
            lastDictionary = Array(dictionary)
            let id = String(decoding: dictionary, as: UTF8.self)
            if dictionaryUse[id] == nil { dictionaryUse[id] = (seq, decisionId) }
        }
        let hash = column(12) ?? empty
        batch.append(seq: seq, decisionId: decisionIdBytes, hash: hash) {
            $0.record(
                format: format, seq: seq, decisionId: decisionIdBytes, at: sqlite3_column_int64(statement, 2),
                actorUid: sqlite3_column_int64(statement, 3), actorUser: column(4) ?? empty,
                actorRoles: column(5) ?? empty, action: column(6) ?? empty, patientId: column(7),
                revision: column(8), version: column(14), outputDictionary: dictionary, input: column(9) ?? empty,
                output: (format == .v1 ? column(10) : column(15)) ?? empty, prevHash: storedPrevious)
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

extension UnsafeRawBufferPointer: ChainField {
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R { body(self) }
}

/// Records of the chain read for `verify`: each one's hash message in one buffer, with its
/// sequence number, decision id and stored hash.
private struct VerifyBatch: Sendable {
    struct Record: Sendable {
        var seq: Int64
        var message: Range<Int>
        var hash: Range<Int>
        var decisionId: Range<Int>
    }

    static let capacity = 4_096
    fileprivate var hasher = ChainHasher(bytes: [])
    /// Stored hashes and decision ids, as the database holds their bytes.
    fileprivate private(set) var texts: [UInt8] = []
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

    mutating func append(
        seq: Int64, decisionId: UnsafeRawBufferPointer, hash: UnsafeRawBufferPointer,
        message: (inout ChainHasher) -> Void
    ) {
        let start = hasher.bytes.count
        message(&hasher)
        let hashStart = texts.count
        texts.append(contentsOf: hash)
        let idStart = texts.count
        texts.append(contentsOf: decisionId)
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
}

/// A batch's hashes, computed on other threads (split between the cores, each hashing its share
/// in order) while the caller reads on.
private final class BatchHashing: Sendable {
    private let done = DispatchSemaphore(value: 0)
    /// The index of the first record whose stored hash is not the hash of its content.
    private let found = Mutex(Int.max)

    init(_ batch: VerifyBatch) {
        let (messages, texts, records) = (batch.hasher.bytes, batch.texts, batch.records)
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, records.count / 64))
        DispatchQueue.global().async { [self] in
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                let share = records.count * worker / workers..<records.count * (worker + 1) / workers
                messages.withUnsafeBytes { messages in
                    texts.withUnsafeBytes { texts in
                        for index in share {
                            let record = records[index]
                            let digest = SHA256.hash(data: UnsafeRawBufferPointer(rebasing: messages[record.message]))
                            if !hexMatches(digest, UnsafeRawBufferPointer(rebasing: texts[record.hash])) {
                                self.found.withLock { $0 = min($0, index) }
                                return
                            }
                        }
                    }
                }
            }
            self.done.signal()
        }
    }

    /// Waits for the hashes; the index of the first record that does not match, if any. Call once.
    func firstMismatch() -> Int? {
        done.wait()
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
    fileprivate init(stored: UnsafeRawBufferPointer?) {
        guard let stored else {
            self = .v1
            return
        }
        self = Self.v1Tag.withUnsafeBytes { sameBytes($0, stored) } ? .v1 : .v2
    }
}
