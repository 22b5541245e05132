import PathwayAPI

/// A trial's verdict, kept for the trial list and for the option that refers to it.
struct TrialResult {
    var document: TrialV1
    var outcome: Outcome
    var reasons: [ReasonV1]

    /// As a requirement of a referral option: the trial's verdict, and a trial that is not
    /// recruiting cannot be referred to.
    var asRequirement: Outcome {
        ["recruiting", "enrolling-by-invitation"].contains(document.recruitment) ? outcome : .false
    }
}

extension EvaluationRun {
    mutating func evaluateTrial(_ trial: Trial) -> TrialResult {
        var criteria: [CriterionV1] = []
        var outcomes: [Outcome] = []
        var missing: [Int] = []
        var evaluated = trial.criteria
        if let population = trial.population {
            evaluated.insert(population, at: 0)
            if let when = population.when, evaluator.evaluate(when.expr).bool == false {
                evaluated = [population]  // outside the population: one reason says why
            }
        }
        for criterion in evaluated {
            let result: Outcome
            let reason: String
            var values: [String: JSONValue]?
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
                    reason = named.isEmpty ? "Cannot be decided from the recorded facts" : "Not recorded: \(named.joined(separator: ", "))"
                case .known:
                    reason = describe(values) ?? (criterion.kind == .inclusion ? "Holds" : "Does not apply")
                }
            } else {
                result = .unknown([])
                reason = "No rule"
            }
            outcomes.append(result)
            criteria.append(CriterionV1(
                id: criterion.id, kind: criterion.kind.rawValue, text: criterion.text, result: result.result,
                reason: reason, cite: criterion.cite, values: values))
        }
        let verdict = Outcome.all(outcomes)
        let status: String =
            switch verdict.bool {
            case true?: "eligible"
            case false?: "ineligible"
            case nil: "potentially-eligible"
            }
        if verdict.bool == nil { note(missing, neededBy: "trial:\(trial.id)") }
        let passing = criteria.filter { $0.result == "pass" }.count
        var reasons = [ReasonV1(
            text: "Trial \(trial.acronym ?? trial.id): \(status), \(passing) of \(criteria.count) criteria met; recruitment \(trial.recruitment)",
            result: verdict.result)]
        reasons += criteria.filter { $0.result != "pass" }.map {
            ReasonV1(text: "\($0.kind) \($0.id): \($0.text) — \($0.reason)", result: $0.result)
        }
        if !["recruiting", "enrolling-by-invitation"].contains(trial.recruitment) {
            reasons.append(ReasonV1(text: "Trial is not recruiting (\(trial.recruitment))", result: "fail"))
        }
        let document = TrialV1(
            id: trial.id, acronym: trial.acronym, title: trial.title, recruitment: trial.recruitment, status: status,
            criteria: criteria, cite: trial.cite, notes: trial.notes)
        return TrialResult(document: document, outcome: verdict, reasons: reasons)
    }

    /// `staging.tnm9.t = T2; performance-status = 1`.
    private func describe(_ values: [String: JSONValue]?) -> String? {
        guard let values, !values.isEmpty else { return nil }
        return values.keys.sorted().map { key in
            switch values[key]! {
            case .string(let text): "\(key) = \(text)"
            case .number(let number): "\(key) = \(formatNumber(number))"
            case .bool(let flag): "\(key) = \(flag)"
            default: "\(key) unknown"
            }
        }.joined(separator: "; ")
    }
}
