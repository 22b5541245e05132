import PathwayAPI
import PathwayTestSupport
import Testing

@testable import PathwayCore

/// Issue 14: the evaluation document puts first what a tumor board reads first — on every pack
/// test case and on 2,000 generated patients, not only on the examples.
@Suite("evaluation document: order, summary, evidence links")
struct DocumentOrderTests {
    static let rules = RuleCompiler.compile(SafetyTests.sources).rules!

    static var evaluations: [(String, EvaluationV1)] {
        var all: [(String, EvaluationV1)] = rules.tests.map { test in
            (
                test.name,
                rules.evaluate(
                    PatientFacts(events: test.events, asOf: test.now),
                    context: EvaluationContext(
                        now: test.now, decisionId: "t", patientId: "T", parameters: test.parameters))
            )
        }
        for index in 0..<2_000 {
            let (events, parameters) = SafetyCheck.generate(rules, seed: 14, index: index)
            all.append(
                (
                    "generated \(index)",
                    rules.evaluate(
                        PatientFacts(events: events.compactMap { try? EventDecoder.decode($0) }),
                        context: EvaluationContext(now: PatientGenerator.now, decisionId: "g", parameters: parameters))
                ))
        }
        return all
    }

    @Test("options by status then rank, trials by status with other populations last, missing data by impact")
    func ordering() throws {
        var checked = 0
        for (name, evaluation) in Self.evaluations {
            let statuses = evaluation.options.map { order($0.status) }
            #expect(statuses == statuses.sorted(), "\(name): \(evaluation.options.map(\.status))")
            let ranks = evaluation.options.compactMap(\.rank)
            #expect(ranks == Array(1...max(1, ranks.count)).prefix(ranks.count).map { $0 }, "\(name): ranks \(ranks)")
            let trialKeys = evaluation.trials.map { (order($0.status), $0.outsidePopulation == true ? 1 : 0) }
            #expect(
                zip(trialKeys, trialKeys.dropFirst()).allSatisfy { $0 <= $1 }, "\(name): \(evaluation.trials.map(\.id))"
            )
            for trial in evaluation.trials where trial.outsidePopulation == true {
                #expect(trial.status == "ineligible", "\(name): \(trial.id) outside its population but \(trial.status)")
            }
            let missing = evaluation.missingData
            for (a, b) in zip(missing, missing.dropFirst()) {
                let firstA = a.neededBy.contains("pathway") || a.neededBy.contains("setting")
                let firstB = b.neededBy.contains("pathway") || b.neededBy.contains("setting")
                #expect(firstA || !firstB, "\(name): \(b.fact) decides the setting but comes after \(a.fact)")
                if firstA == firstB { #expect((a.decides ?? 0) >= (b.decides ?? 0), "\(name): \(a.fact), \(b.fact)") }
            }
            for entry in missing {
                let counted = entry.neededBy.count { $0 != "pathway" && $0 != "setting" }
                #expect(entry.decides == counted, "\(name): \(entry.fact) decides \(entry.decides ?? -1) ≠ \(counted)")
            }
            checked += 1
        }
        #expect(checked > 2_000)
    }

    @Test("the summary is what the facts say: unknown is absent, never guessed")
    func summary() throws {
        for (name, evaluation) in Self.evaluations {
            let summary = try #require(evaluation.summary, "\(name)")
            // Stage only from a complete T, N, M and edition (the derived stage says the same).
            if let stage = summary.stage {
                #expect(stage.from.split(separator: " ").count == 3, "\(name): \(stage.from)")
            }
            if summary.performanceStatus.ecog != nil {
                #expect(summary.performanceStatus.scale != nil, "\(name): an ECOG without the scale it came from")
            }
            let c = summary.contraindications
            #expect(Set(c.present).isDisjoint(with: c.absent) && Set(c.present).isDisjoint(with: c.unknown), "\(name)")
            #expect(summary.priorSystemicLines == summary.treatments.count { $0.kind == "systemic" }, "\(name)")
        }
        // A patient with nothing recorded: every part unknown, nothing invented.
        let empty = Self.rules.evaluate(
            PatientFacts(events: []), context: EvaluationContext(now: PatientGenerator.now, decisionId: "e"))
        let summary = try #require(empty.summary)
        #expect(summary.diagnosis.cancer == nil && summary.stage == nil && summary.performanceStatus.ecog == nil)
        #expect(summary.contraindications.present.isEmpty && summary.contraindications.absent.isEmpty)
    }

    @Test("every evidence entry, trial and criterion of the shipped packs resolves to a titled source")
    func evidenceSources() throws {
        var entries = 0
        for pathway in Self.rules.pathways {
            for option in pathway.options {
                for evidence in option.evidence {
                    #expect(evidence.title != nil, "\(option.id): \(evidence.cite)")
                    // The registry page of an NCT id; none for a trial whose identification is unconfirmed.
                    let unconfirmed = Self.rules.trials.contains { $0.id == evidence.nct && $0.url == nil }
                    if let nct = evidence.nct, !unconfirmed {
                        #expect(evidence.url == "https://clinicaltrials.gov/study/\(nct)", "\(option.id)")
                    }
                    if let level = evidence.level { #expect(EvidenceV1.isLevel(level), "\(option.id): level \(level)") }
                    if let url = evidence.url { #expect(url.hasPrefix("https://"), "\(url)") }
                    entries += 1
                }
            }
        }
        for trial in Self.rules.trials {
            for criterion in trial.criteria + [trial.population].compactMap({ $0 }) {
                #expect(criterion.reference != nil, "\(trial.id) \(criterion.id): \(criterion.cite)")
            }
        }
        #expect(entries >= 37)
        // The unconfirmed HISTORIA identification gets no registry link.
        #expect(Self.rules.trials.first { $0.id == "NCT06427252" }?.url == nil)
        #expect(
            Self.rules.trials.first { $0.id == "NCT07121374" }?.url == "https://clinicaltrials.gov/study/NCT07121374")
    }

    @Test("a references table refuses a cite it cannot resolve and a level that is not a level")
    func referenceErrors() {
        let pack = """
            pack: p
            version: "1"
            references:
              - { id: pdq, cites: ["pdq.txt"], title: "PDQ", url: "https://example.org/pdq" }
            """
        let option = """
            pack: q
            version: "1"
            pathway:
              id: x
              label: X
              applies: diagnosis.cancer == pleural-mesothelioma
              settings: [{ id: s, label: S, when: "true" }]
              options:
                - id: o
                  label: O
                  kind: supportive
                  evidence:
                    - { source: S, level: "should be offered", cite: "nowhere.txt — section" }
            """
        let result = RuleCompiler.compile([
            RuleSource(name: "a.yaml", contents: pack), RuleSource(name: "b.yaml", contents: option),
        ])
        let codes = result.errors.map(\.code)
        #expect(codes.contains("unresolved-citation"), "\(result.errors)")
        #expect(
            result.errors.contains { $0.code == "invalid-value" && $0.message.contains("level") }, "\(result.errors)")
    }
}
