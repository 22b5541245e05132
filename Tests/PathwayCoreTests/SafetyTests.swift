import Foundation
import PathwayAPI
import PathwayTestSupport
import Testing

@testable import PathwayCore

@Suite("Safety invariants hold on generated patients, and a rules edit that breaks one is refused")
struct SafetyTests {
    static let sources: [RuleSource] = (try? ruleSources(in: repositoryRoot.appendingPathComponent("Rules"))) ?? []

    @Test("the shipped rules break no invariant on 10,000 generated patients (seeded)")
    func shippedRulesAreSafe() throws {
        let rules = try #require(RuleCompiler.compile(Self.sources).rules)
        let result = SafetyCheck.run(rules)
        #expect(result.patients == 10_000)
        #expect(
            result.violatingPatients == 0,
            "\(result.summary)\n\(result.diagnostics.map(\.description).joined(separator: "\n"))")
        #expect(rules.invariants.count >= 14)
    }

    @Test("generated patients are valid events covering every event type and vocabulary")
    func generatorCoversTheVocabulary() throws {
        let rules = try #require(RuleCompiler.compile(Self.sources).rules)
        var seen: [String: Set<String>] = [:]
        var refused: [String] = []
        for index in 0..<3_000 {
            let (events, _) = SafetyCheck.generate(rules, seed: 7, index: index)
            for event in events {
                do {
                    _ = try EventDecoder.decode(event)
                } catch {
                    refused.append("\(error)")
                }
                guard case .object(let members) = event, case .string(let type)? = members["type"],
                    case .object(let data)? = members["data"]
                else { continue }
                seen["type", default: []].insert(type)
                for (key, value) in data {
                    if case .string(let word) = value { seen["\(type).\(key)", default: []].insert(word) }
                    if case .array(let items) = value {
                        for case .string(let word) in items { seen["\(type).\(key)", default: []].insert(word) }
                    }
                }
            }
        }
        #expect(refused.isEmpty, "\(refused.prefix(3))")
        let expected: [(String, [String])] = [
            ("type", Vocabulary.eventTypes), ("condition.code", Vocabulary.conditions),
            ("allergy.substance", Vocabulary.drugs), ("metastasis.site", Vocabulary.metastasisSites),
            ("performance-status.scale", Vocabulary.performanceScales), ("staging.edition", Vocabulary.editions),
            ("diagnosis.histology", Vocabulary.histologies), ("diagnosis.cancer", Vocabulary.cancers),
            ("medication.class", Vocabulary.medicationClasses), ("preference.declines", Vocabulary.declinable),
            ("tumor-board.resectability", Vocabulary.resectability), ("lab.test", Vocabulary.labTests),
        ]
        for (key, vocabulary) in expected {
            #expect(
                Set(vocabulary).subtracting(seen[key] ?? []).isEmpty,
                "\(key) never generated: \(Set(vocabulary).subtracting(seen[key] ?? []))")
        }
    }

    @Test("the same seed gives the same patients")
    func reproducible() throws {
        let rules = try #require(RuleCompiler.compile(Self.sources).rules)
        for index in [0, 17, 9_999] {
            #expect(
                SafetyCheck.generate(rules, seed: 3, index: index).0
                    == SafetyCheck.generate(rules, seed: 3, index: index).0)
        }
        #expect(SafetyCheck.generate(rules, seed: 3, index: 1).0 != SafetyCheck.generate(rules, seed: 4, index: 1).0)
    }

    /// One edit per invariant that a rules author could make by mistake, in the file it belongs to.
    static let edits: [(invariant: String, file: String, edit: Edit)] = [
        (
            "no-anticancer-treatment-at-ecog-3-or-unknown", "safety.yaml",
            .replace("when: \"ecog >= 3\"", "when: \"ecog >= 5\"")
        ),
        ("no-allergen", "agents.yaml", .deleteItem("cisplatin-allergy")),
        ("no-checkpoint-inhibitor-when-contraindicated", "agents.yaml", .deleteItem("ici-interstitial-lung-disease")),
        ("no-anti-vegf-when-contraindicated", "agents.yaml", .deleteItem("antivegf-antiplatelet")),
        ("no-bevacizumab-over-75", "agents.yaml", .deleteItem("bevacizumab-age-over-75")),
        ("no-chemotherapy-when-declined-or-unfit", "safety.yaml", .deleteItem("declined-chemotherapy")),
        ("no-immunotherapy-when-declined-or-unfit", "safety.yaml", .deleteItem("declined-immunotherapy")),
        ("no-surgery-when-declined-or-unfit", "safety.yaml", .deleteItem("declined-surgery")),
        ("no-chemotherapy-in-pregnancy", "agents.yaml", .deleteItem("cytotoxic-pregnancy")),
        (
            "no-pleural-resection-at-m1-or-non-epithelioid-subtypes", "agents.yaml",
            .deleteItem("resection-desmoplastic")
        ),
        (
            "no-cytoreductive-surgery-with-extraperitoneal-disease", "agents.yaml",
            .deleteItem("crs-extraperitoneal-metastasis-site")
        ),
        (
            "no-pleural-mesothelioma-option-for-another-cancer", "pleural-mesothelioma.yaml",
            .replace(
                "applies: diagnosis.cancer == pleural-mesothelioma",
                "applies: diagnosis.cancer in [pleural-mesothelioma, gastric-adenocarcinoma]")
        ),
    ]

    enum Edit: Sendable {
        case replace(String, String)
        /// Removes the list item with this id (a one-line flow mapping or a block mapping).
        case deleteItem(String)

        func apply(to text: String) -> String {
            switch self {
            case .replace(let old, let new):
                return text.replacingOccurrences(of: old, with: new)
            case .deleteItem(let id):
                var lines = text.components(separatedBy: "\n")
                guard
                    let start = lines.firstIndex(where: { $0.contains("- id: \(id)") || $0.contains("- { id: \(id),") })
                else {
                    return text
                }
                let indent = lines[start].prefix { $0 == " " }.count
                var end = start + 1
                while end < lines.count, lines[end].prefix(while: { $0 == " " }).count > indent,
                    !lines[end].trimmingCharacters(in: .whitespaces).hasPrefix("-")
                        || lines[end].prefix(while: { $0 == " " }).count > indent + 2
                {
                    end += 1
                }
                lines.removeSubrange(start..<end)
                return lines.joined(separator: "\n")
            }
        }
    }

    @Test("an edit that breaks an invariant is refused with the smallest counterexample", arguments: edits.indices)
    func editIsRefused(index: Int) throws {
        let (invariant, file, edit) = Self.edits[index]
        let edited = Self.sources.map { source in
            source.name == file ? RuleSource(name: source.name, contents: edit.apply(to: source.contents)) : source
        }
        #expect(edited.map(\.contents) != Self.sources.map(\.contents), "the edit changed nothing")
        let compiled = RuleCompiler.compile(edited)
        let rules = try #require(compiled.rules, "\(compiled.errors)")
        let result = SafetyCheck.run(rules, stopAtFirstViolation: true)
        let example = try #require(
            result.counterexamples.first { $0.violation.invariant == invariant },
            "\(result.summary): \(result.counterexamples.map(\.violation))")
        let diagnostic = try #require(result.diagnostics.first { $0.message.contains(example.violation.subject) })
        #expect(diagnostic.code == "safety-invariant")
        #expect(diagnostic.location.file == "invariants.yaml")
        // The counterexample is an events file that replays the violation, and it is small.
        let data = Data(example.eventsJSON.utf8)
        let events = try JSONDecoder().decode([JSONValue].self, from: data)
        #expect(events.count <= 12, "\(example.eventsJSON)")
        let facts = PatientFacts(events: try events.map { try EventDecoder.decode($0) })
        let replayed = rules.violations(
            facts, context: EvaluationContext(now: example.at, decisionId: "replay", parameters: example.parameters))
        #expect(replayed.contains { $0.invariant == invariant })
        // The unedited rules give the same patient no violation.
        let shipped = try #require(RuleCompiler.compile(Self.sources).rules)
        #expect(
            shipped.violations(
                facts, context: EvaluationContext(now: example.at, decisionId: "replay", parameters: example.parameters)
            ).isEmpty)
    }

    @Test("a requirement written as 'X is unknown' is refused: an unrecorded fact never passes")
    func unknownIsNeverPass() {
        let found = diagnostics(
            """
            pack: p
            version: "1"
            trials:
              - id: T1
                title: t
                recruitment: recruiting
                cite: c
                criteria:
                  - { id: c1, kind: inclusion, text: t, cite: c, when: "condition.hiv != present or condition.hiv is unknown" }
            """)
        #expect(found.contains { $0.code == "unknown-as-pass" })
    }

    @Test("no reason over an unrecorded fact prints pass, on generated patients")
    func noPassOverUnknown() throws {
        let rules = try #require(RuleCompiler.compile(Self.sources).rules)
        for index in 0..<500 {
            let (events, parameters) = SafetyCheck.generate(rules, seed: 11, index: index)
            let facts = PatientFacts(events: events.compactMap { try? EventDecoder.decode($0) })
            let evaluation = rules.evaluate(
                facts, context: EvaluationContext(now: PatientGenerator.now, decisionId: "d", parameters: parameters))
            for option in evaluation.options {
                for reason in option.reasons where reason.result == "pass" {
                    // A pass may read unknown facts only inside `or`/`exists`, never because they are unknown:
                    // re-evaluating with every read fact unknown must not still pass.
                    let read = reason.values ?? []
                    if !read.isEmpty, read.allSatisfy({ $0.value == .null }) {
                        Issue.record(
                            "\(option.id): \"\(reason.text)\" passes with nothing recorded (\(reason.condition ?? ""))")
                    }
                }
                for name in option.missing
                where option.reasons.contains(where: { reason in
                    reason.result == "pass" && (reason.values ?? []).count == 1 && reason.values?.first?.fact == name
                        && reason.values?.first?.value == .null
                }) {
                    Issue.record("\(option.id): \(name) is missing but a reason over it passes")
                }
            }
        }
    }
}

