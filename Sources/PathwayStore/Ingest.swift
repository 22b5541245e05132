import Foundation
import GRDB
import PathwayAPI
import PathwayCore
import Synchronization

extension Store {
    /// Stores events and the decision each causes, each with its audit record. Returns one result
    /// per event, in order; a rejected event stores nothing.
    ///
    /// The evaluation, its canonical encoding and compression happen here, on the caller's task,
    /// not on the writer: the writer only checks the event ids are still new, appends the prepared
    /// rows, links the chain and commits. The events of one patient are taken in order, each
    /// evaluated on top of the ones before it (a patient's events wait for one another, through
    /// commit); different patients proceed in parallel. The patients cache is updated only after
    /// a commit, so a failed transaction leaves nothing behind in memory.
    public func ingest(
        _ items: [IncomingEvent], actor: Caller, settings: EvaluationSettings, receivedAt: Instant
    ) async throws -> [Result<EventResultV1, Rejection>] {
        var runs: [String: [(index: Int, item: IncomingEvent)]] = [:]
        var order: [String] = []
        for (index, item) in items.enumerated() {
            let patient = item.event.patientId
            if runs[patient] == nil { order.append(patient) }
            runs[patient, default: []].append((index, item))
        }
        var results = [Result<EventResultV1, Rejection>?](repeating: nil, count: items.count)
        try await withThrowingTaskGroup(of: [(Int, Result<EventResultV1, Rejection>)].self) { group in
            for patient in order {
                let run = runs[patient]!
                group.addTask {
                    try await self.patientLocks.withLock(patient) {
                        try await self.ingestRun(
                            patient, run, actor: actor, settings: settings, receivedAt: receivedAt)
                    }
                }
            }
            for try await done in group {
                for (index, result) in done { results[index] = result }
            }
        }
        return results.map { $0! }
    }

    /// One patient's events of a request, in order, under that patient's lock.
    private func ingestRun(
        _ patientId: String, _ run: [(index: Int, item: IncomingEvent)], actor: Caller,
        settings: EvaluationSettings, receivedAt now: Instant
    ) async throws -> [(Int, Result<EventResultV1, Rejection>)] {
        let targets = run.compactMap {
            if case .retraction(let target) = $0.item.event.effect { target } else { nil }
        }
        // Most events are new: they are evaluated without first looking their ids up, and the
        // writer, which checks every id before it appends, is the judge. When it finds one stored
        // (an id another patient holds), nothing was written and the run starts over with the ids
        // looked up. A re-post of one of the patient's own events, and a retraction's target, are
        // looked up first: a refused attempt costs the patient's history read again.
        var lookUp = !targets.isEmpty
        while true {
            var entry = try await patientEntry(patientId)
            if run.contains(where: { entry.ids.contains($0.item.event.id) }) { lookUp = true }
            let stored = lookUp ? try await storedEvents(run.map(\.item.event.id) + targets) : [:]
            var inRun: [String: (body: String, patientId: String, decisionId: String)] = [:]
            var results: [(Int, Result<EventResultV1, Rejection>)] = []
            var prepared: [PreparedEvent] = []
            let dictionary = dictionaries.committed(forRevision: settings.rules.revision)
            for (index, item) in run {
                let event = item.event
                if let earlier = stored[event.id] ?? inRun[event.id] {
                    guard earlier.body == item.canonical else {
                        results.append((index, .failure(.eventIdConflict(eventId: event.id))))
                        continue
                    }
                    let duplicate = EventResultV1(
                        eventId: event.id, status: EventStatus.duplicate.rawValue, decisionId: earlier.decisionId,
                        changes: [])
                    results.append((index, .success(duplicate)))
                    continue
                }
                if case .retraction(let target) = event.effect {
                    guard let retracted = stored[target] ?? inRun[target], retracted.patientId == patientId else {
                        results.append(
                            (index, .failure(.unknownRetractionTarget(eventId: target, patientId: patientId))))
                        continue
                    }
                }
                let (row, result) = try PreparedEvent.prepare(
                    item, after: &entry, actor: actor, settings: settings, dictionary: dictionary, receivedAt: now)
                prepared.append(row)
                inRun[event.id] = (item.canonical, patientId, row.decisionId)
                results.append((index, .success(result)))
            }
            if prepared.isEmpty {
                patientCache.store(entry, for: patientId)  // unchanged: every event was a duplicate or refused
                return results
            }
            let rows = prepared
            let committed = try await write { transaction in try transaction.append(rows) }
            // One of these ids is stored (before, or by another request in the meantime): nothing
            // was written; start over from what is stored now.
            guard committed else {
                lookUp = true
                continue
            }
            patientCache.store(entry, for: patientId)
            return results
        }
    }

