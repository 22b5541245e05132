import Foundation
import GRDB
import PathwayAPI
import PathwayCore

/// What the writer keeps in memory between transactions: the chain head. Used on the writer
/// thread only.
final class WriterState: @unchecked Sendable {
    private(set) var head: ChainHead

    init(head: ChainHead) { self.head = head }

    /// After a rollback: the chain head goes back.
    func rollBack(to head: ChainHead) { self.head = head }

    func advance(to head: ChainHead) { self.head = head }
}

/// The last record of the audit chain.
public struct ChainHead: Sendable, Hashable {
    public var seq: Int64
    public var hash: String
    public init(seq: Int64, hash: String) {
        self.seq = seq
        self.hash = hash
    }
}

/// One writer transaction, as jobs see it.
public final class WriteTransaction {
    let db: Database
    let state: WriterState

    init(db: Database, state: WriterState) {
        self.db = db
        self.state = state
    }

    /// Appends a record to the audit chain and returns it, hashed and linked.
    @discardableResult
    public func appendAudit(
        decisionId: String, at: Instant, actor: Caller, action: AuditAction, patientId: String?, revision: String?,
        input: String, output: String, subjects: [(subject: String, status: String)] = []
    ) throws -> AuditRecord {
        try appendAudit(
            decisionId: decisionId, at: at, actor: actor, action: action, patientId: patientId, revision: revision,
            input: input, output: try CompressedOutput(output, dictionary: nil), subjects: subjects)
    }

    /// Appends a v2 record whose output was compressed already (off the writer). Its dictionary
    /// must be stored already, or in this transaction.
    @discardableResult
    func appendAudit(
        decisionId: String, at: Instant, actor: Caller, action: AuditAction, patientId: String?, revision: String?,
        input: String, output: CompressedOutput, subjects: [(subject: String, status: String)] = []
    ) throws -> AuditRecord {
        let head = state.head
        var record = AuditRecord(
            seq: head.seq + 1, decisionId: decisionId, at: at.millisecondsSinceEpoch, actorUid: Int64(actor.uid),
            actorUser: actor.user, actorRoles: actor.rolesText, action: action.rawValue,
            patientId: patientId, revision: revision, format: .v2, version: PathwayVersion.current, input: input,
            storedOutput: output.bytes, outputDictionary: output.dictionary, prevHash: head.hash, hash: "")
        record.hash = record.computedHash
        try db.cachedStatement(
            sql: """
                INSERT INTO audit (seq, decision_id, at, actor_uid, actor_user, actor_roles, action, patient_id,
                                   revision, input, output, prev_hash, hash, format, version, output_zstd,
                                   output_dictionary)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            record.seq, record.decisionId, record.at, record.actorUid, record.actorUser, record.actorRoles,
            record.action, record.patientId, record.revision, record.input, record.prevHash, record.hash,
            record.format.rawValue, record.version, Data(record.storedOutput), record.outputDictionary,
        ])
        if !subjects.isEmpty {
            let statement = try db.cachedStatement(
                sql: "INSERT INTO audit_subjects (seq, subject, status) VALUES (?, ?, ?)")
            for (subject, status) in subjects {
                try statement.execute(arguments: [record.seq, subject, status])
            }
        }
        state.advance(to: ChainHead(seq: record.seq, hash: record.hash))
        return record
    }

    /// Archives a rules revision and its compression dictionary (once; later loads of the same
    /// revision change nothing).
    public func archive(rules: ArchivedRules, at: Instant) throws {
        try db.cachedStatement(
            sql: "INSERT OR IGNORE INTO rules_revisions (revision, sources, packs, first_loaded_at) VALUES (?, ?, ?, ?)"
        ).execute(arguments: [rules.revision, rules.sourcesJSON, rules.packsJSON, at.millisecondsSinceEpoch])
        try db.cachedStatement(
            sql: "INSERT OR IGNORE INTO audit_dictionaries (id, revision, created_at, bytes) VALUES (?, ?, ?, ?)"
        ).execute(arguments: [
            rules.dictionary.id, rules.revision, at.millisecondsSinceEpoch, Data(rules.dictionary.bytes),
        ])
    }
}

/// A v2 output as stored: zstd bytes, and the dictionary they were compressed against.
struct CompressedOutput: Sendable {
    var bytes: [UInt8]
    var dictionary: String?

    init(_ text: String, dictionary: AuditDictionary?) throws {
        bytes = try AuditCompression.compress(text, dictionary: dictionary)
        self.dictionary = dictionary?.id
    }

    /// `json`: canonical JSON as UTF-8 bytes.
    init(json: [UInt8], dictionary: AuditDictionary?) throws {
        bytes = try AuditCompression.compress(json, dictionary: dictionary)
        self.dictionary = dictionary?.id
    }
}

/// A rules revision ready for the archive, with the dictionary its evaluations are compressed against.
public struct ArchivedRules: Sendable {
    public var revision: String
    public var sourcesJSON: String
    public var packsJSON: String
    public var dictionary: AuditDictionary

    public init(rules: CompiledRules, sources: [RuleSource]) throws {
        revision = rules.revision
        sourcesJSON = try CanonicalJSON.encode(sources.map { ["name": $0.name, "contents": $0.contents] })
        packsJSON = try CanonicalJSON.encode(rules.packs)
        dictionary = try AuditDictionary(rules: rules)
    }
}

enum StoredEvents {
    /// Decodes an event stored at ingestion. They were validated then, so a failure here means the
    /// database was changed behind the daemon's back (or a vocabulary was removed).
    static func decode(_ body: String) throws -> Event {
        let json = try JSONDecoder().decode(JSONValue.self, from: Data(body.utf8))
        do { return try EventDecoder.decode(json) } catch {
            throw StorageUnavailable(description: "a stored event no longer validates: \(error)")
        }
    }
}
