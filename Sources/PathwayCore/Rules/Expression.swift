/// A condition or value in the rule language, as written and, after compilation, resolved.
///
/// The parser produces `.name` for every identifier; the compiler replaces each by a fact slot,
/// a treatment-line field or a word literal, and checks the types, so that evaluation never looks
/// anything up by name.
indirect enum Expr: Sendable, Hashable {
    enum BinaryOp: String, Sendable, Hashable {
        case and, or
        case add = "+", subtract = "-", multiply = "*", divide = "/"
        case equal = "==", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
    }

    enum Aggregate: String, Sendable, Hashable { case count, exists }

    /// An identifier before resolution; `offset` is its column within the expression text.
    case name(String, offset: Int)
    case literal(FactValue)
    case slot(Int)
    case field(TreatmentField)
    case not(Expr)
    case negate(Expr)
    case binary(BinaryOp, Expr, Expr)
    case inList(Expr, [Expr], negated: Bool)
    case between(Expr, Expr, Expr)
    case isKnown(Expr, negated: Bool)
    /// `agents has X` (all listed) or `agents has-any [X, Y]`.
    case has(Expr, [Expr], any: Bool)
    case call(String, [Expr], offset: Int)
    case aggregate(Aggregate, Expr)
    case conditional(Expr, Expr, Expr)
}

/// Fields of a treatment line, readable inside `count(treatment where …)` and `exists(…)`.
enum TreatmentField: String, Sendable, Hashable, CaseIterable {
    case kind, agents, setting, status, procedure, site, prophylacticTract, cycles, progressed
    case startedAt, lastAt, progressionAt

    var type: ValueType {
        switch self {
        case .agents: .wordSet(Vocabulary.drugs)
        default: ValueType(FactCatalog.treatmentFields[rawValue]!)
        }
    }

    /// How a missing value is named in `missing` lists.
    var factName: String { "treatment.\(rawValue)" }
}

/// The static type of an expression.
enum ValueType: Sendable, Hashable, CustomStringConvertible {
    case number, bool, instant
    case word([String])
    case wordSet([String])

    init(_ type: FactType) {
        switch type {
        case .number: self = .number
        case .bool: self = .bool
        case .instant: self = .instant
        case .word(let vocabulary): self = .word(vocabulary)
        }
    }

    var description: String {
        switch self {
        case .number: "number"
        case .bool: "boolean"
        case .instant: "date"
        case .word: "word"
        case .wordSet: "list of words"
        }
    }

    func sameKind(as other: ValueType) -> Bool {
        switch (self, other) {
        case (.number, .number), (.bool, .bool), (.instant, .instant), (.word, .word), (.wordSet, .wordSet): true
        default: false
        }
    }

    var vocabulary: [String]? {
        switch self {
        case .word(let words), .wordSet(let words): words
        default: nil
        }
    }
}

extension Expr {
    /// Every fact slot the expression reads.
    var slotsRead: Set<Int> {
        switch self {
        case .name, .literal, .field: []
        case .slot(let slot): [slot]
        case .not(let inner), .negate(let inner), .isKnown(let inner, _), .aggregate(_, let inner): inner.slotsRead
        case .binary(_, let lhs, let rhs): lhs.slotsRead.union(rhs.slotsRead)
        case .inList(let lhs, let items, _), .has(let lhs, let items, _):
            items.reduce(lhs.slotsRead) { $0.union($1.slotsRead) }
        case .between(let a, let b, let c), .conditional(let a, let b, let c):
            a.slotsRead.union(b.slotsRead).union(c.slotsRead)
        case .call(_, let arguments, _): arguments.reduce([]) { $0.union($1.slotsRead) }
        }
    }
}
