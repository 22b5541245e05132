import PathwayAPI

/// What an evaluation is given besides the facts: the time, the decision id, parameter overrides.
public struct EvaluationContext: Sendable, Hashable {
    public var now: Instant
    public var decisionId: String
    public var patientId: String?
    /// Overrides of pack parameters (e.g. `region: fda`); values outside a parameter's list are ignored.
    public var parameters: [String: String]

    public init(now: Instant, decisionId: String, patientId: String? = nil, parameters: [String: String] = [:]) {
        self.now = now
        self.decisionId = decisionId
        self.patientId = patientId
        self.parameters = parameters
    }
}

extension CompiledRules {
    /// Places the patient's facts, `now` and the parameters in their slots, then derives facts in
    /// dependency order.
    func environment(_ facts: PatientFacts, context: EvaluationContext) -> Environment {
        var values = [FactValue?](repeating: nil, count: slots.names.count)
        for (slot, value) in closedWorldDefaults { values[slot] = value }
        for (name, entry) in facts.current {
            if let slot = slots.index[name] { values[slot] = entry.value }
        }
        values[nowSlot] = .instant(context.now)
        for parameter in parameters {
            let chosen = context.parameters[parameter.id].flatMap { parameter.values.contains($0) ? $0 : nil }
            values[parameter.slot] = .word(chosen ?? parameter.defaultValue)
        }
        var evaluator = ExpressionEvaluator(
            environment: Environment(
                values: values, missingBehind: [[Int]?](repeating: nil, count: values.count), alone: slotsAlone,
                treatments: facts.treatments))
        for derivation in derivations { derive(derivation, &evaluator) }
        return evaluator.environment
    }

    private func derive(_ derivation: Derivation, _ evaluator: inout ExpressionEvaluator) {
        func set(_ slot: Int, _ outcome: Outcome) {
            switch outcome {
            case .known(let value): evaluator.environment.values[slot] = value
            case .unknown(let missing): evaluator.environment.missingBehind[slot] = missing
            }
        }
        if let applies = derivation.applies {
            switch evaluator.evaluate(applies.expr) {
            case .known(.bool(true)): break
            case .unknown(let missing):
                evaluator.environment.missingBehind[derivation.slot] = missing
                return
            case .known:
                evaluator.environment.notApplicable.insert(derivation.slot)
                evaluator.environment.missingBehind[derivation.slot] = []
                return
            }
        }
        switch derivation.kind {
        case .expression(let expr, let round):
            var outcome = evaluator.evaluate(expr)
            if let round, case .known(.number(let value)) = outcome {
                let scale = pow10(round)
                outcome = .known(.number((value * scale).rounded() / scale))
            }
            set(derivation.slot, outcome)
        case .cases(let cases, let otherwise):
            var result: Outcome = otherwise.map { .known($0) } ?? .unknown([])
            for (condition, value) in cases {
                let outcome = evaluator.evaluate(condition.expr)
                if outcome.bool == true { result = .known(value); break }
                if case .unknown(let missing) = outcome { result = .unknown(missing); break }
            }
            set(derivation.slot, result)
        case .score(let terms, let threshold, let above, let atOrBelow, let classSlot):
            var sum = 0.0
            var undecided = 0.0
            var missing: [Int] = []
            for term in terms {
                switch evaluator.evaluate(term.condition.expr) {
                case .known(.bool(true)): sum += term.weight
                case .known: break
                case .unknown(let m):
                    undecided += term.weight
                    missing += m
                }
            }
            sum = scoreDecimals(sum)
            undecided = scoreDecimals(undecided)
            set(derivation.slot, missing.isEmpty && undecided == 0 ? .known(.number(sum)) : .unknown(missing))
            // A class is definite when the undecided terms cannot carry the sum across the threshold.
            if sum > threshold {
                set(classSlot, .known(.word(above)))
            } else if sum + undecided <= threshold {
                set(classSlot, .known(.word(atOrBelow)))
            } else {
                set(classSlot, .unknown(missing))
            }
            evaluator.environment.scoreRanges[derivation.slot] = (sum, sum + undecided)
        case .staging(let tables, let editionSlot, let fromSlot):
            stage(tables, groupSlot: derivation.slot, editionSlot: editionSlot, fromSlot: fromSlot, &evaluator)
        }
    }

    private func stage(
        _ tables: [StagingTable], groupSlot: Int, editionSlot: Int, fromSlot: Int,
        _ evaluator: inout ExpressionEvaluator
    ) {
        let names = ["staging.edition", "staging.t", "staging.n", "staging.m"]
        let read = names.map { slots.index[$0].flatMap { evaluator.environment.values[$0] } }
        guard case .word(let edition)? = read[0], case .word(let t)? = read[1], case .word(let n)? = read[2],
            case .word(let m)? = read[3]
        else {
            let missing = zip(names, read).filter { $0.1 == nil }.compactMap { slots.index[$0.0] }
            evaluator.environment.missingBehind[groupSlot] = missing
            return
        }
        evaluator.environment.values[editionSlot] = .word(edition)
        evaluator.environment.values[fromSlot] = .word("\(t) \(n) \(m)")
        let row = tables.first { $0.edition == edition }?.rows.first {
            $0.t.contains(t) && $0.n.contains(n) && $0.m.contains(m)
        }
        if let row {
            evaluator.environment.values[groupSlot] = .word(row.group)
        } else {
            // TX or NX without M1: the group cannot be decided until T or N is assessed.
            let undecided = [("staging.t", t == "TX"), ("staging.n", n == "NX")].filter(\.1).compactMap {
                slots.index[$0.0]
            }
            evaluator.environment.missingBehind[groupSlot] = undecided.isEmpty ? [groupSlot] : undecided
        }
    }
}