    /// The patient's stored events and last summary: taken out of the cache (so that the caller's
    /// copy is the only one, and a failed write leaves nothing behind), else from the database.
    /// Only called under the patient's lock, so nothing changes them meanwhile.
    private func patientEntry(_ id: String) async throws -> PatientEntry {
        if let entry = patientCache.take(id) { return entry }
        let (bodies, summaryText) = try await read { db in
            (
                try String.fetchAll(
                    db.cachedStatement(sql: "SELECT body FROM events WHERE patient_id = ? ORDER BY seq"),
                    arguments: [id]),
                try String.fetchOne(
                    db.cachedStatement(sql: "SELECT last_summary FROM patients WHERE id = ?"), arguments: [id])
            )
        }
        let summary =
            try summaryText.map { try JSONDecoder().decode([String: String].self, from: Data($0.utf8)) } ?? [:]
        var digest = EventHistory.Digest()
        for body in bodies { digest.append(body) }
        let events = try bodies.map(StoredEvents.decode)
        return PatientEntry(
            fold: FactsFold(events: events), ids: Set(events.map(\.id)), bodies: bodies, digest: digest,
            summary: summary, exists: summaryText != nil)
    }

    /// The stored events among `ids`: body, patient and the decision each caused.
    private func storedEvents(_ ids: [String]) async throws -> [String: (
        body: String, patientId: String, decisionId: String
    )] {
        try await read { db in
            var found: [String: (body: String, patientId: String, decisionId: String)] = [:]
            let statement = try db.cachedStatement(sql: "SELECT body, patient_id, decision_id FROM events WHERE id = ?")
            for id in Set(ids) {
                if let row = try Row.fetchOne(statement, arguments: [id]) { found[id] = (row[0], row[1], row[2]) }
            }
            return found
        }
    }
}

/// A patient as the ingest path keeps it between requests: events in arrival order with their
/// facts folded, their bodies and the running digest of them, the summary of the last evaluation.
struct PatientEntry: Sendable {
    var fold: FactsFold
    /// The ids of `fold.events`.
    var ids: Set<String>
    var bodies: [String]
    var digest: EventHistory.Digest
    var summary: [String: String]
    var exists: Bool
}

/// Recently written patients, updated only after their transaction committed.
final class PatientCache: Sendable {
    private let entries = Mutex<[String: PatientEntry]>([:])
    private let limit: Int

    init(limit: Int = 20_000) { self.limit = limit }

    /// Removes and returns the entry: the caller stores it back once its write committed.
    func take(_ id: String) -> PatientEntry? { entries.withLock { $0.removeValue(forKey: id) } }

    func store(_ entry: PatientEntry, for id: String) {
        entries.withLock { entries in
            if entries[id] == nil, entries.count >= limit { entries = [:] }
            entries[id] = entry
        }
    }
}

/// One accepted event, evaluated and encoded, ready for the writer to append.
struct PreparedEvent: Sendable {
    var id: String
    var patientId: String
    var type: String
    var occurredAt: Int64
    var receivedAt: Instant
    var body: String
    var decisionId: String
    var summaryJSON: String
    var actor: Caller
    var revision: String
    var input: String
    var output: CompressedOutput
    var subjects: [(subject: String, status: String)]

