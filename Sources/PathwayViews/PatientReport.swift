import Mustache
import PathwayAPI

/// One event of the patient's timeline in the report.
public struct TimelineEntry: Sendable, Hashable {
    public var occurredAt: String
    public var type: String
    public var eventId: String
    /// The event's data in brief (`test wbc, value 16, unit 10^9/L`).
    public var detail: String

    public init(occurredAt: String, type: String, eventId: String, detail: String) {
        self.occurredAt = occurredAt
        self.type = type
        self.eventId = eventId
        self.detail = detail
    }

    /// The entry of an event whose `data` is a JSON object: its fields in name order, values brief.
    public init(occurredAt: String, type: String, eventId: String, data: JSONValue) {
        var detail = ""
        if case .object(let fields) = data {
            detail = fields.keys.sorted().map { "\($0) \(AuditRecordView.brief(fields[$0]!))" }.joined(separator: ", ")
        }
        self.init(occurredAt: occurredAt, type: type, eventId: eventId, detail: detail)
    }
}

/// The tumor-board report of one patient: a self-contained HTML page (inline CSS, no scripts, no
/// external fetches; A4 portrait when printed) or Markdown, rendered from Mustache templates that
/// escape every value.
public struct PatientReport: Sendable {
    public enum Format: String, Sendable, CaseIterable {
        case html, markdown

        public var contentType: String {
            switch self {
            case .html: "text/html; charset=utf-8"
            case .markdown: "text/markdown; charset=utf-8"
            }
        }
    }

    public let evaluation: EvaluationV1
    /// The patient's events in order of occurrence; the report shows the latest, newest first.
    public let timeline: [TimelineEntry]
    /// Show at most this many of the latest events.
    public var timelineLimit = 15
    /// Missing facts listed one per row; the rest are named in one line.
    public var missingRows = 12

    public init(_ evaluation: EvaluationV1, timeline: [TimelineEntry]) {
        self.evaluation = evaluation
        self.timeline = timeline
    }

    public func render(_ format: Format) -> String {
        ReportTemplates.library.render(model, withTemplate: format.rawValue) ?? ""
    }

    // MARK: The model the templates read

    struct Model {
        var patientId: String
        var decisionId: String
        var evaluatedAt: String
        var revision: String
        var packs: String
        var pathway: String
        var setting: String
        var diagnosis: String
        var stage: String
        var treatment: String
        var contraindications: String
        var alerts: [Alert]
        var hasAlerts: Bool
        var offered: [Option]
        var hasOffered: Bool
        var needsData: [Option]
        var hasNeedsData: Bool
        var notEligible: [Option]
        var hasNotEligible: Bool
        var trials: [Trial]
        var hasTrials: Bool
        var otherTrials: String
        var missing: [Missing]
        var hasMissing: Bool
        var moreMissing: String
        var timeline: [TimelineEntry]
        var hasTimeline: Bool
        var timelineNote: String
    }

    struct Alert { var severity: String, text: String, cite: String }
    struct Link {
        var text: String
        var title: String
        var url: String
        var hasURL: Bool
        /// The address as shown: `clinicaltrials.gov/study/NCT…`, `doi.org/…` (stored: the
        /// templates read properties by reflection, which sees no computed ones).
        var shown: String

        init(text: String, title: String, url: String?) {
            self.text = text
            self.title = title
            self.url = url ?? ""
            hasURL = url != nil
            shown = url.map { $0.hasPrefix("https://") ? String($0.dropFirst(8)) : $0 } ?? ""
        }
    }
    struct Option {
        var rank: String
        var status: String
        var label: String
        var why: String
        var missing: String
        var cautions: [String]
        var evidence: [Link]
    }
    struct Criterion { var result: String, kind: String, id: String, text: String, reason: String }
    struct Trial {
        var name: String
        var id: String
        var status: String
        var recruitment: String
        var met: String
        var link: Link
        var criteria: [Criterion]
        /// For a trial the patient is ruled out of: which criteria are not listed.
        var omitted: String
    }
    struct Missing { var fact: String, decides: String, neededBy: String }

