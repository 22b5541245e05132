import GRDB
import PathwayAPI
import PathwayCore

extension WriteTransaction {
    /// Stores what a tumor board did with a recommendation, beside its audit record.
    public func recordFeedback(
        decisionId: String, about: String, patientId: String, at: Instant, pathway: String?, optionId: String,
        optionStatus: String, outcome: String, reasonCode: String?
    ) throws {
        try db.execute(
            sql: """
                INSERT INTO feedback (decision_id, about_decision_id, patient_id, at, pathway, option_id, option_status,
                                      outcome, reason_code)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                decisionId, about, patientId, at.millisecondsSinceEpoch, pathway, optionId, optionStatus, outcome,
                reasonCode,
            ])
    }
}

extension Store {
    /// Feedback counts with `at` in [since, until): per pathway, per option and per override reason.
    /// On pathway means accepted, for an option the decision had recommended or offered to consider.
    public func adherence(since: Int64?, until: Int64?) async throws -> [AdherenceReportV1.Row] {
        try await read { db in
            let onPathway = "outcome = 'accepted' AND option_status IN ('recommended', 'consider')"
            let window = "at >= ? AND at < ?"
            let arguments: StatementArguments = [since ?? Int64.min, until ?? Int64.max]
            func rows(_ dimension: String, _ key: String, where extra: String = "1") throws -> [AdherenceReportV1.Row] {
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT \(key) AS value, COUNT(*) AS total, SUM(CASE WHEN \(onPathway) THEN 1 ELSE 0 END) AS on_pathway,
                               SUM(CASE WHEN outcome = 'overridden' THEN 1 ELSE 0 END) AS overridden
                        FROM feedback WHERE \(window) AND \(extra) GROUP BY \(key) ORDER BY \(key)
                        """, arguments: arguments
                ).map { row in
                    AdherenceReportV1.Row(
                        dimension: dimension, value: row["value"] ?? "(none)", total: row["total"],
                        onPathway: row["on_pathway"], overridden: row["overridden"])
                }
            }
            return try rows("all", "'all'") + rows("pathway", "pathway") + rows("option", "option_id")
                + rows("reason", "reason_code", where: "reason_code IS NOT NULL")
        }
    }
}
