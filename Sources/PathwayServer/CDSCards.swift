import Foundation
import PathwayAPI
import PathwayViews

/// The cards of one evaluation (contract §8). One recommendation card, whose `uuid` is the
/// decision id: the ranked options with one line of why each, what data is missing, trials that
/// could apply, with a suggestion per offered option and a registry link per trial. One card
/// per warning or critical alert follows it.
struct CDSCards {
    let evaluation: EvaluationV1
    /// The tumor-board hook: trials criterion by criterion as well.
    let tumorBoard: Bool
    /// Prefetched data that could not be used, each with why.
    let notRead: [String]

    /// HL7 non-adherence reason codes offered on the recommendation card, with the CodeSystem's
    /// displays (shared reference `CodeSystem-non-adherence-reason-codes.json`).
    static let overrideReasons: [CDSHooks.Coding] = [
        ("patient-contraindication", "Patient has contraindication to recommended action"),
        ("prefers-alternative", "Patient prefers an alternative approach or treatment"),
        ("expert-contradicts", "Advice from expert contradicts the recommended action"),
        (
            "need-more-info",
            "Could not address recommended action due to need for more information/pending results/pending consult"
        ),
        ("cds-not-applicable", "PC CDS does not apply to patient"),
    ].map { CDSHooks.Coding(system: OverrideReasons.hl7System, code: $0.0, display: $0.1) }

    /// The cards, and which option each suggestion (by uuid) stands for.
    func cards() -> (cards: [CDSHooks.Card], suggestions: [String: String]) {
        let digest = EvaluationDigest(evaluation)
        let offered = digest.offered
        let needsData = digest.needsData
        var suggestions: [CDSHooks.Card.Suggestion] = []
        var options: [String: String] = [:]
        for option in offered {
            let uuid = UUID().uuidString.lowercased()
            options[uuid] = option.id
            let verb = option.kind == "trial-referral" ? "Refer" : "Record plan"
            suggestions.append(
                CDSHooks.Card.Suggestion(
                    label: "\(verb): \(option.label)", uuid: uuid, isRecommended: option.rank == 1 ? true : nil))
        }
        let alerts = evaluation.alerts.filter { $0.severity != "info" }
        let indicator =
            alerts.contains { $0.severity == "critical" }
            ? "critical" : (!needsData.isEmpty || !alerts.isEmpty || !notRead.isEmpty ? "warning" : "info")
        let trials = digest.trialsThatCouldApply
        // Registry links only where the identification is confirmed (the references table gives the url).
        let links = trials.compactMap { trial -> CDSHooks.Card.Link? in
            trial.url.map { CDSHooks.Card.Link(label: "\(trial.acronym ?? trial.id) on ClinicalTrials.gov", url: $0) }
        }
        let main = CDSHooks.Card(
            uuid: evaluation.decisionId, summary: summary(offered: offered, needsData: needsData.count),
            indicator: indicator,
            detail: detail(offered: offered, needsData: needsData, trials: trials, alerts: alerts),
            source: source, suggestions: suggestions.isEmpty ? nil : suggestions,
            selectionBehavior: suggestions.isEmpty ? nil : "at-most-one",
            overrideReasons: offered.isEmpty ? nil : Self.overrideReasons, links: links.isEmpty ? nil : links)
        var cards = [main]
        for alert in alerts {
            cards.append(
                CDSHooks.Card(
                    uuid: UUID().uuidString.lowercased(), summary: Self.clip(alert.text), indicator: alert.severity,
                    detail: Self.escape(alert.text) + (alert.cite.map { "\n\n*Source:* " + Self.escape($0) } ?? ""),
                    source: source))
        }
        return (cards, options)
    }

    private var source: CDSHooks.Card.Source {
        CDSHooks.Card.Source(
            label: "pathwayd · " + evaluation.rules.packs.map { "\($0.id) \($0.version)" }.joined(separator: ", ")
                + " · rules " + String(evaluation.rules.revision.prefix(19)),
            topic: evaluation.pathway.map {
                CDSHooks.Coding(system: "urn:pathwayd:pathway", code: $0, display: evaluation.setting)
            })
    }

