/// One fact as it stands, with the event it came from.
public struct FactEntry: Sendable, Hashable {
    public var value: FactValue
    public var occurredAt: Instant
    public var eventId: String
}

/// A fact that no longer counts, and why.
public struct FactHistoryEntry: Sendable, Hashable {
    public enum Reason: String, Sendable, Hashable { case superseded, retracted, cleared }
    public var fact: String
    public var value: FactValue
    public var occurredAt: Instant
    public var eventId: String
    public var reason: Reason
}

/// One line of treatment, merged from the events that describe it.
public struct TreatmentLine: Sendable, Hashable {
    public var kind: String
    public var agents: [String]
    public var setting: String?
    public var cycles: Int?
    public var procedure: String?
    public var site: String?
    public var prophylacticTract: Bool?
    public var status: String
    public var startedAt: Instant
    public var lastAt: Instant
    /// The first progression recorded after the line started, if any.
    public var progressionAt: Instant?
    public var eventIds: [String]
}

/// An event dated after the evaluation time.
public struct FutureEvent: Sendable, Hashable {
    public var eventId: String
    public var type: String
    public var occurredAt: Instant
}

/// A patient's facts, folded from events in order of occurrence (not arrival).
///
/// Treatment history is closed-world: no line recorded means no treatment. Every other fact is
/// open-world: absent from `current` means unknown.
public struct PatientFacts: Sendable, Hashable {
    public var current: [String: FactEntry] = [:]
    public var history: [FactHistoryEntry] = []
    public var treatments: [TreatmentLine] = []
    public var progressions: [Instant] = []
    /// Ids of the events that count (not retracted), in occurrence order.
    public var eventIds: [String] = []
    /// Events dated after the evaluation time: they do not count for it (an ECOG 0 dated 2062 must
    /// not outrank today's ECOG 3), and are listed so that the data error can be fixed.
    public var future: [FutureEvent] = []

    public init() {}

    /// Folds `events` (of one patient, in any order). Ties in `occurredAt` are broken by event id
    /// so that the same events always give the same facts. With `asOf`, events dated after it are
    /// set aside in `future`.
    public init(events: [Event], asOf: Instant? = nil) {
        self = Self.fold(events, asOf: asOf).facts
    }

    /// The full fold, with what `FactsFold` needs to go on one event at a time: the treatment
    /// lines by key and the greatest (occurredAt, id) folded.
    static func fold(_ events: [Event], asOf: Instant?) -> (
        facts: PatientFacts, lines: [String: Int], last: (occurredAt: Instant, id: String)?
    ) {
        var facts = PatientFacts()
        var events = events
        if let asOf {
            facts.future = events.filter { $0.occurredAt > asOf }
                .sorted { ($0.occurredAt, $0.id) < ($1.occurredAt, $1.id) }
                .map { FutureEvent(eventId: $0.id, type: $0.type, occurredAt: $0.occurredAt) }
            events.removeAll { $0.occurredAt > asOf }
        }
        var retractedBy: [String: String] = [:]
        for event in events {
            if case .retraction(let target) = event.effect { retractedBy[target] = event.id }
        }
        let ordered = events.sorted { ($0.occurredAt, $0.id) < ($1.occurredAt, $1.id) }
        var lines: [String: Int] = [:]
        for event in ordered {
            if retractedBy[event.id] != nil {
                if case .facts(let values, _) = event.effect {
                    for (name, value) in values.sorted(by: { $0.key < $1.key }) {
                        facts.history.append(
                            .init(
                                fact: name, value: value, occurredAt: event.occurredAt, eventId: event.id,
                                reason: .retracted))
                    }
                }
                continue
            }
            facts.apply(event, lines: &lines)
        }
        for index in facts.treatments.indices {
            facts.treatments[index].progressionAt = facts.progressions.first {
                $0 > facts.treatments[index].startedAt
            }
        }
        return (facts, lines, ordered.last.map { ($0.occurredAt, $0.id) })
    }

