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
        var events = events
        if let asOf {
            future = events.filter { $0.occurredAt > asOf }.sorted { ($0.occurredAt, $0.id) < ($1.occurredAt, $1.id) }
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
                if case .facts(let facts, _) = event.effect {
                    for (name, value) in facts.sorted(by: { $0.key < $1.key }) {
                        history.append(
                            .init(
                                fact: name, value: value, occurredAt: event.occurredAt, eventId: event.id,
                                reason: .retracted))
                    }
                }
                continue
            }
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
        for index in treatments.indices {
            treatments[index].progressionAt = progressions.first { $0 > treatments[index].startedAt }
        }
    }

    private mutating func retire(_ name: String, reason: FactHistoryEntry.Reason) {
        guard let old = current.removeValue(forKey: name) else { return }
        history.append(
            .init(fact: name, value: old.value, occurredAt: old.occurredAt, eventId: old.eventId, reason: reason))
    }

    public func value(_ name: String) -> FactValue? { current[name]?.value }
}
