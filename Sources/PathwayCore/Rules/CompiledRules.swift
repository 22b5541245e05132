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
    /// The names a missing fact can have, in name order.
    let missingNames: MissingFactNames
    /// By slot, the list of that slot alone (an unknown fact's missing list).
    let slotsAlone: [[Int]]
    /// The slot of `now`, left out of reasons' values.
    let nowSlot: Int
    /// Closed-world facts (preferences) and the slot each fills when no event set it.
    let closedWorldDefaults: [(slot: Int, value: FactValue)]
    let derivations: [Derivation]
    let outputs: [DerivedOutput]
    let pathways: [Pathway]
    let trials: [Trial]
    let alerts: [AlertRule]
    let parameters: [Parameter]
    let invariants: [Invariant]
    /// Every gate and contraindication, as declared (for the safety matrix).
    let contraindications: [Contraindication]
    /// The present/absent facts that contraindications and gates read, in name order: the
    /// summary's contraindications known present, absent or unknown.
    let contraindicationFacts: [Int]

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

/// Every name a missing fact can have — a slot's, or a treatment line's field's (`-(field + 1)`) —
/// ranked in name order, so that an evaluation gathers missing facts as numbers and names them,
/// sorted and each once, without hashing or comparing strings.
struct MissingFactNames: Sendable {
    /// The names in order, each once.
    let sorted: [String]
    private let slotRanks: [Int]
    private let fieldRanks: [Int]

    init(_ slots: SlotTable) {
        let fieldNames = TreatmentField.allCases.map(\.factName)
        sorted = Set(slots.names + fieldNames).sorted()
        let rank = Dictionary(uniqueKeysWithValues: sorted.enumerated().map { ($1, $0) })
        slotRanks = slots.names.map { rank[$0]! }
        fieldRanks = fieldNames.map { rank[$0]! }
    }

    /// The rank of a missing fact's name.
    func rank(_ missing: Int) -> Int { missing >= 0 ? slotRanks[missing] : fieldRanks[-missing - 1] }

    /// The ranks of missing facts' names, in order, each once.
    func ranks(_ missing: [Int]) -> [Int] {
        var unique: [Int] = []
        unique.reserveCapacity(missing.count)
        for rank in missing.map(rank).sorted() where rank != unique.last { unique.append(rank) }
        return unique
    }
}

// Compiled rule nodes are immutable and shared: evaluation reads them by reference, never copies them.

/// A condition as written, compiled, with the text a tumor board reads.
final class Condition: Sendable {
    let expr: Expr
    /// The expression as written in the pack.
    let source: String
    /// The human sentence, when the author gave one.
    let text: String?
    let at: SourceLocation

    init(expr: Expr, source: String, text: String?, at: SourceLocation) {
        self.expr = expr
        self.source = source
        self.text = text
        self.at = at
    }

    func with(text: String?) -> Condition { Condition(expr: expr, source: source, text: text ?? self.text, at: at) }
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
    /// For whom the fact is defined (a score derived in one disease): otherwise it has no value.
    var applies: Condition? = nil
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
    /// Shown with the value, e.g. an unconfirmed [M] weight of a score.
    var caution: CautionV1? = nil
}

struct Pathway: Sendable {
    var id: String
    var label: String
    var applies: Condition
    var settings: [Setting]
    var options: [Option]
}

final class Setting: Sendable {
    let id: String
    let label: String
    let when: Condition

    init(id: String, label: String, when: Condition) {
        self.id = id
        self.label = label
        self.when = when
    }
}

/// An option as the compiler assembles it; frozen into an `Option` when complete.
struct OptionDraft {
    var id: String
    var label: String
    var kind: String
    var settings: Set<String>?
    var regimen: [RegimenGroup] = []
    var requires: [Requirement] = []
    var strength: Option.Strength
    var considerIf: [(Condition, CautionV1)] = []
    var priority: [(Condition?, Int)] = []
    var evidence: [EvidenceV1]
    var cautions: [(Condition?, CautionV1)] = []
    var trial: Int?
}

final class Option: Sendable {
    enum Strength: String, Sendable { case recommended, consider }

    let id: String
    let label: String
    let kind: String
    /// The settings the option belongs to; nil means every setting of its pathway.
    let settings: Set<String>?
    /// What is given: each group is one item, or alternatives of which one is given.
    let regimen: [RegimenGroup]
    /// The option's own requirements, then what it inherits from its kind, modalities and regimen.
    let requires: [Requirement]
    let strength: Strength
    /// Conditions that lower `recommended` to `consider`, each with the caution that says why.
    let considerIf: [(Condition, CautionV1)]
    /// The first entry whose condition holds (or has none) gives the priority; lower ranks first.
    let priority: [(Condition?, Int)]
    let evidence: [EvidenceV1]
    let cautions: [(Condition?, CautionV1)]
    /// For a trial referral: the index of the trial in `CompiledRules.trials`.
    let trial: Int?
    /// The facts its inherited contraindications and gates read.
    let inheritedFacts: Set<Int>

    init(_ draft: OptionDraft) {
        inheritedFacts = draft.requires.reduce(into: []) { facts, requirement in
            if !requirement.inheritedFrom.isEmpty { facts.formUnion(requirement.condition.expr.slotsRead) }
        }
        id = draft.id
        label = draft.label
        kind = draft.kind
        settings = draft.settings
        regimen = draft.regimen
        requires = draft.requires
        strength = draft.strength
        considerIf = draft.considerIf
        priority = draft.priority
        evidence = draft.evidence
        cautions = draft.cautions
        trial = draft.trial
    }
}

final class Trial: Sendable {
    let id: String
    let acronym: String?
    let title: String
    let recruitment: String
    let cite: String
    /// The registry page, from the references table (none for an unconfirmed identification).
    let url: String?
    let notes: [String]
    /// Who the trial is for (e.g. the cancer). When it fails, the other criteria are not evaluated:
    /// the trial is listed as ineligible with this one reason.
    let population: Criterion?
    let criteria: [Criterion]

    init(
        id: String, acronym: String?, title: String, recruitment: String, cite: String, url: String?,
        notes: [String], population: Criterion?, criteria: [Criterion]
    ) {
        self.url = url
        self.id = id
        self.acronym = acronym
        self.title = title
        self.recruitment = recruitment
        self.cite = cite
        self.notes = notes
        self.population = population
        self.criteria = criteria
    }
}

final class Criterion: Sendable {
    enum Kind: String, Sendable { case inclusion, exclusion }
    let id: String
    let kind: Kind
    let text: String
    let cite: String
    let reference: ReferenceV1?
    /// For an inclusion, what must hold; for an exclusion, what excludes. Nil with `manual`.
    let when: Condition?
    /// Why the criterion can only be checked by a person; its result is always `unknown`.
    let manual: String?

    init(
        id: String, kind: Kind, text: String, cite: String, reference: ReferenceV1? = nil, when: Condition?,
        manual: String?
    ) {
        self.reference = reference
        self.id = id
        self.kind = kind
        self.text = text
        self.cite = cite
        self.when = when
        self.manual = manual
    }
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
    /// A contract fact, or `drug` / `procedure` (a code that names a drug id or a surgical
    /// procedure of the vocabulary, read as an allergy's substance or a treatment's procedure).
    public var fact: String
    public var value: String?
    /// `clinical` or `pathological`, for a TNM code that says which (cT, pT).
    public var method: String?
    /// `verified` or `unverified`, as in the clinical reference.
    public var status: String
    public var cite: String
}
