import PathwayAPI

/// What a what-if changes against the patient's current evaluation: options and trials whose
/// status or rank moves, each with the facts whose values moved it.
public struct WhatIfDiff: Sendable {
    public struct Change: Sendable, Hashable {
        public var id: String
        public var label: String
        public var from: String
        public var to: String
        /// `fact: before → after` for the facts the item's reasons read that changed; when they
        /// read none, every fact that changed (`direct` false).
        public var because: [String]
        public var direct: Bool
    }

    public let options: [Change]
    public let trials: [Change]
    public let summaryChanges: [String]

    public init(before: EvaluationV1, after: EvaluationV1) {
        func state(_ option: OptionV1?) -> String {
            guard let option else { return "not listed" }
            return option.rank.map { "\(option.status) #\($0)" } ?? option.status
        }
        // Every fact value either document read anywhere: a fact one item did not read before may
        // have been read by another.
        let beforeFacts = Self.facts(before)
        let afterFacts = Self.facts(after)
        func change(_ fact: String) -> String? {
            let old = beforeFacts[fact] ?? .null
            let new = afterFacts[fact] ?? .null
            return old == new ? nil : "\(fact): \(EvaluationDigest.text(old)) → \(EvaluationDigest.text(new))"
        }
        // Every fact that moved, for an item whose own reasons read none of them (a rank that
        // follows the others, a condition that shows no values).
        let everyChange = Set(beforeFacts.keys).union(afterFacts.keys).sorted().compactMap(change)
        func moved(_ read: [[FactValueV1]]) -> (because: [String], direct: Bool) {
            var seen = Set<String>()
            let own = read.joined().compactMap { value in seen.insert(value.fact).inserted ? change(value.fact) : nil }
            return own.isEmpty ? (everyChange, false) : (own, true)
        }
        // The items of both documents by id whose state differs, each with the facts that moved it.
        func changes<Item>(
            _ old: [Item], _ new: [Item], id: (Item) -> String, label: (Item) -> String, state: (Item?) -> String,
            values: (Item) -> [[FactValueV1]]
        ) -> [Change] {
            let before = Dictionary(old.map { (id($0), $0) }, uniquingKeysWith: { a, _ in a })
            let after = Dictionary(new.map { (id($0), $0) }, uniquingKeysWith: { a, _ in a })
            return Self.ids(old.map(id), new.map(id)).compactMap { key in
                let (was, now) = (before[key], after[key])
                guard state(was) != state(now) else { return nil }
                let why = moved((now.map(values) ?? []) + (was.map(values) ?? []))
                return Change(
                    id: key, label: label((now ?? was)!), from: state(was), to: state(now), because: why.because,
                    direct: why.direct)
            }
        }
        let options = changes(
            before.options, after.options, id: \.id, label: \.label, state: state,
            values: { $0.reasons.compactMap(\.values) })
        let trials = changes(
            before.trials, after.trials, id: \.id, label: { $0.acronym ?? $0.id },
            state: { $0?.status ?? "not listed" }, values: { $0.criteria.compactMap(\.values) })
        self.options = options
        self.trials = trials
        var summaryChanges: [String] = []
        if before.pathway != after.pathway {
            summaryChanges.append("pathway: \(before.pathway ?? "none") → \(after.pathway ?? "none")")
        }
        if before.setting != after.setting {
            summaryChanges.append("setting: \(before.setting ?? "undetermined") → \(after.setting ?? "undetermined")")
        }
        self.summaryChanges = summaryChanges
    }

    public var isEmpty: Bool { options.isEmpty && trials.isEmpty && summaryChanges.isEmpty }

    public func render(width: Int = 100) -> String {
        var out = TextLayout(width: width)
        if isEmpty {
            out.line("No change: every option and trial keeps its status and rank.")
            return out.text
        }
        for change in summaryChanges { out.line(change) }
        if !options.isEmpty {
            out.line("Options that change")
            for change in options {
                out.line("  \(change.label): \(change.from) → \(change.to)")
                if !change.because.isEmpty { out.line("      " + Self.reason(change)) }
            }
        }
        if !trials.isEmpty {
            out.line("Trials that change")
            for change in trials {
                out.line("  \(change.label) (\(change.id)): \(change.from) → \(change.to)")
                if !change.because.isEmpty { out.line("      " + Self.reason(change)) }
            }
        }
        return out.text
    }

    /// `because ecog: 0 → 2`, or for an item whose own reasons read none of the facts that moved
    /// (a rank that follows the others), `after ecog: 0 → 2`.
    private static func reason(_ change: Change) -> String {
        (change.direct ? "because " : "after ") + change.because.joined(separator: "; ")
    }

    /// Ids in the order of `after`, then those only in `before`.
    private static func ids(_ before: [String], _ after: [String]) -> [String] {
        var seen = Set<String>()
        return (after + before).filter { seen.insert($0).inserted }
    }

    /// Every fact value the document's reasons and criteria read.
    private static func facts(_ evaluation: EvaluationV1) -> [String: JSONValue] {
        var facts: [String: JSONValue] = [:]
        for option in evaluation.options {
            for value in option.reasons.compactMap(\.values).joined() { facts[value.fact] = value.value }
        }
        for trial in evaluation.trials {
            for value in trial.criteria.compactMap(\.values).joined() { facts[value.fact] = value.value }
        }
        return facts
    }
}
