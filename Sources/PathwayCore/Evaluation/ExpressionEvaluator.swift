/// The facts of one evaluation, by slot, with what is missing behind each unknown derived fact.
struct Environment {
    var values: [FactValue?]
    /// By slot, for a derived fact that is unknown: the facts that would decide it.
    var missingBehind: [[Int]?]
    /// By slot, the list of that slot alone: what an unknown fact that is not derived is missing
    /// (shared by every evaluation of a rule set, not built for each).
    let alone: [[Int]]
    /// For a score: the lowest and highest sums its undecided terms allow.
    var scoreRanges: [Int: (low: Double, high: Double)] = [:]
    /// Derived facts whose `applies` is false for this patient (a score of another disease).
    var notApplicable: Set<Int> = []
    var treatments: [TreatmentLine]
}

/// Evaluates compiled expressions over an environment with strong Kleene semantics.
/// Records every slot it reads in `trace`, which becomes a reason's `values`.
struct ExpressionEvaluator {
    var environment: Environment
    var trace: [Int] = []
    private var line: TreatmentLine?

    init(environment: Environment) {
        self.environment = environment
    }

    mutating func evaluate(_ expr: Expr) -> Outcome {
        switch expr {
        case .literal(let value):
            return .known(value)
        case .slot(let slot):
            trace.append(slot)
            if let value = environment.values[slot] { return .known(value) }
            return .unknown(environment.missingBehind[slot] ?? environment.alone[slot])
        case .field(let field):
            return fieldValue(field)
        case .not(let inner):
            return evaluate(inner).negated
        case .negate(let inner):
            return number(inner) { .known(.number(-$0)) }
        case .binary(.and, let lhs, let rhs):
            return Outcome.both(evaluate(lhs), evaluate(rhs))
        case .binary(.or, let lhs, let rhs):
            return Outcome.either(evaluate(lhs), evaluate(rhs))
        case .binary(let op, let lhs, let rhs):
            let l = evaluate(lhs)
            let r = evaluate(rhs)
            return Self.binary(op, l, r)
        case .inList(let lhs, let items, let negated):
            let value = evaluate(lhs)
            var found = Outcome.false
            for item in items {
                let candidate = evaluate(item)
                found = Outcome.either(found, Self.binary(.equal, value, candidate))
                if found.bool == true { break }
            }
            return negated ? found.negated : found
        case .between(let value, let low, let high):
            let v = evaluate(value)
            let l = evaluate(low)
            let h = evaluate(high)
            return Outcome.both(Self.binary(.greaterOrEqual, v, l), Self.binary(.lessOrEqual, v, h))
        case .isKnown(let inner, let negated):
            let known: Bool
            if case .known = evaluate(inner) { known = true } else { known = false }
            return .known(.bool(known != negated))
        case .has(_, let items, let any):
            // Only a treatment line's `agents` is a list of words (checked by the compiler).
            guard let agents = line?.agents else { return .unknown([]) }
            var result: Outcome = any ? .false : .true
            for item in items {
                let hit: Outcome
                if case .known(.word(let word)) = evaluate(item) {
                    hit = .known(.bool(agents.contains(word)))
                } else {
                    hit = .unknown([])
                }
                result = any ? Outcome.either(result, hit) : Outcome.both(result, hit)
            }
            return result
        case .call(let name, let arguments, _):
            var outcomes: [Outcome] = []
            outcomes.reserveCapacity(arguments.count)
            for argument in arguments { outcomes.append(evaluate(argument)) }
            return Self.call(name, outcomes)
        case .aggregate(let kind, let predicate):
            return aggregate(kind, predicate)
        case .conditional(let condition, let then, let otherwise):
            switch evaluate(condition) {
            case .known(.bool(true)): return evaluate(then)
            case .known: return evaluate(otherwise)
            case .unknown(let missing):
                let a = evaluate(then)
                let b = evaluate(otherwise)
                if a == b, case .known = a { return a }
                return .unknown(missing + a.missing + b.missing)
            }
        case .name:
            // The compiler resolves every name; an unresolved one cannot be decided.
            return .unknown([])
        }
    }

    private mutating func number(_ expr: Expr, _ body: (Double) -> Outcome) -> Outcome {
        switch evaluate(expr) {
        case .known(.number(let value)): body(value)
        case .known: .unknown([])
        case .unknown(let missing): .unknown(missing)
        }
    }

    private static func binary(_ op: Expr.BinaryOp, _ lhs: Outcome, _ rhs: Outcome) -> Outcome {
        guard case .known(let l) = lhs, case .known(let r) = rhs else { return .unknown(lhs.missing + rhs.missing) }
        switch (l, r) {
        case (.number(let a), .number(let b)):
            switch op {
            case .add: return .known(.number(a + b))
            case .subtract: return .known(.number(a - b))
            case .multiply: return .known(.number(a * b))
            case .divide: return b == 0 ? .unknown([]) : .known(.number(a / b))
            default: return compareNumbers(op, a, b)
            }
        case (.instant(let a), .instant(let b)):
            return compare(op, a, b)
        default:
            switch op {
            case .equal: return .known(.bool(l == r))
            case .notEqual: return .known(.bool(l != r))
            default: return .unknown([])
            }
        }
    }

