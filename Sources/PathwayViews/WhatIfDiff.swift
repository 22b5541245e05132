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
        var options: [Change] = []
        let beforeOptions = Dictionary(before.options.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let afterOptions = Dictionary(after.options.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        for id in Self.ids(before.options.map(\.id), after.options.map(\.id)) {
            let old = beforeOptions[id]
            let new = afterOptions[id]
            guard state(old) != state(new) else { continue }
            let why = moved(
                (new.map { $0.reasons.compactMap(\.values) } ?? [])
                    + (old.map { $0.reasons.compactMap(\.values) } ?? []))
            options.append(
                Change(
                    id: id, label: (new ?? old)!.label, from: state(old), to: state(new), because: why.because,
                    direct: why.direct))
        }
        var trials: [Change] = []
        let beforeTrials = Dictionary(before.trials.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let afterTrials = Dictionary(after.trials.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        for id in Self.ids(before.trials.map(\.id), after.trials.map(\.id)) {
            let old = beforeTrials[id]
            let new = afterTrials[id]
            guard old?.status != new?.status else { continue }
            let why = moved(
                (new.map { $0.criteria.compactMap(\.values) } ?? [])
                    + (old.map { $0.criteria.compactMap(\.values) } ?? []))
            trials.append(
                Change(
                    id: id, label: (new ?? old)!.acronym ?? id, from: old?.status ?? "not listed",
                    to: new?.status ?? "not listed", because: why.because, direct: why.direct))
        }
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