    var model: Model {
        let digest = EvaluationDigest(evaluation)
        let e = evaluation
        func option(_ o: OptionV1) -> Option {
            Option(
                rank: o.rank.map(String.init) ?? "", status: o.status, label: o.label,
                why: o.status == "not-eligible" ? EvaluationDigest.whyNot(o) : EvaluationDigest.why(o, limit: 3),
                missing: o.missing.joined(separator: ", "), cautions: o.cautions.map(\.text),
                evidence: o.evidence.map {
                    Link(text: EvaluationDigest.evidence($0), title: $0.title ?? $0.cite, url: $0.url)
                })
        }
        let trials = digest.trialsThatCouldApply + digest.trialsRuledOut
        let latest = timeline.suffix(timelineLimit).reversed()
        return Model(
            patientId: e.patientId ?? "—", decisionId: e.decisionId, evaluatedAt: e.evaluatedAt,
            revision: e.rules.revision, packs: e.rules.packs.map { "\($0.id) \($0.version)" }.joined(separator: ", "),
            pathway: e.pathway ?? "none applies", setting: e.setting ?? "undetermined",
            diagnosis: digest.patientLine, stage: digest.stageLine, treatment: digest.treatmentLine,
            contraindications: digest.contraindications,
            alerts: e.alerts.map { Alert(severity: $0.severity, text: $0.text, cite: $0.cite ?? "") },
            hasAlerts: !e.alerts.isEmpty, offered: digest.offered.map(option), hasOffered: !digest.offered.isEmpty,
            needsData: digest.needsData.map(option), hasNeedsData: !digest.needsData.isEmpty,
            notEligible: digest.notEligible.map(option), hasNotEligible: !digest.notEligible.isEmpty,
            trials: trials.map { t in
                Trial(
                    name: t.acronym ?? t.id, id: t.id, status: t.status, recruitment: t.recruitment,
                    met: EvaluationDigest.criteriaMet(t),
                    link: Link(text: t.id, title: t.title, url: t.url),
                    // Ruled out: the criteria that rule it out; otherwise every criterion.
                    criteria: t.criteria.filter { t.status != "ineligible" || $0.result == "fail" }.map {
                        Criterion(result: $0.result, kind: $0.kind, id: $0.id, text: $0.text, reason: $0.reason)
                    },
                    omitted: t.status == "ineligible"
                        ? "Ruled out by the criteria above; the other \(t.criteria.count { $0.result != "fail" }) are not listed."
                        : "")
            }, hasTrials: !trials.isEmpty,
            otherTrials: digest.trialsForOthers.isEmpty
                ? "" : "\(digest.trialsForOthers.count) trial(s) for other cancers are not shown.",
            missing: e.missingData.prefix(missingRows).map {
                Missing(
                    fact: $0.fact, decides: $0.decides.map(String.init) ?? String($0.neededBy.count),
                    neededBy: $0.neededBy.joined(separator: ", "))
            }, hasMissing: !e.missingData.isEmpty,
            moreMissing: e.missingData.count > missingRows
                ? "Also missing: " + e.missingData.dropFirst(missingRows).map(\.fact).joined(separator: ", ") + "."
                : "", timeline: Array(latest), hasTimeline: !latest.isEmpty,
            timelineNote: timeline.count > latest.count
                ? "The latest \(latest.count) of \(timeline.count) events." : "\(timeline.count) event(s).")
    }
}

/// Markdown: every value's characters that Markdown or HTML would read as markup are escaped.
struct MarkdownContentType: MustacheContentType {
    func escapeText(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "&": out += "&amp;"
            case "\n": out += " "
            case "\\", "`", "*", "_", "[", "]", "(", ")", "#", "|", "!", "{", "}", "~":
                out.append("\\")
                out.append(character)
            default: out.append(character)
            }
        }
        return out
    }
}