@Suite("The safety matrix in docs/clinical-content.md is the one the rules give")
struct SafetyMatrixDocumentTests {
    @Test("docs/clinical-content.md holds `pathwayctl rules matrix Rules` exactly")
    func documentMatchesRules() throws {
        let rules = try #require(RuleCompiler.compile(SafetyTests.sources).rules)
        let document = try String(
            contentsOf: repositoryRoot.appendingPathComponent("docs/clinical-content.md"), encoding: .utf8)
        let begin = "<!-- safety-matrix:begin -->\n"
        let start = try #require(document.range(of: begin)).upperBound
        let end = try #require(document.range(of: "<!-- safety-matrix:end -->")).lowerBound
        #expect(String(document[start..<end]) == rules.safetyMatrix, "regenerate with: pathwayctl rules matrix Rules")
        // Every anticancer option of every pathway is in it, with the performance-status gate.
        let optionRows = rules.safetyMatrix.split(separator: "\n").filter {
            $0.hasPrefix("| pleural-mesothelioma |") || $0.hasPrefix("| peritoneal-mesothelioma |")
        }
        #expect(optionRows.count >= 25)
        for line in optionRows where line.contains("| systemic |") || line.contains("| surgery |") {
            #expect(line.contains("performance-status"), "\(line)")
        }
    }
}
