import Foundation
import PathwayAPI
import PathwayCore
import PathwayRulesIO
import PathwayTestSupport
import PathwayViews
import Testing

/// The views a person reads, on the shipped rules and the example cases.
@Suite("views: compact view, what-if, report, audit record")
struct ViewsTests {
    static let rules = RuleCompiler.compile(
        try! RuleDirectory.load(repositoryRoot.appendingPathComponent("Rules").path)
    )
    .rules!

    static func evaluate(_ events: [JSONValue], patient: String = "EX", at: String? = nil) throws -> EvaluationV1 {
        let decoded = try events.map { try EventDecoder.decode($0) }
        let now = try at.map { try Instant.parse($0) } ?? decoded.map(\.occurredAt).max()!
        return rules.evaluate(
            PatientFacts(events: decoded, asOf: now),
            context: EvaluationContext(now: now, decisionId: "d-\(patient)", patientId: patient))
    }

    @Test("the compact view of every example case fits 60 lines of 100 columns, offered options first")
    func compactSize() throws {
        let examples = try readExamples()
        #expect(examples.count == 6)
        for (name, events) in examples {
            let evaluation = try Self.evaluate(events)
            let text = CompactView(evaluation).render()
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            #expect(lines.count <= 60, "\(name): \(lines.count) lines")
            #expect(lines.allSatisfy { $0.count <= 100 }, "\(name): \(lines.map(\.count).max() ?? 0) columns")
            // The first option line is the option ranked 1, before any that is not offered.
            if let first = evaluation.options.first(where: { $0.rank == 1 }) {
                let optionLines = lines.filter { $0.hasPrefix("  1 ") }
                #expect(optionLines.first?.contains(first.label.prefix(40)) == true, "\(name)")
                let rankLine = try #require(lines.firstIndex { $0.hasPrefix("  1 ") })
                let notEligible = lines.firstIndex { $0.hasPrefix("Not eligible") } ?? lines.count
                #expect(rankLine < notEligible, "\(name)")
            }
            // Trials for other cancers are left out unless asked.
            for trial in evaluation.trials where trial.outsidePopulation == true {
                #expect(!text.contains(trial.id), "\(name): \(trial.id) shown")
                #expect(CompactView(evaluation, allTrials: true).render().contains(trial.id), "\(name)")
            }
            #expect(!text.contains("1.7400000000000002") && !text.contains("0000000"), "\(name): a binary tail")
        }
    }

    @Test("ECOG 3 puts the only recommended option first, and says why the others are out")
    func ecog3() throws {
        let (_, events) = try readExamples()[1]
        let evaluation = try Self.evaluate(events)
        let text = CompactView(evaluation).render()
        let first = try #require(evaluation.options.first)
        #expect(first.rank == 1 && ["recommended", "consider"].contains(first.status))
        #expect(text.contains("Options, ranked") && text.contains(first.label))
        #expect(text.contains("ECOG 3"))
    }

