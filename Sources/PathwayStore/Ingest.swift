import Crypto
import Foundation
import GRDB
import PathwayAPI
import PathwayCore

/// A validated event with its canonical JSON (sorted keys), the form it is stored and compared in.
public struct IncomingEvent: Sendable {
    public var event: Event
    public var canonical: String

    public init(event: Event, canonical: String) {
        self.event = event
        self.canonical = canonical
    }
}

/// The rules snapshot and parameters one request evaluates with.
public struct EvaluationSettings: Sendable {
    public var rules: CompiledRules
    public var parameters: [String: String]

    public init(rules: CompiledRules, parameters: [String: String]) {
        self.rules = rules
        self.parameters = parameters
    }
}

/// A reference to a patient's first `count` stored events (arrival order).
public struct EventHistory: Codable, Sendable, Hashable {
    public var patientId: String
    public var count: Int
    public var digest: String

    public init(patientId: String, count: Int, digest: String) {
        self.patientId = patientId
        self.count = count
        self.digest = digest
    }

    /// `sha256:` and the hex SHA-256 of the bodies, each written as `<byte length>:<body>\n`.
    public static func digest(_ bodies: some Sequence<String>) -> String {
        var hasher = SHA256()
        for body in bodies {
            hasher.update(data: Array("\(body.utf8.count):".utf8))
            hasher.update(data: Array(body.utf8))
            hasher.update(data: [UInt8(ascii: "\n")])
        }
        return "sha256:" + hex(hasher.finalize())
    }
}

/// An evaluation with everything the audit trail keeps about it.
public struct RecordedEvaluation: Sendable {
    public var evaluation: EvaluationV1
    /// The evaluation document as canonical JSON: the bytes answered and the bytes audited.
    public var json: String
    /// What was evaluated, enough to replay it, of bounded size (v2 records):
    /// `{"evaluatedAt", "eventId"?, "events": [the bodies not stored before], "history"?:
    /// {"patientId", "count", "digest"}, "parameters"}`. `history` stands for the patient's first
    /// `count` stored events in arrival order, whose bodies the chain already holds in their own
    /// ingestion records; `digest` (`EventHistory.digest`) lets replay check it got exactly those.
    public var input: String

    /// Evaluates `bodies` (canonical events of one patient, in arrival order) at `now`. The first
    /// `referenced` of them are the stored events of `historyOf`, referenced rather than copied.
    public static func evaluate(
        events: [Event], bodies: [String], referenced: Int = 0, historyOf: String? = nil, patientId: String?,
        decisionId: String, now: Instant, settings: EvaluationSettings, eventId: String? = nil
    ) throws -> RecordedEvaluation {
        let context = EvaluationContext(
            now: now, decisionId: decisionId, patientId: patientId, parameters: settings.parameters)
        let evaluation = settings.rules.evaluate(PatientFacts(events: events, asOf: context.now), context: context)
        var input = "{\"evaluatedAt\":" + (try CanonicalJSON.encode(now.description))
        if let eventId { input += ",\"eventId\":" + (try CanonicalJSON.encode(eventId)) }
        input += ",\"events\":[" + bodies.dropFirst(referenced).joined(separator: ",") + "]"
        if referenced > 0, let historyOf {
            let history = EventHistory(
                patientId: historyOf, count: referenced, digest: EventHistory.digest(bodies.prefix(referenced)))
            input += ",\"history\":" + (try CanonicalJSON.encode(history))
        }
        input += ",\"parameters\":" + (try CanonicalJSON.encode(settings.parameters)) + "}"
        return RecordedEvaluation(evaluation: evaluation, json: try CanonicalJSON.encode(evaluation), input: input)
    }

    /// Options by id and trials as `trial:<id>`, each with its status: what `changes` compares.
    public var summary: [String: String] {
        var summary: [String: String] = [:]
        for option in evaluation.options { summary[option.id] = option.status }
        for trial in evaluation.trials { summary["trial:" + trial.id] = trial.status }
        return summary
    }