    /// Folds one event that counts (not retracted), after every event folded before it.
    /// Progressions are linked to treatment lines afterwards (`fold`) or by the caller.
    private mutating func apply(_ event: Event, lines: inout [String: Int]) {
        eventIds.append(event.id)
        switch event.effect {
        case .facts(let facts, let cleared):
            for (name, value) in facts.sorted(by: { $0.key < $1.key }) {
                retire(name, reason: .superseded)
                current[name] = FactEntry(value: value, occurredAt: event.occurredAt, eventId: event.id)
            }
            for name in cleared { retire(name, reason: .cleared) }
        case .treatment(let record):
            if let index = lines[record.lineKey] {
                treatments[index].status = record.status
                treatments[index].lastAt = event.occurredAt
                treatments[index].eventIds.append(event.id)
                if let cycles = record.cycles {
                    treatments[index].cycles = max(cycles, treatments[index].cycles ?? 0)
                }
            } else {
                lines[record.lineKey] = treatments.count
                treatments.append(
                    TreatmentLine(
                        kind: record.kind, agents: record.agents.sorted(), setting: record.setting,
                        cycles: record.cycles,
                        procedure: record.procedure, site: record.site, prophylacticTract: record.prophylacticTract,
                        status: record.status, startedAt: event.occurredAt, lastAt: event.occurredAt,
                        eventIds: [event.id]))
            }
        case .progression:
            progressions.append(event.occurredAt)
            retire("progression", reason: .superseded)
            current["progression"] = FactEntry(
                value: .instant(event.occurredAt), occurredAt: event.occurredAt, eventId: event.id)
        case .retraction:
            break
        }
    }

    /// Folds `event` after the events folded so far (`self` is their fold as of `previous`) with
    /// the work of one event, as `fold` of them all as of `asOf` would. Changes nothing and
    /// answers false where that cannot give the same facts, and the caller folds the whole
    /// history: a retraction, an event dated before one already folded, the evaluation time
    /// going back, or an event set aside as future coming due.
    mutating func append(
        _ event: Event, lines: inout [String: Int], last: inout (occurredAt: Instant, id: String)?,
        previous: Instant, asOf: Instant
    ) -> Bool {
        guard asOf >= previous, future.allSatisfy({ $0.occurredAt > asOf }) else { return false }
        if case .retraction = event.effect { return false }
        if event.occurredAt > asOf {
            future.append(FutureEvent(eventId: event.id, type: event.type, occurredAt: event.occurredAt))
            future.sort { ($0.occurredAt, $0.eventId) < ($1.occurredAt, $1.eventId) }
            return true
        }
        if let last, (event.occurredAt, event.id) <= (last.occurredAt, last.id) { return false }
        apply(event, lines: &lines)
        last = (event.occurredAt, event.id)
        // Every progression folded before is at or before this event: a new line has none after
        // its start, and a progression is the first after the start of each line still without one.
        if case .progression = event.effect {
            for index in treatments.indices
            where treatments[index].progressionAt == nil && treatments[index].startedAt < event.occurredAt {
                treatments[index].progressionAt = event.occurredAt
            }
        }
        return true
    }

    private mutating func retire(_ name: String, reason: FactHistoryEntry.Reason) {
        guard let old = current.removeValue(forKey: name) else { return }
        history.append(
            .init(fact: name, value: old.value, occurredAt: old.occurredAt, eventId: old.eventId, reason: reason))
    }

    public func value(_ name: String) -> FactValue? { current[name]?.value }
}

/// A patient's events with their facts kept folded as events arrive: one event's work per event
/// instead of the whole history's, wherever that gives exactly what `PatientFacts(events:asOf:)`
/// gives (`IncrementalFoldTests` compares the two after every event of generated histories); otherwise
/// the whole history is folded again.
public struct FactsFold: Sendable {
    /// Every event, in arrival order.
    public private(set) var events: [Event]
    private var folded: (facts: PatientFacts, asOf: Instant)?
    private var pending: [Event] = []
    private var lines: [String: Int] = [:]
    private var last: (occurredAt: Instant, id: String)?
    /// Some event is a retraction: only a full fold places it.
    private var retracting: Bool
    /// How many times the whole history was folded (tests show the other path is taken).
    private(set) var fullFolds = 0

    public init(events: [Event] = []) {
        self.events = events
        retracting = events.contains { if case .retraction = $0.effect { true } else { false } }
    }

    public mutating func append(_ event: Event) {
        events.append(event)
        pending.append(event)
        if case .retraction = event.effect { retracting = true }
    }

    /// The facts of every event appended, as of `asOf`.
    public mutating func facts(asOf: Instant) -> PatientFacts {
        if !retracting, var state = folded {
            folded = nil  // `state` is the only reference: folding appends in place
            var complete = true
            for event in pending {
                guard state.facts.append(event, lines: &lines, last: &last, previous: state.asOf, asOf: asOf) else {
                    complete = false
                    break
                }
            }
            if complete {
                state.asOf = asOf
                folded = state
                pending = []
                return state.facts
            }
        }
        let full = PatientFacts.fold(events, asOf: asOf)
        fullFolds += 1
        (folded, lines, last, pending) = ((full.facts, asOf), full.lines, full.last, [])
        return full.facts
    }
}
