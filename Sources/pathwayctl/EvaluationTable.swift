import PathwayAPI
import PathwayViews

/// The evaluation in full (`--full`): the patient, every option with every reason, every trial
/// with every criterion, all evidence with its title and link, what is missing, and alerts.
struct EvaluationTable {
    let evaluation: EvaluationV1
    var allTrials = false

    init(_ evaluation: EvaluationV1, allTrials: Bool = false) {
        self.evaluation = evaluation
        self.allTrials = allTrials
    }

    func render() -> String {
        var lines: [String] = []
        let e = evaluation
        let digest = EvaluationDigest(e)
        lines.append("Patient \(e.patientId ?? "-") · \(digest.patientLine)")
        if e.summary != nil {
            lines += [digest.stageLine, digest.treatmentLine, digest.contraindicationLine]
        }
        lines.append("Pathway \(e.pathway ?? "none") · setting \(e.setting ?? "undetermined")")
        lines.append("Rules \(e.rules.revision) · evaluated at \(e.evaluatedAt) · decision \(e.decisionId)")
        let derived = e.derived.keys.sorted().map { "\($0) \(EvaluationDigest.text(e.derived[$0]!))" }
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
                lines.append("        evidence: \(EvaluationDigest.evidence(evidence))")
                if let note = evidence.note { lines.append("                  \(note)") }
                lines.append(
                    "                  \(evidence.title ?? evidence.cite)\(evidence.url.map { " <\($0)>" } ?? "")")
            }
        }
        lines.append("\nTrials")
        for trial in digest.trialsThatCouldApply + digest.trialsRuledOut + (allTrials ? digest.trialsForOthers : []) {
            lines.append(
                "  \(trial.id) \(trial.acronym ?? "") — \(trial.status) (\(trial.recruitment))\(trial.url.map { " <\($0)>" } ?? "")"
            )
            for criterion in trial.criteria {
                lines.append(
                    "        \(pad(criterion.result, 7)) \(criterion.kind.prefix(4)) \(criterion.id): \(criterion.text) — \(criterion.reason)"
                )
            }
            for note in trial.notes { lines.append("        note: \(note)") }
        }
        if !allTrials, !digest.trialsForOthers.isEmpty {
            lines.append(
                "  (\(digest.trialsForOthers.count) trials for other cancers not shown; --all-trials lists them)")
        }
        if !e.missingData.isEmpty {
            lines.append("\nMissing data, by what it decides")
            for missing in e.missingData {
                lines.append(
                    "  \(missing.fact) (decides \(missing.decides ?? missing.neededBy.count)) ← \(missing.neededBy.joined(separator: ", "))"
                )
            }
        }
        return lines.joined(separator: "\n")
    }

    private func pad(_ text: String, _ width: Int) -> String { TextLayout.pad(text, width) }

    private static func values(_ values: [FactValueV1]?) -> String {
        guard let values, !values.isEmpty else { return "" }
        return "  [" + values.map { "\($0.fact) = \(EvaluationDigest.text($0.value))" }.joined(separator: ", ") + "]"
    }
}
