import PathwayAPI

/// The evaluation as a tumor board reads it in a terminal: options with every reason, trials with
/// every criterion, what is missing, and alerts.
struct EvaluationTable {
    let evaluation: EvaluationV1

    init(_ evaluation: EvaluationV1) { self.evaluation = evaluation }

    func render() -> String {
        var lines: [String] = []
        let e = evaluation
        lines.append(
            "Patient \(e.patientId ?? "-") · pathway \(e.pathway ?? "none") · setting \(e.setting ?? "undetermined")")
        lines.append("Rules \(e.rules.revision) · evaluated at \(e.evaluatedAt)")
        let derived = e.derived.keys.sorted().map { "\($0) \(Self.text(e.derived[$0]!))" }
        lines.append("Derived: " + derived.joined(separator: " · "))
        if !e.alerts.isEmpty {
            lines.append("\nAlerts")
            for alert in e.alerts { lines.append("  [\(alert.severity)] \(alert.text)") }
        }
        lines.append("\nOptions")
        for option in e.options {
            let rank = option.rank.map { String($0) } ?? "-"
            lines.append("  \(pad(rank, 2)) \(pad(option.status, 13)) \(option.id) — \(option.label)")
            for reason in option.reasons {
                lines.append("        \(pad(reason.result, 7)) \(reason.text)\(Self.values(reason.values))")
            }
            if !option.missing.isEmpty { lines.append("        missing: \(option.missing.joined(separator: ", "))") }
            for caution in option.cautions { lines.append("        caution: \(caution.text)") }
            for evidence in option.evidence {
                let detail = [evidence.nct, evidence.level.map { "level \($0)" }].compactMap { $0 }.joined(
                    separator: ", ")
                lines.append(
                    "        evidence: \(evidence.source)\(detail.isEmpty ? "" : " (\(detail))") — \(evidence.cite)")
            }
        }
        lines.append("\nTrials")
        for trial in e.trials {
            lines.append("  \(trial.id) \(trial.acronym ?? "") — \(trial.status) (\(trial.recruitment))")
            for criterion in trial.criteria {
                lines.append(
                    "        \(pad(criterion.result, 7)) \(criterion.kind.prefix(4)) \(criterion.id): \(criterion.text) — \(criterion.reason)"
                )
            }
            for note in trial.notes { lines.append("        note: \(note)") }
        }
        if !e.missingData.isEmpty {
            lines.append("\nMissing data")
            for missing in e.missingData {
                lines.append("  \(missing.fact) ← \(missing.neededBy.joined(separator: ", "))")
            }
        }
        return lines.joined(separator: "\n")
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    private static func values(_ values: [FactValueV1]?) -> String {
        guard let values, !values.isEmpty else { return "" }
        return "  [" + values.map { "\($0.fact) = \(text($0.value))" }.joined(separator: ", ") + "]"
    }

    static func text(_ value: JSONValue) -> String {
        switch value {
        case .null: "unknown"
        case .bool(let flag): flag ? "true" : "false"
        case .number(let number):
            number.rounded() == number && abs(number) < 1e15 ? String(Int64(number)) : String(number)
        case .string(let text): text
        case .array(let items): "[" + items.map(text).joined(separator: ", ") + "]"
        case .object(let members):
            "(" + members.keys.sorted().map { "\($0) \(text(members[$0]!))" }.joined(separator: ", ") + ")"
        }
    }
}
