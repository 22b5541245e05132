import Foundation
import GRDB
import PathwayAPI
import PathwayCore

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
            var previousHash = Array(previous.hash.utf8)
            // The first record to name each dictionary: each must still be there, with its bytes.
            var dictionaryUse: [String: (seq: Int64, decisionId: String)] = [:]
            while let row = try cursor.next() {
                func text(_ index: Int) -> Data? { row[index] }
                let seq: Int64 = row[0] ?? 0
                var decisionId: String { String(decoding: text(1) ?? Data(), as: UTF8.self) }
                let hash = text(12) ?? Data()
                count += 1
                if seq != previous.seq + 1 {
                    return (
                        count, previous,
                        .init(
                            seq: seq, decisionId: decisionId, problem: "order",
                            message: "record \(seq) follows record \(previous.seq): records are missing or out of order"
                        )
                    )
                }
                guard (text(11) ?? Data()).withUnsafeBytes({ $0.elementsEqual(previousHash) }) else {
                    return (
                        count, previous,
                        .init(
                            seq: seq, decisionId: decisionId, problem: "link",
                            message: "record \(seq) does not link to the hash of record \(previous.seq)")
                    )
                }
                // The stored bytes are hashed as they are: a v2 output is not inflated to verify it.
                let format = text(13).map { AuditFormat(rawValue: String(decoding: $0, as: UTF8.self)) ?? .v2 } ?? .v1
                let dictionary = text(16)
                if let dictionary {
                    let id = String(decoding: dictionary, as: UTF8.self)
                    if dictionaryUse[id] == nil { dictionaryUse[id] = (seq, decisionId) }
                }
                let computed = AuditRecord.hash(
                    format: format, seq: seq, decisionId: text(1) ?? Data(), at: row[2] ?? 0, actorUid: row[3] ?? 0,
                    actorUser: text(4) ?? Data(), actorRoles: text(5) ?? Data(), action: text(6) ?? Data(),
                    patientId: text(7), revision: text(8), version: text(14), outputDictionary: dictionary,
                    input: text(9) ?? Data(), output: (format == .v1 ? text(10) : text(15)) ?? Data(),
                    prevHash: text(11) ?? Data())
                guard hash.withUnsafeBytes({ $0.elementsEqual(computed.utf8) }) else {
                    return (
                        count, previous,
                        .init(
                            seq: seq, decisionId: decisionId, problem: "content",
                            message: "record \(seq) does not match its hash: its content was changed")
                    )
                }
                if let checkpoint, checkpoint.seq == seq {
                    checkpointSeen = true
                    if checkpoint.hash != computed {
                        return (
                            count, previous,
                            .init(
                                seq: seq, decisionId: decisionId, problem: "checkpoint",
                                message: "record \(seq) has hash \(computed), the checkpoint says \(checkpoint.hash)")
                        )
                    }
                }
                previous.seq = seq
                previousHash = Array(hash)
            }
            previous.hash = String(decoding: previousHash, as: UTF8.self)
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