    /// Numbers are compared at 12 significant digits, so that arithmetic in binary floating point
    /// cannot move a value across a threshold written in decimal: 1.5 × ULN computed as
    /// 1.5000000000000002 still passes "≤ 1.5". Lab values carry at most a handful of digits.
    private static func compareNumbers(_ op: Expr.BinaryOp, _ a: Double, _ b: Double) -> Outcome {
        compare(op, decimal(a), decimal(b))
    }

    static func decimal(_ value: Double) -> Double {
        guard value.isFinite, value != 0 else { return value }
        let magnitude = value.log10Floor
        guard abs(magnitude) < 200 else { return value }
        let scale = pow10(11 - magnitude)
        return (value * scale).rounded() / scale
    }

    private static func compare<T: Comparable>(_ op: Expr.BinaryOp, _ a: T, _ b: T) -> Outcome {
        switch op {
        case .equal: .known(.bool(a == b))
        case .notEqual: .known(.bool(a != b))
        case .less: .known(.bool(a < b))
        case .lessOrEqual: .known(.bool(a <= b))
        case .greater: .known(.bool(a > b))
        case .greaterOrEqual: .known(.bool(a >= b))
        default: .unknown([])
        }
    }

    private static func call(_ name: String, _ arguments: [Outcome]) -> Outcome {
        var known: [FactValue] = []
        for argument in arguments {
            guard case .known(let value) = argument else { return .unknown(arguments.flatMap(\.missing)) }
            known.append(value)
        }
        switch (name, known.first, known.last) {
        case ("years", .instant(let from)?, .instant(let to)?):
            return .known(.number(Double(from.utcDate.completedYears(until: to.utcDate))))
        case ("months", .instant(let from)?, .instant(let to)?):
            return .known(.number(Double(from.completedMonths(until: to))))
        case ("round", .number(let value)?, _):
            return .known(.number(value.rounded()))
        case ("min", _, _), ("max", _, _):
            let numbers = known.compactMap { if case .number(let n) = $0 { n } else { nil } }
            guard let result = name == "min" ? numbers.min() : numbers.max() else { return .unknown([]) }
            return .known(.number(result))
        default:
            return .unknown([])
        }
    }

    private mutating func aggregate(_ kind: Expr.Aggregate, _ predicate: Expr) -> Outcome {
        let outer = line
        defer { line = outer }
        var found = Outcome.false
        var count = 0
        var missing: [Int] = []
        for index in environment.treatments.indices {
            line = environment.treatments[index]
            let outcome = evaluate(predicate)
            switch outcome.bool {
            case true?: count += 1
            case false?: break
            case nil: missing += outcome.missing
            }
            found = Outcome.either(found, outcome)
        }
        if kind == .exists { return found }
        return missing.isEmpty && found.bool != nil ? .known(.number(Double(count))) : .unknown(missing)
    }

    private func fieldValue(_ field: TreatmentField) -> Outcome {
        guard let line else { return .unknown([]) }
        let missing = Outcome.unknown([-(TreatmentField.allCases.firstIndex(of: field)! + 1)])
        switch field {
        case .kind: return .known(.word(line.kind))
        case .status: return .known(.word(line.status))
        case .setting: return line.setting.map { .known(.word($0)) } ?? missing
        case .procedure: return line.procedure.map { .known(.word($0)) } ?? missing
        case .site: return line.site.map { .known(.word($0)) } ?? missing
        case .prophylacticTract: return line.prophylacticTract.map { .known(.bool($0)) } ?? missing
        case .cycles: return line.cycles.map { .known(.number(Double($0))) } ?? missing
        case .progressed: return .known(.bool(line.progressionAt != nil))
        case .startedAt: return .known(.instant(line.startedAt))
        case .lastAt: return .known(.instant(line.lastAt))
        case .progressionAt: return line.progressionAt.map { .known(.instant($0)) } ?? missing
        case .agents: return .unknown([])
        }
    }
}

extension Double {
    /// ⌊log10(|self|)⌋ for a finite non-zero value, without Foundation.
    fileprivate var log10Floor: Int {
        var exponent = 0
        var value = abs(self)
        while value >= 10 { value /= 10; exponent += 1 }
        while value < 1 { value *= 10; exponent -= 1 }
        return exponent
    }
}

/// 10^exponent (exact for 0…22), without Foundation.
func pow10(_ exponent: Int) -> Double {
    var result = 1.0
    if exponent >= 0 {
        for _ in 0..<exponent { result *= 10 }
    } else {
        for _ in 0..<(-exponent) { result /= 10 }
    }
    return result
}
