import CoreMetrics
import Crypto
import Foundation
import GRDB
import PathwayAPI
import PathwayCore
import Synchronization

/// The daemon's database: events, patients, the audit chain and the rules archive, in one SQLite
/// file in WAL mode. Reads go to GRDB's reader pool; every write goes through the one writer.
public final class Store: Sendable {
    public enum Synchronous: String, Sendable {
        /// Every commit is synced: an acknowledged write survives power loss. The default.
        case full
        /// Commits are synced at checkpoints only: survives a crash of the daemon, not of the machine.
        case normal
    }

    public let path: String
    static let pageSize = 16_384
    let pool: DatabasePool
    let writer: GroupCommitWriter
    /// One ingest at a time per patient, in arrival order (`ingest`).
    let patientLocks = KeyedLock()
    let patientCache = PatientCache()
    let dictionaries = AuditDictionaries()

    /// Opens (creating if needed) and migrates the database, and starts the writer.
    /// - Parameter metrics: where the writer reports commit latency, requests per group and queue
    ///   depth (swift-metrics; nothing by default).
    public init(
        path: String, synchronous: Synchronous = .full, metrics: any MetricsFactory = NOOPMetricsHandler.instance
    )
        throws
    {
        self.path = path
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.label = "pathwayd"
        // 16 KiB pages for a new database (an existing one keeps its size): an audit record is
        // 2–3 KB, and with SQLite's default 4 KiB pages each took a page of its own, a third of it
        // unused. Runs before GRDB turns on WAL, which fixes the page size.
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA page_size = \(Self.pageSize)") }
        pool = try DatabasePool(path: path, configuration: configuration)
        try Schema.migrator.migrate(pool)
        // GRDB sets synchronous=NORMAL on the writer when it enables WAL; set ours after, on the
        // writer, and read it back there (a reader would report its own value).
        let level = try pool.writeWithoutTransaction { db -> Int in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous == .full ? "FULL" : "NORMAL")")
            return try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1
        }
        guard level == (synchronous == .full ? 2 : 1) else {
            throw StorageUnavailable(
                description: "PRAGMA synchronous is \(level) on the writer, expected \(synchronous)")
        }
        writer = GroupCommitWriter(
            pool: pool, state: WriterState(head: try pool.read(Self.head(in:))), metrics: metrics)
    }

    /// Commits what is queued, stops the writer, checkpoints the WAL into the database and closes.
    public func close() throws {
        writer.stop()
        try pool.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
        try pool.close()
    }

    /// Runs `work` in the writer's next transaction; returns after that transaction committed.
    /// Throws `StorageUnavailable` when the transaction failed: nothing of it is stored.
    @discardableResult
    public func write<T: Sendable>(_ work: @escaping @Sendable (WriteTransaction) throws -> T) async throws -> T {
        try await writer.submit(work)
    }

    /// Group-commit counters: transactions, requests in them, failed transactions.
    public var writerCounts: (batches: Int, jobs: Int, failed: Int) {
        (writer.metrics.batches.current, writer.metrics.jobs.current, writer.metrics.failedBatches.current)
    }

    public func read<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do { return try await pool.read(work) } catch let error as DatabaseError {
            throw StorageUnavailable(description: "\(error)")
        }
    }

    // MARK: Reads

    /// The patient's stored events in arrival order, or nil for a patient never seen.
    public func patientEvents(_ id: String) async throws -> (events: [Event], bodies: [String], lastDecisionId: String)?
    {
        try await read { db in
            guard
                let last = try String.fetchOne(
                    db, sql: "SELECT last_decision_id FROM patients WHERE id = ?", arguments: [id])
            else { return nil }
            let bodies = try String.fetchAll(
                db, sql: "SELECT body FROM events WHERE patient_id = ? ORDER BY seq", arguments: [id])
            return (try bodies.map(StoredEvents.decode), bodies, last)
        }
    }

    /// Every patient id, in order.
    /// The bodies of a patient's first `count` stored events, in arrival order (fewer if the
    /// patient has fewer).
    public func eventBodies(patientId: String, count: Int) async throws -> [String] {
        try await read { db in
            try String.fetchAll(
                db, sql: "SELECT body FROM events WHERE patient_id = ? ORDER BY seq LIMIT ?",
                arguments: [patientId, count])
        }
    }

    public func events(idPrefixes: [String]) async throws -> [StoredEventReference] {
        try await read { db in
            // Event ids are printable ASCII (0x21–0x7E): [prefix, prefix + 0x7F) is every id that
            // starts with it, read through the primary key's index.
            let statement = try db.cachedStatement(
                sql: "SELECT id, patient_id, occurred_at FROM events WHERE id >= ? AND id < ? ORDER BY seq")
            var found: [StoredEventReference] = []
            for prefix in Set(idPrefixes) {
                for row in try Row.fetchAll(statement, arguments: [prefix, prefix + "\u{7F}"]) {
                    let id: String = row[0]
                    guard id == prefix || ["/", "+"].contains(id.dropFirst(prefix.count).first) else { continue }
                    found.append(
                        StoredEventReference(
                            id: id, patientId: row[1], occurredAt: Instant(millisecondsSinceEpoch: row[2])))
                }
            }
            return found
        }
    }

    public func patientIds() async throws -> [String] {
        try await read { db in try String.fetchAll(db, sql: "SELECT id FROM patients ORDER BY id") }
    }

    /// The sources of an archived rules revision.
    public func archivedRules(_ revision: String) async throws -> [RuleSource]? {
        try await read { db in
            guard
                let text = try String.fetchOne(
                    db, sql: "SELECT sources FROM rules_revisions WHERE revision = ?", arguments: [revision])
            else { return nil }
            let files = try JSONDecoder().decode([[String: String]].self, from: Data(text.utf8))
            return files.map { RuleSource(name: $0["name"] ?? "", contents: $0["contents"] ?? "") }
        }
    }

    /// The last record of the chain as committed.
    public var head: ChainHead {
        get async throws { try await read(Self.head(in:)) }
    }

    private static func head(in db: Database) throws -> ChainHead {
        try Row.fetchOne(db, sql: "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").map {
            ChainHead(seq: $0[0], hash: $0[1])
        } ?? ChainHead(seq: 0, hash: AuditRecord.genesisHash)
    }
}

