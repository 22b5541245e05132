import PathwayAPI

/// A compiled, immutable rule set: one revision. Build it with `RuleCompiler.compile`, evaluate
/// patients with `evaluate(_:context:)`; share it freely between threads.
public struct CompiledRules: Sendable {
    /// `sha256:` over the canonical sources: the same sources always give the same revision.
    public let revision: String
    public let packs: [RulesInfoV1.Pack]
    public let tests: [PackTest]
    public let terminology: [TerminologyEntry]

    let slots: SlotTable
    let derivations: [Derivation]
    let outputs: [DerivedOutput]
    let pathways: [Pathway]
    let trials: [Trial]
    let alerts: [AlertRule]
    let parameters: [Parameter]

    /// How much the rule set holds, for `GET /v1/rules` and `rules check`.
    public var counts: [String: Int] {
        [
            "packs": packs.count, "pathways": pathways.count,
            "options": pathways.reduce(0) { $0 + $1.options.count }, "trials": trials.count,
            "criteria": trials.reduce(0) { $0 + $1.criteria.count }, "derivedFacts": derivations.count,
            "alerts": alerts.count, "tests": tests.count, "terminology": terminology.count,
        ]
    }

    /// The declared parameters with their allowed values and defaults.
    public var parameterDefaults: [String: String] {
        Dictionary(uniqueKeysWithValues: parameters.map { ($0.id, $0.defaultValue) })
    }
}

/// Names, types and indexes of every fact a rule can read: catalog facts, derived facts,
/// parameters and `now`. Evaluation reads facts by index only.
struct SlotTable: Sendable {
    var names: [String] = []
    var types: [ValueType] = []
    var index: [String: Int] = [:]

    @discardableResult
    mutating func add(_ name: String, _ type: ValueType) -> Int {
        if let existing = index[name] { return existing }
        index[name] = names.count
        names.append(name)
        types.append(type)
        return names.count - 1
    }
}

/// A condition as written, compiled, with the text a tumor board reads.
struct Condition: Sendable {
    var expr: Expr
    /// The expression as written in the pack.
    var source: String
    /// The human sentence, when the author gave one.
    var text: String?
    var at: SourceLocation
}

struct Derivation: Sendable {
    enum Kind: Sendable {
        case expression(Expr, round: Int?)
        /// The first case whose condition holds gives the value; an unknown case before it makes the result unknown.
        case cases([(Condition, FactValue)], otherwise: FactValue?)
        /// A weighted sum with a threshold: a class is definite when unknown terms cannot move the sum across it.
        case score(terms: [ScoreTerm], threshold: Double, above: String, atOrBelow: String, classSlot: Int)
        case staging(tables: [StagingTable], editionSlot: Int, fromSlot: Int)
    }

    var slot: Int
    var kind: Kind
}

struct ScoreTerm: Sendable {
    var condition: Condition
    var weight: Double
    var cite: String
}

struct StagingTable: Sendable {
    struct Row: Sendable {
        var group: String
        var t: [String]
        var n: [String]
        var m: [String]
    }

    var edition: String
    var cite: String
    var rows: [Row]
}

/// How a derived fact appears in the evaluation's `derived` object.
struct DerivedOutput: Sendable {
    enum Shape: Sendable {
        case plain(Int)
        case measured(Int, unit: String, method: String?)
        case score(Int, classSlot: Int, classKey: String)
        case stage(groupSlot: Int, editionSlot: Int, fromSlot: Int)
    }

    var key: String
    var shape: Shape
}

struct Pathway: Sendable {
    var id: String
    var label: String
    var applies: Condition
    var settings: [Setting]
    var options: [Option]
}

struct Setting: Sendable {
    var id: String
    var label: String
    var when: Condition
}

struct Option: Sendable {
    enum Strength: String, Sendable { case recommended, consider }

    var id: String
    var label: String
    var kind: String
    /// The settings the option belongs to; nil means every setting of its pathway.
    var settings: Set<String>?
    var requires: [Condition]
    var strength: Strength
    /// Conditions that lower `recommended` to `consider`, each with the caution that says why.
    var considerIf: [(Condition, CautionV1)]
    /// The first entry whose condition holds (or has none) gives the priority; lower ranks first.
    var priority: [(Condition?, Int)]
    var evidence: [EvidenceV1]
    var cautions: [(Condition?, CautionV1)]
    /// For a trial referral: the index of the trial in `CompiledRules.trials`.
    var trial: Int?
}

struct Trial: Sendable {
    var id: String
    var acronym: String?
    var title: String
    var recruitment: String
    var cite: String
    var notes: [String]
    /// Who the trial is for (e.g. the cancer). When it fails, the other criteria are not evaluated:
    /// the trial is listed as ineligible with this one reason.
    var population: Criterion?
    var criteria: [Criterion]
}

struct Criterion: Sendable {
    enum Kind: String, Sendable { case inclusion, exclusion }
    var id: String
    var kind: Kind
    var text: String
    var cite: String
    /// For an inclusion, what must hold; for an exclusion, what excludes. Nil with `manual`.
    var when: Condition?
    /// Why the criterion can only be checked by a person; its result is always `unknown`.
    var manual: String?
}

struct AlertRule: Sendable {
    var id: String
    var severity: String
    var when: Condition
    /// Text with `{fact}` placeholders, split into literal parts and slots.
    var template: [TemplatePart]
    var cite: String?
}

enum TemplatePart: Sendable {
    case literal(String)
    case slot(Int)
}

struct Parameter: Sendable {
    var id: String
    var slot: Int
    var values: [String]
    var defaultValue: String
}

/// One entry of a terminology map: an external code and the contract fact (and value) it stands for.
public struct TerminologyEntry: Sendable, Hashable {
    public var system: String
    public var code: String
    public var display: String?
    public var fact: String
    public var value: String?
    /// `verified` or `unverified`, as in the clinical reference.
    public var status: String
    public var cite: String
}
