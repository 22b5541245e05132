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
