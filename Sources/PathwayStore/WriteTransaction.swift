import Foundation
import GRDB
import PathwayAPI
import PathwayCore

/// What the writer keeps in memory between transactions: the chain head and recently written
/// patients' events. Used on the writer thread only.
final class WriterState: @unchecked Sendable {
    struct PatientEntry {
        var events: [Event]
        var bodies: [String]
        var summary: [String: String]
        var exists: Bool
    }

    private(set) var head: ChainHead
    private var patients: [String: PatientEntry] = [:]
    private let maxCachedPatients: Int

    init(head: ChainHead, maxCachedPatients: Int = 20_000) {
        self.head = head
        self.maxCachedPatients = maxCachedPatients
    }

    /// After a rollback: the chain head goes back, and cached patients are re-read from disk.
    func rollBack(to head: ChainHead) {
        self.head = head
        patients = [:]
    }

    func advance(to head: ChainHead) { self.head = head }

    func cached(_ id: String) -> PatientEntry? { patients[id] }

    func store(_ entry: PatientEntry, for id: String) {
        if patients[id] == nil, patients.count >= maxCachedPatients { patients = [:] }
        patients[id] = entry
    }
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
        let head = state.head
        var record = AuditRecord(
            seq: head.seq + 1, decisionId: decisionId, at: at.millisecondsSinceEpoch, actorUid: Int64(actor.uid),
            actorUser: actor.user, actorRoles: actor.rolesText, action: action.rawValue,
            patientId: patientId, revision: revision, format: .v2, version: PathwayVersion.current, input: input,
            storedOutput: try AuditCompression.deflate(output), prevHash: head.hash, hash: "")
        record.hash = record.computedHash
        try db.cachedStatement(
            sql: """
                INSERT INTO audit (seq, decision_id, at, actor_uid, actor_user, actor_roles, action, patient_id,
                                   revision, input, output, prev_hash, hash, format, version, output_zlib)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            record.seq, record.decisionId, record.at, record.actorUid, record.actorUser, record.actorRoles,
            record.action, record.patientId, record.revision, record.input, record.prevHash, record.hash,
            record.format.rawValue, record.version, Data(record.storedOutput),
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

    /// Archives a rules revision (once; later loads of the same revision change nothing).
    public func archive(rules: ArchivedRules, at: Instant) throws {
        try db.cachedStatement(
            sql: "INSERT OR IGNORE INTO rules_revisions (revision, sources, packs, first_loaded_at) VALUES (?, ?, ?, ?)"
        ).execute(arguments: [rules.revision, rules.sourcesJSON, rules.packsJSON, at.millisecondsSinceEpoch])
    }

    /// A stored event by id: its canonical body, patient and the decision it caused.
    func storedEvent(_ id: String) throws -> (body: String, patientId: String, decisionId: String)? {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT body, patient_id, decision_id FROM events WHERE id = ?"),
                arguments: [id])
        else { return nil }
        return (row[0], row[1], row[2])
    }

    /// The patient's events in arrival order, and the summary of their last evaluation.
    func patient(_ id: String) throws -> WriterState.PatientEntry {
        if let entry = state.cached(id) { return entry }
        let bodies = try String.fetchAll(
            db.cachedStatement(sql: "SELECT body FROM events WHERE patient_id = ? ORDER BY seq"), arguments: [id])
        let events = try bodies.map(StoredEvents.decode)
        let summaryText = try String.fetchOne(
            db.cachedStatement(sql: "SELECT last_summary FROM patients WHERE id = ?"), arguments: [id])
        let summary =
            try summaryText.map { try JSONDecoder().decode([String: String].self, from: Data($0.utf8)) } ?? [:]
        return .init(events: events, bodies: bodies, summary: summary, exists: summaryText != nil)
    }
}

/// A rules revision ready for the archive.
public struct ArchivedRules: Sendable {
    public var revision: String
    public var sourcesJSON: String
    public var packsJSON: String

    public init(rules: CompiledRules, sources: [RuleSource]) throws {
        revision = rules.revision
        sourcesJSON = try CanonicalJSON.encode(sources.map { ["name": $0.name, "contents": $0.contents] })
        packsJSON = try CanonicalJSON.encode(rules.packs)
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
