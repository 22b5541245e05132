import PathwayAPI

/// An invariant broken by one evaluation: which, by what option or trial, and why.
public struct InvariantViolation: Sendable, Hashable, CustomStringConvertible {
    public var invariant: String
    /// The option or trial that breaks it.
    public var subject: String
    public var detail: String

    public var description: String { "\(invariant): \(subject): \(detail)" }
}

extension CompiledRules {
    /// Evaluates the patient and checks every invariant of the rule set against the result.
    ///
    /// An invariant's `never` condition breaks it only when it is certainly true: an unknown fact
    /// is the options' business (they are `needs-data` or carry a check-before-start caution).
    public func violations(_ facts: PatientFacts, context: EvaluationContext) -> [InvariantViolation] {
        var run = EvaluationRun(
            rules: self, evaluator: ExpressionEvaluator(environment: environment(facts, context: context)))
        let document = run.document(context)
        let pathway = pathways.first { $0.id == document.pathway }
        let offered = document.options.filter { ["recommended", "consider"].contains($0.status) }.compactMap { wire in
            pathway?.options.first { $0.id == wire.id }.map { (wire, $0) }
        }
        var found: [InvariantViolation] = []
        for invariant in invariants {
            func report(_ subject: String, _ detail: String) {
                found.append(InvariantViolation(invariant: invariant.id, subject: subject, detail: detail))
            }
            switch invariant.check {
            case .never(let selector, let condition):
                guard run.evaluator.evaluate(condition.expr).bool == true else { continue }
                for (wire, option) in offered where option.matches(selector, pathway: document.pathway) {
                    report(wire.id, "\(wire.status) although \(condition.source)")
                }
            case .neverForEach(let conditions):
                for (item, condition) in conditions where run.evaluator.evaluate(condition.expr).bool == true {
                    for (wire, option) in offered where option.matches(.containing(item), pathway: document.pathway) {
                        report(wire.id, "\(wire.status) although \(condition.source)")
                    }
                }
            case .offeredWithoutFailingReason:
                for (wire, _) in offered {
                    for reason in wire.reasons where reason.result == "fail" {
                        report(wire.id, "\(wire.status) with a failing reason: \(reason.text)")
                    }
                }
            case .trialStatusMatchesCriteria:
                for trial in document.trials {
                    let results = Set(trial.criteria.map(\.result))
                    if trial.status == "eligible", results != ["pass"], !results.isEmpty {
                        report(trial.id, "eligible with criteria \(results.sorted().joined(separator: ", "))")
                    }
                    if trial.status == "potentially-eligible", results.contains("fail") {
                        report(trial.id, "potentially eligible with a failing criterion")
                    }
                }
            }
        }
        return found
    }
}

extension Option {
    /// Whether the option certainly contains the item (or class): some part of its regimen is
    /// that item in every alternative.
    func contains(_ item: String) -> Bool {
        regimen.contains { group in group.allSatisfy { $0.closure.contains(item) } }
    }

    func matches(_ selector: Invariant.Selector, pathway: String?) -> Bool {
        switch selector {
        case .kinds(let kinds): kinds.contains(kind)
        case .containing(let item): contains(item)
        case .modality(let modality):
            regimen.contains { group in group.allSatisfy { $0.modalities.contains(modality) } }
        case .pathway(let id): pathway == id
        }
    }
}