    /// Evaluates the event on top of `entry`, which then includes it; compresses the output
    /// against `dictionary` (the revision's, once stored).
    static func prepare(
        _ item: IncomingEvent, after entry: inout PatientEntry, actor: Caller, settings: EvaluationSettings,
        dictionary: AuditDictionary?, receivedAt now: Instant
    ) throws -> (PreparedEvent, EventResultV1) {
        let event = item.event
        let historyDigest = entry.digest.value
        entry.fold.append(event)
        entry.ids.insert(event.id)
        entry.bodies.append(item.canonical)
        entry.digest.append(item.canonical)
        let decisionId = UUID().uuidString.lowercased()
        let recorded = try RecordedEvaluation.evaluate(
            facts: entry.fold.facts(asOf: now), bodies: entry.bodies, referenced: entry.bodies.count - 1,
            historyOf: event.patientId,
            historyDigest: historyDigest, patientId: event.patientId, decisionId: decisionId, now: now,
            settings: settings, eventId: event.id)
        let summary = recorded.summary
        let result = EventResultV1(
            eventId: event.id, status: EventStatus.accepted.rawValue, decisionId: decisionId,
            changes: changes(from: entry.exists ? entry.summary : nil, to: summary))
        entry.summary = summary
        entry.exists = true
        // `{"evaluation": …, "response": …}` written in one pass into the bytes compressed.
        var output = CanonicalJSONWriter(capacity: 131_072)
        output.raw("{\"evaluation\":")
        recorded.evaluation.write(to: &output)
        output.raw(",\"response\":")
        result.write(to: &output)
        output.raw("}")
        // A number JSON cannot hold: encoded as before, through JSONEncoder, which names it.
        let outputJSON =
            output.invalid
            ? Array(
                ("{\"evaluation\":" + (try recorded.json) + ",\"response\":" + (try CanonicalJSON.encode(result)) + "}")
                    .utf8)
            : output.bytes
        var summaryJSON = CanonicalJSONWriter(capacity: 1_024)
        summaryJSON.object(summary) { writer, status in writer.string(status) }
        let row = PreparedEvent(
            id: event.id, patientId: event.patientId, type: event.type,
            occurredAt: event.occurredAt.millisecondsSinceEpoch, receivedAt: now, body: item.canonical,
            decisionId: decisionId, summaryJSON: summaryJSON.text, actor: actor,
            revision: settings.rules.revision, input: recorded.input,
            output: try CompressedOutput(json: outputJSON, dictionary: dictionary), subjects: recorded.subjects)
        return (row, result)
    }
}

extension WriteTransaction {
    /// Appends prepared events with their records, in order; or, when one of their ids was stored
    /// since they were prepared, writes nothing and answers false.
    func append(_ rows: [PreparedEvent]) throws -> Bool {
        let exists = try db.cachedStatement(sql: "SELECT 1 FROM events WHERE id = ?")
        for row in rows where try Bool.fetchOne(exists, arguments: [row.id]) != nil { return false }
        for row in rows {
            try db.cachedStatement(
                sql: """
                    INSERT INTO events (id, patient_id, type, occurred_at, received_at, body, decision_id)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [
                row.id, row.patientId, row.type, row.occurredAt, row.receivedAt.millisecondsSinceEpoch, row.body,
                row.decisionId,
            ])
            try db.cachedStatement(
                sql: """
                    INSERT INTO patients (id, event_count, first_seen_at, updated_at, last_decision_id, last_summary)
                    VALUES (?, 1, ?, ?, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET event_count = event_count + 1, updated_at = excluded.updated_at,
                        last_decision_id = excluded.last_decision_id, last_summary = excluded.last_summary
                    """
            ).execute(arguments: [
                row.patientId, row.receivedAt.millisecondsSinceEpoch, row.receivedAt.millisecondsSinceEpoch,
                row.decisionId, row.summaryJSON,
            ])
            try appendAudit(
                decisionId: row.decisionId, at: row.receivedAt, actor: row.actor, action: .event,
                patientId: row.patientId, revision: row.revision, input: row.input, output: row.output,
                subjects: row.subjects)
        }
        return true
    }
}
