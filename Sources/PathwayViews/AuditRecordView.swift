import Foundation
import PathwayAPI

/// An audit record as an auditor reads it: one sentence (who, when, what, which patient, under
/// which rules), a table of the record's facts and its inputs in brief, then the answer — an
/// evaluation as the compact view, anything else as its fields.
public struct AuditRecordView: Sendable {
    public let record: AuditRecordV1

    public init(_ record: AuditRecordV1) { self.record = record }

    public func render(width: Int = 100) -> String {
        var out = TextLayout(width: width)
        out.wrapped(sentence, maxLines: 4)
        out.line()
        var table = [
            (
                "record",
                "#\(record.seq) · \(record.format ?? "pathwayd-audit-v1")"
                    + (record.version.map { " · written by pathwayd \($0)" } ?? "")
            ),
            ("decision", record.decisionId), ("at", record.at),
            ("actor", "\(record.actor.user) (uid \(record.actor.uid)) · roles \(roles)"),
            ("action", record.action), ("patient", record.patientId ?? "—"), ("rules", record.revision ?? "—"),
        ]
        table += inputs
        table += [("hash", record.hash), ("previous", record.prevHash)]
        let keyWidth = table.map(\.0.count).max() ?? 0
        for (key, value) in table { out.line(TextLayout.pad(key, keyWidth) + "  " + value) }
        if let evaluation = evaluation {
            out.line()
            out.line("Answer")
            let compact = CompactView(evaluation).render()
            for line in compact.split(separator: "\n", omittingEmptySubsequences: false) { out.line("  " + line) }
        } else if case .object(let members)? = record.output {
            out.line()
            out.line("Answer")
            for key in members.keys.sorted() {
                out.line("  " + TextLayout.pad(key, keyWidth) + "  " + Self.brief(members[key]!))
            }
        }
        return out.text
    }

    private var roles: String { record.actor.roles.isEmpty ? "none" : record.actor.roles.joined(separator: ", ") }

    /// `On 2026-03-01T10:00:00Z, alice (clinician) viewed the recommendations for patient EX-1 under rules sha256:….`
    public var sentence: String {
        let who = "\(record.actor.user) (\(roles))"
        let what: String =
            switch record.action {
            case "event": "stored an event and evaluated"
            case "view": "viewed the recommendations or facts of"
            case "what-if": "asked what if, for"
            case "feedback": "recorded the tumor board's decision for"
            case "denied": "was refused a request"
            case "denied-summary": "was refused requests, counted"
            case "rules-reload": "loaded rules"
            case "replay": "replayed a decision"
            case "rules-impact": "asked which patients new rules would change"
            case "integrity-override": "started over a damaged audit trail"
            default: record.action
            }
        var text = "On \(record.at), \(who) \(what)"
        if let patient = record.patientId {
            text += (what.hasSuffix("for") || what.hasSuffix("of") ? " " : " for ") + "patient \(patient)"
        }
        if let revision = record.revision { text += " under rules \(revision.prefix(19))…" }
        if let evaluation {
            let first = evaluation.options.first { $0.rank == 1 }
            text += first.map { "; first option: \($0.label) (\($0.status))" } ?? "; no option offered"
        }
        return text + "."
    }

    /// The evaluation the record answered with, if it holds one.
    public var evaluation: EvaluationV1? {
        guard case .object(let members)? = record.output, let document = members["evaluation"] else { return nil }
        guard let bytes = try? JSONEncoder().encode(document) else { return nil }
        return try? JSONDecoder().decode(EvaluationV1.self, from: bytes)
    }

    /// The input in brief: which events were evaluated, at what time, with which parameters.
    private var inputs: [(String, String)] {
        guard case .object(let input)? = record.input else { return [] }
        var rows: [(String, String)] = []
        if case .string(let at)? = input["evaluatedAt"] { rows.append(("evaluated at", at)) }
        if case .string(let event)? = input["eventId"] { rows.append(("event", event)) }
        if case .object(let history)? = input["history"], case .number(let count)? = history["count"] {
            rows.append(("history", "the patient's first \(Int(count)) stored events (by digest)"))
        }
        if case .array(let events)? = input["events"] {
            let brief = events.prefix(5).map { event -> String in
                guard case .object(let fields) = event else { return "?" }
                let type = fields["type"].map(Self.brief) ?? "?"
                let id = fields["eventId"].map(Self.brief) ?? "?"
                return "\(type) \(id)"
            }
            rows.append(
                (
                    "events inline",
                    "\(events.count)" + (brief.isEmpty ? "" : ": " + brief.joined(separator: ", "))
                        + (events.count > 5 ? ", …" : "")
                ))
        }
        if case .object(let parameters)? = input["parameters"], !parameters.isEmpty {
            rows.append(
                (
                    "parameters",
                    parameters.keys.sorted().map { "\($0)=\(Self.brief(parameters[$0]!))" }.joined(separator: ", ")
                ))
        }
        if rows.isEmpty {
            for key in input.keys.sorted() { rows.append(("input." + key, Self.brief(input[key]!))) }
        }
        return rows
    }

    static func brief(_ value: JSONValue) -> String {
        switch value {
        case .array(let items):
            items.count <= 3 ? "[" + items.map(brief).joined(separator: ", ") + "]" : "\(items.count) items"
        case .object(let members):
            "{" + members.keys.sorted().prefix(4).joined(separator: ", ") + (members.count > 4 ? ", …}" : "}")
        default: EvaluationDigest.text(value)
        }
    }
}
