import GRDB
import PathwayAPI

/// What the daemon checks before it serves: the append-only triggers exist, and the chain verifies
/// from the last checkpoint it recorded.
public struct IntegrityReport: Sendable {
    public var missingTriggers: [String]
    public var lastCheckpoint: ChainHead?
    public var verification: AuditVerificationV1

    public var isIntact: Bool { missingTriggers.isEmpty && verification.status == "ok" }

    /// One line naming every problem (the first broken record, the missing triggers).
    public var problems: String {
        var parts: [String] = []
        if let broken = verification.firstBroken {
            parts.append(
                "audit record \(broken.seq) (\(broken.decisionId ?? "-")): \(broken.problem): \(broken.message)")
        }
        if !missingTriggers.isEmpty {
            parts.append("append-only triggers missing: \(missingTriggers.joined(separator: ", "))")
        }
        return parts.joined(separator: "; ")
    }
}

extension Store {
    /// Checks the triggers and verifies the chain from the last recorded checkpoint (the whole
    /// chain when there is none).
    public func checkIntegrity() async throws -> IntegrityReport {
        let (present, checkpoint) = try await read { db -> (Set<String>, ChainHead?) in
            let names = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger'")
            let last = try Row.fetchOne(db, sql: "SELECT seq, hash FROM audit_checkpoints ORDER BY rowid DESC LIMIT 1")
                .map { ChainHead(seq: $0[0], hash: $0[1]) }
            return (Set(names), last)
        }
        let missing = Schema.appendOnlyTriggerSQL.keys.filter { !present.contains($0) }.sorted()
        let verification = try await verify(from: checkpoint)
        return IntegrityReport(missingTriggers: missing, lastCheckpoint: checkpoint, verification: verification)
    }

    /// Records a verified chain head (`kind`: start, stop, periodic).
    public func recordCheckpoint(_ head: ChainHead, at: Int64, kind: String) async throws {
        try await write { transaction in
            try transaction.db.execute(
                sql: "INSERT INTO audit_checkpoints (seq, hash, at, kind) VALUES (?, ?, ?, ?)",
                arguments: [head.seq, head.hash, at, kind])
        }
    }

    /// Recreates missing append-only triggers (after an audited override).
    public func restoreTriggers() async throws {
        try await write { transaction in
            for sql in Schema.appendOnlyTriggerSQL.values.sorted() { try transaction.db.execute(sql: sql) }
        }
    }
}