extension AuditRecord {
    /// A stored row in either format. A format this daemon does not know reads as v2 and fails
    /// verification rather than being trusted.
    init(row: Row) {
        let format = (row["format"] as String?).map { AuditFormat(rawValue: $0) ?? .v2 } ?? .v1
        let output: [UInt8] =
            format == .v1
            ? Array((row["output"] as String).utf8) : Array((row["output_zstd"] as Data?) ?? Data())
        self.init(
            seq: row["seq"], decisionId: row["decision_id"], at: row["at"], actorUid: row["actor_uid"],
            actorUser: row["actor_user"], actorRoles: row["actor_roles"], action: row["action"],
            patientId: row["patient_id"], revision: row["revision"], format: format, version: row["version"],
            input: row["input"], storedOutput: output, outputDictionary: row["output_dictionary"],
            prevHash: row["prev_hash"], hash: row["hash"])
    }
}

/// The compression dictionaries: by revision, those committed by this process (what new records
/// are compressed against); by name, those records named when they were read.
final class AuditDictionaries: Sendable {
    private let committed = Mutex<[String: AuditDictionary]>([:])
    private let read = Mutex<[String: AuditDictionary]>([:])

    /// The dictionary of `revision`, once its archiving transaction committed.
    func committed(forRevision revision: String) -> AuditDictionary? { committed.withLock { $0[revision] } }

    /// After the transaction that stored `dictionary` committed.
    func register(_ dictionary: AuditDictionary) {
        committed.withLock { $0[dictionary.revision] = dictionary }
        remember(dictionary)
    }

    /// Gives each v2 record the dictionary it names, read from the database once and checked
    /// against its name. A record whose dictionary is missing keeps none, and says so when read.
    func attach(to records: [AuditRecord], in db: Database) throws -> [AuditRecord] {
        try records.map { record in
            guard let id = record.outputDictionary else { return record }
            var record = record
            record.dictionary = try dictionary(id, in: db)
            return record
        }
    }

    func dictionary(_ id: String, in db: Database) throws -> AuditDictionary? {
        if let known = read.withLock({ $0[id] }) { return known }
        guard
            let row = try Row.fetchOne(
                db, sql: "SELECT revision, bytes FROM audit_dictionaries WHERE id = ?", arguments: [id])
        else { return nil }
        let dictionary = try AuditDictionary(revision: row[0], bytes: Array(row[1] as Data))
        guard dictionary.id == id else {
            throw AuditFormatError(description: "the dictionary \(id) no longer has the bytes its name says")
        }
        remember(dictionary)
        return dictionary
    }

    /// What is wrong with the stored dictionary `id`, read afresh: missing, or bytes other than
    /// its name says; nil when it is intact.
    static func problem(with id: String, in db: Database) throws -> String? {
        guard
            let bytes = try Data.fetchOne(
                db, sql: "SELECT bytes FROM audit_dictionaries WHERE id = ?", arguments: [id])
        else { return "the dictionary \(id) its output was compressed against is not in the database" }
        guard "sha256:" + hex(SHA256.hash(data: bytes)) == id else {
            return "the dictionary \(id) no longer has the bytes its name says"
        }
        return nil
    }

    private func remember(_ dictionary: AuditDictionary) {
        read.withLock { read in
            // A few hundred kilobytes each: keep the ones in use, not every revision ever read.
            if read.count >= 32 { read = [:] }
            read[dictionary.id] = dictionary
        }
    }
}