    /// What the decision offered: options recommended or to consider, trials not ineligible.
    public var subjects: [(subject: String, status: String)] {
        evaluation.options.filter { ["recommended", "consider"].contains($0.status) && !$0.id.hasPrefix("trial:") }
            .map { ($0.id, $0.status) }
            + evaluation.trials.filter { $0.status != "ineligible" }.map { ("trial:" + $0.id, $0.status) }
    }
}

public func changes(from old: [String: String]?, to new: [String: String]) -> [ChangeV1] {
    let ids = Set(new.keys).union(old?.keys ?? [:].keys).sorted()
    return ids.compactMap { id in
        let before = old?[id]
        let after = new[id]
        return before == after ? nil : ChangeV1(id: id, from: before, to: after)
    }
}

extension Store {
    /// Stores events and the decision each causes, in one transaction with their audit records.
    /// Returns one result per event, in order; a rejected event stores nothing.
    public func ingest(
        _ items: [IncomingEvent], actor: Caller, settings: EvaluationSettings, receivedAt: Instant
    ) async throws -> [Result<EventResultV1, Rejection>] {
        try await write { transaction in
            try items.map { item in try transaction.ingest(item, actor: actor, settings: settings, at: receivedAt) }
        }
    }
}

extension WriteTransaction {
    func ingest(_ item: IncomingEvent, actor: Caller, settings: EvaluationSettings, at now: Instant) throws
        -> Result<EventResultV1, Rejection>
    {
        let event = item.event
        if let stored = try storedEvent(event.id) {
            guard stored.body == item.canonical else {
                return .failure(.eventIdConflict(eventId: event.id))
            }
            return .success(
                EventResultV1(
                    eventId: event.id, status: EventStatus.duplicate.rawValue, decisionId: stored.decisionId,
                    changes: []))
        }
        if case .retraction(let target) = event.effect {
            guard let stored = try storedEvent(target), stored.patientId == event.patientId else {
                return .failure(.unknownRetractionTarget(eventId: target, patientId: event.patientId))
            }
        }
        var entry = try patient(event.patientId)
        entry.events.append(event)
        entry.bodies.append(item.canonical)
        let decisionId = UUID().uuidString.lowercased()
        let recorded = try RecordedEvaluation.evaluate(
            events: entry.events, bodies: entry.bodies, referenced: entry.bodies.count - 1, historyOf: event.patientId,
            patientId: event.patientId, decisionId: decisionId, now: now, settings: settings, eventId: event.id)
        let summary = recorded.summary
        let result = EventResultV1(
            eventId: event.id, status: EventStatus.accepted.rawValue, decisionId: decisionId,
            changes: changes(from: entry.exists ? entry.summary : nil, to: summary))

        try db.cachedStatement(
            sql: """
                INSERT INTO events (id, patient_id, type, occurred_at, received_at, body, decision_id)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            event.id, event.patientId, event.type, event.occurredAt.millisecondsSinceEpoch,
            now.millisecondsSinceEpoch, item.canonical, decisionId,
        ])
        let summaryJSON = try CanonicalJSON.encode(summary)
        try db.cachedStatement(
            sql: """
                INSERT INTO patients (id, event_count, first_seen_at, updated_at, last_decision_id, last_summary)
                VALUES (?, 1, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET event_count = event_count + 1, updated_at = excluded.updated_at,
                    last_decision_id = excluded.last_decision_id, last_summary = excluded.last_summary
                """
        ).execute(arguments: [
            event.patientId, now.millisecondsSinceEpoch, now.millisecondsSinceEpoch, decisionId, summaryJSON,
        ])
        let output = "{\"evaluation\":" + recorded.json + ",\"response\":" + (try CanonicalJSON.encode(result)) + "}"
        try appendAudit(
            decisionId: decisionId, at: now, actor: actor, action: .event, patientId: event.patientId,
            revision: settings.rules.revision, input: recorded.input, output: output, subjects: recorded.subjects)

        entry.summary = summary
        entry.exists = true
        state.store(entry, for: event.patientId)
        return .success(result)
    }
}
