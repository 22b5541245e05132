import Crypto
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
        var digest = Digest()
        for body in bodies { digest.append(body) }
        return digest.value
    }

    /// `digest(_:)` kept up to date one body at a time: a patient's history digest costs one
    /// body's hashing per event, not the whole history's. Sendable though swift-crypto's `SHA256`
    /// is not declared so: it is a value with copy-on-write state (`update` copies a shared
    /// context, `finalize` reads a copy), so copies on different threads never write shared state.
    public struct Digest: @unchecked Sendable {
        private var hasher = SHA256()

        public init() {}

        public mutating func append(_ body: String) {
            hasher.update(data: Array("\(body.utf8.count):".utf8))
            hasher.update(data: Array(body.utf8))
            hasher.update(data: [UInt8(ascii: "\n")])
        }

        /// `sha256:` and the hex digest of the bodies appended so far.
        public var value: String { "sha256:" + hex(hasher.finalize()) }
    }
}

/// An evaluation with everything the audit trail keeps about it.
public struct RecordedEvaluation: Sendable {
    public var evaluation: EvaluationV1
    /// The evaluation document as canonical JSON: the bytes answered and the bytes audited.
    /// Encoded on each read; the event path writes it straight into the record's output instead.
    public var json: String { get throws { try CanonicalJSON.encode(evaluation) } }
    /// What was evaluated, enough to replay it, of bounded size (v2 records):
    /// `{"evaluatedAt", "eventId"?, "events": [the bodies not stored before], "history"?:
    /// {"patientId", "count", "digest"}, "parameters"}`. `history` stands for the patient's first
    /// `count` stored events in arrival order, whose bodies the chain already holds in their own
    /// ingestion records; `digest` (`EventHistory.digest`) lets replay check it got exactly those.
    public var input: String

    /// Evaluates `bodies` (canonical events of one patient, in arrival order) at `now`. The first
    /// `referenced` of them are the stored events of `historyOf`, referenced rather than copied;
    /// `historyDigest`, when the caller keeps it, is their `EventHistory.digest`.
    public static func evaluate(
        events: [Event], bodies: [String], referenced: Int = 0, historyOf: String? = nil, historyDigest: String? = nil,
        patientId: String?, decisionId: String, now: Instant, settings: EvaluationSettings, eventId: String? = nil
    ) throws -> RecordedEvaluation {
        try evaluate(
            facts: PatientFacts(events: events, asOf: now), bodies: bodies, referenced: referenced,
            historyOf: historyOf, historyDigest: historyDigest, patientId: patientId, decisionId: decisionId, now: now,
            settings: settings, eventId: eventId)
    }

    /// As above, with the events' facts as of `now` already folded.
    public static func evaluate(
        facts: PatientFacts, bodies: [String], referenced: Int = 0, historyOf: String? = nil,
        historyDigest: String? = nil, patientId: String?, decisionId: String, now: Instant,
        settings: EvaluationSettings, eventId: String? = nil
    ) throws -> RecordedEvaluation {
        let context = EvaluationContext(
            now: now, decisionId: decisionId, patientId: patientId, parameters: settings.parameters)
        let evaluation = settings.rules.evaluate(facts, context: context)
        var input = "{\"evaluatedAt\":" + (try CanonicalJSON.encode(now.description))
        if let eventId { input += ",\"eventId\":" + (try CanonicalJSON.encode(eventId)) }
        input += ",\"events\":[" + bodies.dropFirst(referenced).joined(separator: ",") + "]"
        if referenced > 0, let historyOf {
            let history = EventHistory(
                patientId: historyOf, count: referenced,
                digest: historyDigest ?? EventHistory.digest(bodies.prefix(referenced)))
            input += ",\"history\":" + (try CanonicalJSON.encode(history))
        }
        input += ",\"parameters\":" + (try CanonicalJSON.encode(settings.parameters)) + "}"
        return RecordedEvaluation(evaluation: evaluation, input: input)
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