    @Test("what-if names the options and trials that move, and the facts that moved them")
    func whatIf() throws {
        let events = pleuralPatient("W1", ecog: 1)
        let before = try Self.evaluate(events)
        var worse = events
        worse.append([
            "id": "W1-ps3", "patientId": "W1", "type": "performance-status", "occurredAt": "2026-01-13T09:00:00Z",
            "data": ["scale": "ecog", "value": 3],
        ])
        let after = try Self.evaluate(worse)
        let diff = WhatIfDiff(before: before, after: after)
        #expect(!diff.options.isEmpty)
        let nivo = try #require(diff.options.first { $0.id == "nivolumab-ipilimumab" })
        #expect(nivo.to == "not-eligible" && nivo.direct, "\(nivo)")
        #expect(
            nivo.because.contains { $0.hasPrefix("ecog: 1 → 3") || $0.hasPrefix("performance-status: 1 → 3") },
            "\(nivo.because)")
        let text = diff.render()
        #expect(text.contains("Options that change") && text.contains("→ not-eligible"))
        #expect(WhatIfDiff(before: before, after: before).render().hasPrefix("No change"))
    }

    @Test("the report escapes every value: a patient id or free text with markup renders inert")
    func escaping() throws {
        var evaluation = try Self.evaluate(pleuralPatient("R1"))
        evaluation.patientId = "<script>alert(1)</script>"
        evaluation.alerts.append(
            AlertV1(id: "x", severity: "warning", text: "<img src=x onerror=alert(2)> & [link](javascript:x)"))
        let timeline = [
            TimelineEntry(
                occurredAt: "2026-01-12T10:00:00Z", type: "note", eventId: "\"><script>",
                data: ["text": "</td><script>alert(3)</script>"])
        ]
        let html = PatientReport(evaluation, timeline: timeline).render(.html)
        #expect(!html.contains("<script>") && !html.contains("<img"), "an element got through")
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(html.contains("Content-Security-Policy") && !html.contains("<script"))
        #expect(html.contains("@page { size: A4 portrait"))
        let markdown = PatientReport(evaluation, timeline: timeline).render(.markdown)
        #expect(!markdown.contains("<script>") && !markdown.contains("<img"))
        #expect(markdown.contains("\\[link\\]\\(javascript:x\\)"), "Markdown link syntax in a value is escaped")
    }

    @Test(
        "the report has every part: summary, ranked options with evidence links, trials criterion by criterion, missing data, timeline"
    )
    func reportParts() throws {
        for (name, events) in try readExamples() {
            let evaluation = try Self.evaluate(events)
            let decoded = try events.map { try EventDecoder.decode($0) }
            let timeline = decoded.map {
                TimelineEntry(occurredAt: $0.occurredAt.description, type: $0.type, eventId: $0.id, data: $0.data)
            }
            let html = PatientReport(evaluation, timeline: timeline).render(.html)
            #expect(html.contains(evaluation.decisionId) && html.contains(evaluation.rules.revision), "\(name)")
            for option in evaluation.options where option.rank != nil {
                #expect(html.contains(escapeHTML(option.label)), "\(name): \(option.label)")
                for url in option.evidence.compactMap(\.url) { #expect(html.contains("href=\"\(url)\""), "\(name)") }
            }
            // A trial that could apply: every criterion; one the patient is ruled out of: what rules it out.
            for trial in evaluation.trials where trial.outsidePopulation != true {
                for criterion in trial.criteria where trial.status != "ineligible" || criterion.result == "fail" {
                    #expect(html.contains(escapeHTML(criterion.text)), "\(name): \(trial.id) \(criterion.id)")
                }
            }
            for event in decoded { #expect(html.contains(event.id), "\(name): \(event.id) not in the timeline") }
        }
    }

    @Test("the timeline shows the latest 15 events, newest first")
    func timeline() throws {
        let evaluation = try Self.evaluate(pleuralPatient("T1"))
        let entries = (1...20).map { n in
            TimelineEntry(
                occurredAt: "2026-02-\(n < 10 ? "0" : "")\(n)T09:00:00Z", type: "lab", eventId: "lab-\(n)-end",
                detail: "")
        }
        let html = PatientReport(evaluation, timeline: entries).render(.html)
        #expect(html.contains("The latest 15 of 20 events."))
        for n in 1...5 { #expect(!html.contains("lab-\(n)-end"), "lab-\(n) is not among the latest") }
        let newest = try #require(html.range(of: "lab-20-end"))
        let older = try #require(html.range(of: "lab-6-end"))
        #expect(newest.lowerBound < older.lowerBound)
    }

    @Test("an audit record reads as a sentence and a table, its answer as the compact view")
    func auditRecord() throws {
        let evaluation = try Self.evaluate(pleuralPatient("A1"))
        let encoder = JSONEncoder()
        let output = try JSONDecoder().decode(
            JSONValue.self, from: try encoder.encode(["evaluation": evaluation]))
        let record = AuditRecordV1(
            seq: 42, decisionId: evaluation.decisionId, at: "2026-03-01T10:00:00.000Z",
            actor: ActorV1(uid: 1001, user: "dr.alice", roles: ["clinician"]), action: "view", patientId: "A1",
            revision: evaluation.rules.revision, format: "pathwayd-audit-v2", version: "0.5.0",
            input: [
                "evaluatedAt": "2026-03-01T10:00:00.000Z",
                "history": ["patientId": "A1", "count": 7, "digest": "sha256:x"], "events": [],
            ],
            output: output, prevHash: "sha256:prev", hash: "sha256:this")
        let text = AuditRecordView(record).render()
        let first = try #require(text.split(separator: "\n").first)
        #expect(first.hasPrefix("On 2026-03-01T10:00:00.000Z, dr.alice (clinician) viewed"), "\(first)")
        #expect(text.contains("patient A1") && text.contains("first option: "))
        #expect(text.contains("the patient's first 7 stored events"))
        #expect(text.contains("Options, ranked"))
        #expect(text.split(separator: "\n").allSatisfy { $0.count <= 100 })
    }

    private func escapeHTML(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
            .replacingOccurrences(of: "'", with: "&#39;")
    }
}