    private func summary(offered: [OptionV1], needsData: Int) -> String {
        let more = needsData > 0 ? " · \(needsData) need data" : ""
        guard evaluation.pathway != nil else {
            return Self.clip("No treatment pathway applies yet" + (needsData > 0 ? more : " to this patient"))
        }
        guard let first = offered.first else {
            return Self.clip("No option can be offered" + (needsData > 0 ? more : ": none is eligible"))
        }
        let others = offered.count > 1 ? " (+\(offered.count - 1) more)" : ""
        return Self.clip(
            "\(first.status == "recommended" ? "Recommended" : "Consider"): \(first.label)\(others)\(more)")
    }

    private func detail(offered: [OptionV1], needsData: [OptionV1], trials: [TrialV1], alerts: [AlertV1]) -> String {
        var lines: [String] = []
        lines.append(
            "**Pathway** `\(evaluation.pathway ?? "none")` · setting `\(evaluation.setting ?? "undecided")` · "
                + "decision `\(evaluation.decisionId)`")
        if !offered.isEmpty {
            lines += ["", "**Options, ranked**", ""]
            for option in offered {
                // Why: the conditions it meets (not the exclusions it escapes), the first three.
                let why = EvaluationDigest.why(option, limit: 3)
                let caution = option.cautions.isEmpty ? "" : " ⚠ " + option.cautions.map(\.text).joined(separator: "; ")
                lines.append(
                    "\(option.rank!). **\(Self.escape(option.label))** — \(option.status)"
                        + (why.isEmpty ? "" : ": " + Self.escape(why)) + Self.escape(caution))
            }
        }
        if !needsData.isEmpty {
            lines += ["", "**Needs data**", ""]
            for option in needsData {
                lines.append(
                    "- \(Self.escape(option.label)): missing "
                        + option.missing.map { "`\($0)`" }.joined(separator: ", "))
            }
        }
        if !evaluation.missingData.isEmpty {
            // The document lists them by what they decide.
            let facts = evaluation.missingData.prefix(8)
            lines += [
                "",
                "**Missing data, by how much it decides:** "
                    + facts.map { "`\($0.fact)` (\($0.decides ?? $0.neededBy.count))" }.joined(separator: ", "),
            ]
        }
        if !trials.isEmpty {
            lines += ["", "**Trials that could apply**", ""]
            for trial in trials {
                lines.append(
                    "- \(Self.escape(trial.acronym ?? trial.id)) (\(trial.id), \(trial.recruitment)): \(trial.status)")
                if tumorBoard {
                    for criterion in trial.criteria {
                        lines.append("  - \(criterion.result): \(Self.escape(criterion.text))")
                    }
                }
            }
        }
        if !alerts.isEmpty {
            lines += ["", "**Alerts**", ""] + alerts.map { "- \($0.severity): \(Self.escape($0.text))" }
        }
        let out = evaluation.options.count { $0.status == "not-eligible" }
        if out > 0 { lines += ["", "\(out) option(s) not eligible; `pathwayctl recommend` lists why."] }
        if !notRead.isEmpty {
            lines +=
                ["", "**Not read from the EHR** (stays unknown)", ""]
                + notRead.prefix(20).map { "- " + Self.escape($0) }
            if notRead.count > 20 { lines.append("- … and \(notRead.count - 20) more") }
        }
        return lines.joined(separator: "\n")
    }

    /// Fewer than 140 characters, as CDS Hooks 2.0 requires of a summary (counted in Unicode
    /// scalars, as JSON Schema's maxLength and most clients count them).
    static func clip(_ text: String) -> String {
        guard text.unicodeScalars.count >= 140 else { return text }
        var scalars = String.UnicodeScalarView()
        scalars.append(contentsOf: text.unicodeScalars.prefix(138))
        return String(scalars) + "…"
    }

    /// Markdown's special characters escaped, so a label or a reason reads as written.
    static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            if "\\`*_[]<>#|".contains(character) { out.append("\\") }
            out.append(character)
        }
        return out
    }
}
