import GRDB

/// The database schema, as GRDB migrations. Migrations only ever add; a shipped one never changes.
enum Schema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            // Every accepted event, exactly as received (canonical JSON), in arrival order.
            try db.execute(
                sql: """
                    CREATE TABLE events (
                        seq INTEGER PRIMARY KEY,
                        id TEXT NOT NULL UNIQUE,
                        patient_id TEXT NOT NULL,
                        type TEXT NOT NULL,
                        occurred_at INTEGER NOT NULL,
                        received_at INTEGER NOT NULL,
                        body TEXT NOT NULL,
                        decision_id TEXT NOT NULL
                    );
                    CREATE INDEX events_by_patient ON events(patient_id, seq);

                    -- One row per patient: what the last evaluation said, for `changes`.
                    CREATE TABLE patients (
                        id TEXT PRIMARY KEY,
                        event_count INTEGER NOT NULL,
                        first_seen_at INTEGER NOT NULL,
                        updated_at INTEGER NOT NULL,
                        last_decision_id TEXT NOT NULL,
                        last_summary TEXT NOT NULL
                    );

                    -- The audit chain. Each hash covers the record and the hash before it.
                    CREATE TABLE audit (
                        seq INTEGER PRIMARY KEY,
                        decision_id TEXT NOT NULL UNIQUE,
                        at INTEGER NOT NULL,
                        actor_uid INTEGER NOT NULL,
                        actor_user TEXT NOT NULL,
                        actor_roles TEXT NOT NULL,
                        action TEXT NOT NULL,
                        patient_id TEXT,
                        revision TEXT,
                        input TEXT NOT NULL,
                        output TEXT NOT NULL,
                        prev_hash TEXT NOT NULL,
                        hash TEXT NOT NULL
                    );
                    CREATE INDEX audit_by_patient ON audit(patient_id, seq);
                    CREATE INDEX audit_by_actor ON audit(actor_user, seq);
                    CREATE INDEX audit_by_action ON audit(action, seq);
                    CREATE INDEX audit_by_revision ON audit(revision, seq);
                    CREATE INDEX audit_by_time ON audit(at);
                    CREATE TRIGGER audit_refuses_update BEFORE UPDATE ON audit
                        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
                    CREATE TRIGGER audit_refuses_delete BEFORE DELETE ON audit
                        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;

                    -- What each decision offered (options recommended/consider, trials eligible or
                    -- potentially eligible): an index for auditor queries by option or trial.
                    CREATE TABLE audit_subjects (
                        seq INTEGER NOT NULL REFERENCES audit(seq),
                        subject TEXT NOT NULL,
                        status TEXT NOT NULL,
                        PRIMARY KEY (subject, seq)
                    ) WITHOUT ROWID;
                    CREATE TRIGGER audit_subjects_refuse_update BEFORE UPDATE ON audit_subjects
                        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
                    CREATE TRIGGER audit_subjects_refuse_delete BEFORE DELETE ON audit_subjects
                        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;

                    -- Every rules revision ever loaded, with its sources, so any decision can be replayed.
                    CREATE TABLE rules_revisions (
                        revision TEXT PRIMARY KEY,
                        sources TEXT NOT NULL,
                        packs TEXT NOT NULL,
                        first_loaded_at INTEGER NOT NULL
                    );
                    CREATE TRIGGER rules_revisions_refuse_update BEFORE UPDATE ON rules_revisions
                        BEGIN SELECT RAISE(ABORT, 'the rules archive is append-only'); END;
                    CREATE TRIGGER rules_revisions_refuse_delete BEFORE DELETE ON rules_revisions
                        BEGIN SELECT RAISE(ABORT, 'the rules archive is append-only'); END;

                    -- What tumor boards did with a recommendation (contract §6), for adherence reports.
                    CREATE TABLE feedback (
                        decision_id TEXT PRIMARY KEY REFERENCES audit(decision_id),
                        about_decision_id TEXT NOT NULL,
                        patient_id TEXT NOT NULL,
                        at INTEGER NOT NULL,
                        pathway TEXT,
                        option_id TEXT NOT NULL,
                        option_status TEXT NOT NULL,
                        outcome TEXT NOT NULL,
                        reason_code TEXT
                    );
                    CREATE INDEX feedback_by_time ON feedback(at);
                    """)
        }
        migrator.registerMigration("v2-checkpoints") { db in
            // Every chain head the daemon verified and logged, so that the next start verifies
            // from there: a rewritten trail cannot be laundered by a fresh checkpoint.
            try db.execute(
                sql:
                    "CREATE TABLE audit_checkpoints (seq INTEGER NOT NULL, hash TEXT NOT NULL, at INTEGER NOT NULL, kind TEXT NOT NULL)"
            )
            try db.execute(sql: appendOnlyTriggerSQL["audit_checkpoints_refuse_update"]!)
            try db.execute(sql: appendOnlyTriggerSQL["audit_checkpoints_refuse_delete"]!)
        }
        // v2 audit records (docs/audit.md): the format tag, the daemon version, and the output
        // compressed. Adding columns rewrites no row: v1 records keep their bytes and their hashes
        // (their `format` is NULL, read as pathwayd-audit-v1).
        migrator.registerMigration("v3-audit-v2") { db in
            try db.execute(
                sql: """
                    ALTER TABLE audit ADD COLUMN format TEXT;
                    ALTER TABLE audit ADD COLUMN version TEXT;
                    ALTER TABLE audit ADD COLUMN output_zstd BLOB;
                    ALTER TABLE audit ADD COLUMN output_dictionary TEXT;
                    CREATE TABLE audit_dictionaries (
                        id TEXT PRIMARY KEY,
                        revision TEXT NOT NULL,
                        created_at INTEGER NOT NULL,
                        bytes BLOB NOT NULL
                    );
                    """)
            // v2 records reference earlier events instead of copying them: the events are kept as
            // received, as the trail is; so are the dictionaries their outputs need.
            for name in [
                "events_refuse_update", "events_refuse_delete", "audit_dictionaries_refuse_update",
                "audit_dictionaries_refuse_delete",
            ] {
                try db.execute(sql: appendOnlyTriggerSQL[name]!)
            }
        }
        return migrator
    }

    /// The triggers that keep the trail, its subjects, the rules archive, the checkpoints and the
    /// events append-only; checked at every start, recreated only by an audited override.
    static let appendOnlyTriggerSQL: [String: String] = {
        var triggers: [String: String] = [:]
        for (table, name, message) in [
            ("audit", "audit_refuses", "the audit trail is append-only"),
            ("audit_subjects", "audit_subjects_refuse", "the audit trail is append-only"),
            ("rules_revisions", "rules_revisions_refuse", "the rules archive is append-only"),
            ("audit_checkpoints", "audit_checkpoints_refuse", "the checkpoints are append-only"),
            ("events", "events_refuse", "the events are append-only: v2 audit records refer to them"),
            ("audit_dictionaries", "audit_dictionaries_refuse", "the audit dictionaries are append-only"),
        ] {
            for operation in ["update", "delete"] {
                triggers["\(name)_\(operation)"] = """
                    CREATE TRIGGER IF NOT EXISTS \(name)_\(operation) BEFORE \(operation.uppercased()) ON \(table)
                        BEGIN SELECT RAISE(ABORT, '\(message)'); END;
                    """
            }
        }
        return triggers
    }()
}
