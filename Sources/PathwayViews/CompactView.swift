import PathwayAPI

/// The evaluation as a tumor board reads it on one screen (≤ 60 lines of ≤ 100 columns for the
/// example cases): the patient, the options it can offer ranked with one line of why, what waits
/// for data, the trials that could apply, what is missing by impact, and alerts.
public struct CompactView: Sendable {
    public var digest: EvaluationDigest
    /// Also list trials for other populations (other cancers).
    public var allTrials = false
    public var width = 100

    public init(_ evaluation: EvaluationV1, allTrials: Bool = false) {
        digest = EvaluationDigest(evaluation)
        self.allTrials = allTrials
    }

    public func render() -> String {
        let e = digest.evaluation
        var out = TextLayout(width: width)
        out.line("Patient \(e.patientId ?? "-") · \(digest.patientLine)")
        if e.summary != nil {
            out.line(digest.stageLine)
            out.line(digest.treatmentLine)
            out.line(digest.contraindicationLine)
        }
        out.line(
            "Pathway \(e.pathway ?? "none applies") · setting \(e.setting ?? "undetermined") · "
                + "evaluated \(e.evaluatedAt)")
        if !e.alerts.isEmpty {
            out.line()
            out.line("Alerts")
            for alert in e.alerts { out.wrapped("  [\(alert.severity)] \(alert.text)", indent: 4, maxLines: 2) }
        }
        out.line()
        if digest.offered.isEmpty {
            out.line(
                "No option can be offered" + (digest.needsData.isEmpty ? "." : " until the data below is recorded."))
        } else {
            out.line("Options, ranked")
            for option in digest.offered {
                let number = String(option.rank!)
                let rank = String(repeating: " ", count: max(0, 2 - number.count)) + number
                let status = TextLayout.pad(option.status, 11)
                out.line(" \(rank) \(status) \(option.label)")
                let why = EvaluationDigest.why(option)
                if !why.isEmpty { out.line("                 why: " + why) }
                if !option.cautions.isEmpty {
                    out.line("                 ⚠ " + option.cautions.map(\.text).joined(separator: "; "))
                }
            }
        }
        if !digest.needsData.isEmpty {
            out.line()
            out.line("Needs data")
            for option in digest.needsData {
                out.line("     \(option.label) — missing: \(option.missing.joined(separator: ", "))")
            }
        }
        if !digest.notEligible.isEmpty {
            out.line()
            out.line("Not eligible (\(digest.notEligible.count); --full shows every reason)")
            for option in digest.notEligible.prefix(6) {
                out.line("     \(option.label) — \(EvaluationDigest.whyNot(option))")
            }
            if digest.notEligible.count > 6 { out.line("     … and \(digest.notEligible.count - 6) more") }
        }
        if !e.missingData.isEmpty {
            out.line()
            out.line("Missing data, by what it decides")
            let shown = e.missingData.prefix(6)
            for missing in shown {
                let decides =
                    missing.neededBy.contains("pathway") || missing.neededBy.contains("setting")
                    ? "decides the \(missing.neededBy.contains("pathway") ? "pathway" : "setting")"
                    : "decides \(missing.decides ?? missing.neededBy.count)"
                out.line("     \(TextLayout.pad(missing.fact, 36)) \(decides)")
            }
            if e.missingData.count > shown.count { out.line("     … and \(e.missingData.count - shown.count) more") }
        }
        let trials = digest.trialsThatCouldApply + digest.trialsRuledOut + (allTrials ? digest.trialsForOthers : [])
        out.line()
        out.line(digest.trialsThatCouldApply.isEmpty ? "Trials (none could apply)" : "Trials that could apply")
        for trial in trials {
            let name = trial.acronym.map { "\($0) (\(trial.id))" } ?? trial.id
            var detail = "\(trial.status), \(trial.recruitment)"
            if trial.status == "ineligible" {
                let failing = trial.criteria.first { $0.result == "fail" }
                detail += failing.map { ": \($0.text)" } ?? ""
            } else {
                detail += ", " + EvaluationDigest.criteriaMet(trial)
            }
            out.line("     \(name) — \(detail)")
        }
        if !allTrials, !digest.trialsForOthers.isEmpty {
            out.line(
                "     (\(digest.trialsForOthers.count) trials for other cancers not shown; --all-trials lists them)")
        }
        out.line()
        out.line("Decision \(e.decisionId) · rules \(e.rules.revision.prefix(19))…")
        return out.text
    }
}
