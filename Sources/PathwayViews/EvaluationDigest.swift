import PathwayAPI

/// What a tumor board reads first, taken from an evaluation document: the options it can offer in
/// rank order with one line of why, what waits for data, the trials that could apply, and what is
/// missing by how much it decides. Every view (terminal, report, CDS card) is built from this.
public struct EvaluationDigest: Sendable {
    public let evaluation: EvaluationV1
    /// `recommended` and `consider`, by rank.
    public let offered: [OptionV1]
    public let needsData: [OptionV1]
    public let notEligible: [OptionV1]
    /// Eligible or potentially eligible, patient inside the trial's population.
    public let trialsThatCouldApply: [TrialV1]
    /// Ineligible although the patient is inside the trial's population.
    public let trialsRuledOut: [TrialV1]
    /// Trials for another population (another cancer): left out of human views unless asked.
    public let trialsForOthers: [TrialV1]

    public init(_ evaluation: EvaluationV1) {
        self.evaluation = evaluation
        offered = evaluation.options.filter { $0.rank != nil }.sorted { $0.rank! < $1.rank! }
        needsData = evaluation.options.filter { $0.status == "needs-data" }
        notEligible = evaluation.options.filter { $0.status == "not-eligible" }
        let inside = evaluation.trials.filter { $0.outsidePopulation != true }
        trialsThatCouldApply = inside.filter { $0.status != "ineligible" }
        trialsRuledOut = inside.filter { $0.status == "ineligible" }
        trialsForOthers = evaluation.trials.filter { $0.outsidePopulation == true }
    }

    /// The conditions an option meets (not the exclusions it escapes), the first `limit`.
    public static func why(_ option: OptionV1, limit: Int = 2) -> String {
        option.reasons.filter { $0.result == "pass" && !$0.text.hasPrefix("Excluded if") }.prefix(limit).map(\.text)
            .joined(separator: "; ")
    }

    /// Why an option is out: its first failing reason, with the values it read (`[ecog 3]`).
    public static func whyNot(_ option: OptionV1) -> String {
        guard let reason = option.reasons.first(where: { $0.result == "fail" }) else { return "a requirement fails" }
        let values = (reason.values ?? []).map { "\($0.fact) \(text($0.value))" }
        return reason.text + (values.isEmpty ? "" : " [" + values.joined(separator: ", ") + "]")
    }

    /// `12 of 15 criteria met`.
    public static func criteriaMet(_ trial: TrialV1) -> String {
        "\(trial.criteria.count { $0.result == "pass" }) of \(trial.criteria.count) criteria met"
    }

    /// The patient's summary as short phrases: diagnosis, stage, performance status, treatment.
    public var patientLine: String {
        guard let summary = evaluation.summary else { return "no summary (document written before pathwayd 0.5)" }
        var diagnosis = summary.diagnosis.cancer ?? "diagnosis not recorded"
        if let histology = summary.diagnosis.histology {
            diagnosis += ", " + histology + (summary.diagnosis.histologyConfirmed == false ? " (unconfirmed)" : "")
        }
        return diagnosis
    }

    public var stageLine: String {
        guard let summary = evaluation.summary else { return "" }
        let stage =
            summary.stage.map { "stage \($0.group ?? "undetermined") (\(Self.edition($0.edition)): \($0.from))" }
            ?? "stage not recorded"
        let ecog = summary.performanceStatus.ecog.map {
            "ECOG \($0)" + (summary.performanceStatus.scale.map { $0 == "ecog" ? "" : " (from \($0))" } ?? "")
        }
        return [stage, ecog ?? "ECOG not recorded"].joined(separator: " · ")
    }

    public var treatmentLine: String {
        guard let summary = evaluation.summary else { return "" }
        guard !summary.treatments.isEmpty else { return "no treatment recorded" }
        let lines = summary.priorSystemicLines == 1 ? "1 systemic line" : "\(summary.priorSystemicLines) systemic lines"
        let last = summary.treatments.last!
        return lines + (summary.progressed ? ", progression recorded" : ", no progression recorded")
            + " · last: \(last.what) (\(last.status), from \(last.startedAt.prefix(10)))"
    }

    public var contraindicationLine: String { "Contraindications: " + contraindications }

    /// Of the options in play: which are present (named), how many recorded absent, how many not recorded.
    public var contraindications: String {
        guard let c = evaluation.summary?.contraindications else { return "" }
        if c.present.isEmpty && c.absent.isEmpty && c.unknown.isEmpty {
            return "none that the options in play depend on"
        }
        let present = c.present.isEmpty ? "none present" : "PRESENT: " + c.present.joined(separator: ", ")
        return "\(present) · \(c.absent.count) recorded absent · \(c.unknown.count) not recorded"
    }

    /// `ajcc8` → `AJCC 8`, `tnm9` → `TNM 9`.
    public static func edition(_ edition: String) -> String {
        switch edition {
        case "ajcc8": "AJCC 8"
        case "tnm9": "TNM 9"
        default: edition
        }
    }

    /// A number as people write it: no binary tail (1.7400000000000002 → 1.74), integers bare.
    public static func number(_ value: Double) -> String {
        if value.rounded() == value, abs(value) < 1e15 { return String(Int64(value)) }
        let rounded = (value * 100).rounded() / 100
        return String(rounded)
    }

    /// A fact value as text: numbers rounded, unknown spelled out.
    public static func text(_ value: JSONValue) -> String {
        switch value {
        case .null: "unknown"
        case .bool(let flag): flag ? "yes" : "no"
        case .number(let number): Self.number(number)
        case .string(let text): text
        case .array(let items): "[" + items.map(text).joined(separator: ", ") + "]"
        case .object(let members):
            members.keys.sorted().filter { $0 != "caution" }.map { "\($0) \(text(members[$0]!))" }.joined(
                separator: ", ")
        }
    }

    /// An evidence entry in one line: source, NCT id, level (only a real level), title.
    public static func evidence(_ evidence: EvidenceV1) -> String {
        var detail: [String] = []
        if let nct = evidence.nct { detail.append(nct) }
        if let level = evidence.level, EvidenceV1.isLevel(level) { detail.append("level \(level)") }
        return evidence.source + (detail.isEmpty ? "" : " (\(detail.joined(separator: ", ")))")
    }
}
