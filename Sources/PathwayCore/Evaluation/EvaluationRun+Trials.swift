import PathwayAPI

/// A trial's verdict, kept for the trial list and for the option that refers to it.
struct TrialResult {
    var document: TrialV1
    var outcome: Outcome

    /// For a referral option: the verdict, then every criterion that does not pass.
    var reasons: [ReasonV1] {
        let trial = document
        let passing = trial.criteria.reduce(0) { $0 + ($1.result == "pass" ? 1 : 0) }
        var reasons = [
            ReasonV1(
                text:
                    "Trial \(trial.acronym ?? trial.id): \(trial.status), \(passing) of \(trial.criteria.count) criteria met; recruitment \(trial.recruitment)",
                result: outcome.result)
        ]
        for criterion in trial.criteria where criterion.result != "pass" {
            reasons.append(
                ReasonV1(
                    text: "\(criterion.kind) \(criterion.id): \(criterion.text) — \(criterion.reason)",
                    result: criterion.result))
        }
        if !isRecruiting {
            reasons.append(ReasonV1(text: "Trial is not recruiting (\(trial.recruitment))", result: "fail"))
        }
        return reasons
    }

    private var isRecruiting: Bool { ["recruiting", "enrolling-by-invitation"].contains(document.recruitment) }

    /// As a requirement of a referral option: the trial's verdict, and a trial that is not
    /// recruiting cannot be referred to.
    var asRequirement: Outcome {
        isRecruiting ? outcome : .false
    }
}

extension EvaluationRun {
    mutating func evaluateTrial(_ trial: Trial) -> TrialResult {
        var criteria: [CriterionV1] = []
        var outcomes: [Outcome] = []
        var missing: [Int] = []
        var evaluated: [Criterion] = []
        if let population = trial.population { evaluated.append(population) }
        let outside = trial.population?.when.map { evaluator.evaluate($0.expr).bool == false } ?? false
        // Outside the population, one reason says why; the other criteria are not evaluated.
        if !outside { evaluated += trial.criteria }
        for criterion in evaluated {
            let result: Outcome
            let reason: String
            var values: [FactValueV1]?
            if let manual = criterion.manual {
                result = .unknown([])
                reason = "Needs review: \(manual)"
            } else if let when = criterion.when {
                evaluator.trace.removeAll(keepingCapacity: true)
                let outcome = evaluator.evaluate(when.expr)
                result = criterion.kind == .inclusion ? outcome : outcome.negated
                values = traceValues()
                switch result {
                case .unknown(let m):
                    missing += m
                    let named = names(m)
                    reason =
                        named.isEmpty
                        ? "Cannot be decided from the recorded facts" : "Not recorded: \(named.joined(separator: ", "))"
                case .known:
                    reason = describe(values) ?? (criterion.kind == .inclusion ? "Holds" : "Does not apply")
                }
            } else {
                result = .unknown([])
                reason = "No rule"
            }
            outcomes.append(result)
            criteria.append(
                CriterionV1(
                    id: criterion.id, kind: criterion.kind.rawValue, text: criterion.text, result: result.result,
                    reason: reason, cite: criterion.cite, values: values, reference: criterion.reference))
        }
        let verdict = Outcome.all(outcomes)
        let status: String =
            switch verdict.bool {
            case true?: "eligible"
            case false?: "ineligible"
            case nil: "potentially-eligible"
            }
        if verdict.bool == nil { note(missing, neededBy: "trial:\(trial.id)") }
        var document = TrialV1(
            id: trial.id, acronym: trial.acronym, title: trial.title, recruitment: trial.recruitment, status: status,
            criteria: criteria, cite: trial.cite, notes: trial.notes)
        document.url = trial.url
        if outside { document.outsidePopulation = true }
        return TrialResult(document: document, outcome: verdict)
    }

    /// `staging.tnm9.t = T2; performance-status = 1`.
    private func describe(_ values: [FactValueV1]?) -> String? {
        guard let values, !values.isEmpty else { return nil }
        var text = ""
        for (index, item) in values.enumerated() {
            if index > 0 { text += "; " }
            text += item.fact
            switch item.value {
            case .string(let word): text += " = " + word
            case .number(let number): text += " = " + formatNumber(number)
            case .bool(let flag): text += flag ? " = true" : " = false"
            default: text += " unknown"
            }
        }
        return text
    }
}
