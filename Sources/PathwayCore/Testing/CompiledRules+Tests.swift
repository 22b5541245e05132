import PathwayAPI

/// The outcome of one pack test: passed when `failures` is empty.
public struct PackTestResult: Sendable {
    public var name: String
    public var location: SourceLocation
    /// One line per unmet expectation, e.g. `option nivolumab-ipilimumab: status needs-data, expected recommended`.
    public var failures: [String]

    public var passed: Bool { failures.isEmpty }
}

extension CompiledRules {
    /// Runs every test case kept in the packs.
    public func runTests() -> [PackTestResult] {
        tests.map { test in
            let facts = PatientFacts(events: test.events, asOf: test.now)
            let context = EvaluationContext(
                now: test.now, decisionId: "test", patientId: "TEST", parameters: test.parameters)
            let evaluation = evaluate(facts, context: context)
            return PackTestResult(
                name: test.name, location: test.location, failures: test.expect.failures(in: evaluation))
        }
    }
}

extension Expectation {
    func failures(in evaluation: EvaluationV1) -> [String] {
        var failures: [String] = []
        func expectStatus(_ what: String, _ actual: String?, _ allowed: [String]) {
            guard !allowed.isEmpty else { return }
            let actual = actual ?? "absent"
            if !allowed.contains(actual) {
                failures.append("\(what): status \(actual), expected \(allowed.joined(separator: " or "))")
            }
        }
        if let pathway, evaluation.pathway != pathway {
            failures.append("pathway: \(evaluation.pathway ?? "none"), expected \(pathway ?? "none")")
        }
        if let setting, evaluation.setting != setting {
            failures.append("setting: \(evaluation.setting ?? "none"), expected \(setting ?? "none")")
        }
        for (fact, expected) in derived {
            let actual = derivedValue(fact, in: evaluation.derived) ?? "unknown"
            if actual != expected { failures.append("derived \(fact): \(actual), expected \(expected)") }
        }
        for (id, expect) in options {
            let option = evaluation.options.first { $0.id == id }
            if expect.absent {
                if let option { failures.append("option \(id): listed as \(option.status), expected absent") }
                continue
            }
            guard let option else {
                failures.append("option \(id): not listed")
                continue
            }
            expectStatus("option \(id)", option.status, expect.statuses)
            if let rank = expect.rank, option.rank != rank {
                failures.append("option \(id): rank \(option.rank.map(String.init) ?? "none"), expected \(rank)")
            }
            for fact in expect.missingIncludes where !option.missing.contains(fact) {
                failures.append("option \(id): missing \(option.missing), expected to include \(fact)")
            }
        }
        for (id, expect) in trials {
            guard let trial = evaluation.trials.first(where: { $0.id == id }) else {
                failures.append("trial \(id): not listed")
                continue
            }
            expectStatus("trial \(id)", trial.status, expect.statuses)
            if let recruitment = expect.recruitment, trial.recruitment != recruitment {
                failures.append("trial \(id): recruitment \(trial.recruitment), expected \(recruitment)")
            }
            if expect.noFailingCriterion {
                for criterion in trial.criteria where criterion.result == "fail" {
                    failures.append("trial \(id): criterion \(criterion.id) fails (\(criterion.reason))")
                }
            }
            for (criterionId, result) in expect.criteria {
                let actual = trial.criteria.first { $0.id == criterionId }
                if actual?.result != result {
                    failures.append(
                        "trial \(id) criterion \(criterionId): \(actual?.result ?? "absent") (\(actual?.reason ?? "")), expected \(result)"
                    )
                }
            }
        }
        let alertIds = evaluation.alerts.map(\.id)
        for alert in alerts where !alertIds.contains(alert) { failures.append("alert \(alert): not raised") }
        if noAlerts, !alertIds.isEmpty {
            failures.append("alerts raised: \(alertIds.joined(separator: ", ")), expected none")
        }
        let missingFacts = evaluation.missingData.map(\.fact)
        for fact in missingData where !missingFacts.contains(fact) {
            failures.append("missingData: \(fact) not listed (listed: \(missingFacts.joined(separator: ", ")))")
        }
        return failures
    }

    /// A derived value by fact name: `age`, `stage.group`, `eortcScore.risk`, `creatinineClearance`.
    private func derivedValue(_ fact: String, in derived: [String: JSONValue]) -> String? {
        var value: JSONValue? = derived[fact]
        if value == nil, let dot = fact.lastIndex(of: ".") {
            value = derived[String(fact[..<dot])]?[String(fact[fact.index(after: dot)...])]
        }
        if case .object = value { value = value?["value"] }
        switch value {
        case .string(let text)?: return text
        case .number(let number)?: return formatNumber(number)
        case .bool(let flag)?: return flag ? "true" : "false"
        default: return nil
        }
    }
}
