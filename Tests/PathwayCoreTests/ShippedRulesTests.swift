import Foundation
import PathwayAPI
import PathwayTestSupport
import Testing

@testable import PathwayCore

@Suite("The shipped rule packs")
struct ShippedRulesTests {
    static let rules: CompiledRules? = {
        guard let sources = try? ruleSources(in: repositoryRoot.appendingPathComponent("Rules")) else { return nil }
        return RuleCompiler.compile(sources).rules
    }()

    @Test("compile without a diagnostic")
    func compileClean() throws {
        let sources = try ruleSources(in: repositoryRoot.appendingPathComponent("Rules"))
        let result = RuleCompiler.compile(sources)
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics)")
    }

    @Test("pass every pack test (at least 80)")
    func packTests() throws {
        let rules = try #require(Self.rules)
        let results = rules.runTests()
        #expect(results.count >= 80)
        for result in results where !result.passed {
            Issue.record("\(result.location) \(result.name): \(result.failures.joined(separator: "; "))")
        }
    }

    /// The six cases of shared/cases/examples.json, read from the copy in Fixtures and checked
    /// against their own expectations, independently of the YAML transcription in Rules/tests.
    @Test("give the expected results for the shared example cases", arguments: 0..<6)
    func exampleCase(index: Int) throws {
        let rules = try #require(Self.rules)
        let data = try Data(
            contentsOf: repositoryRoot.appendingPathComponent("Tests/PathwayCoreTests/Fixtures/examples.json"))
        let file = try JSONDecoder().decode(JSONValue.self, from: data)
        guard case .array(let cases)? = file["cases"], case .array(let events)? = cases[index]["events"] else {
            Issue.record("malformed examples.json")
            return
        }
        let decoded = try events.map { try EventDecoder.decode($0) }
        let now = decoded.map(\.occurredAt).max()!
        let evaluation = rules.evaluate(
            PatientFacts(events: decoded), context: EvaluationContext(now: now, decisionId: "x"))
        let expect = cases[index]["expect"]!
        if case .object(let derived)? = expect["derived"], case .string(let group)? = derived["stage.group"] {
            #expect(evaluation.derived["stage"]?["group"] == .string(group))
        }
        if case .object(let options)? = expect["options"] {
            for (id, wanted) in options {
                let option = try #require(evaluation.options.first { $0.id == id }, "option \(id)")
                if case .array(let statuses)? = wanted["status"] {
                    #expect(statuses.contains(.string(option.status)), "\(id): \(option.status)")
                }
                if case .number(let rank)? = wanted["rank"] { #expect(option.rank == Int(rank)) }
                if case .string(let fact)? = wanted["missingIncludes"] { #expect(option.missing.contains(fact)) }
            }
        }
        if case .object(let trials)? = expect["trials"] {
            for (id, wanted) in trials {
                let trial = try #require(evaluation.trials.first { $0.id == id }, "trial \(id)")
                if case .array(let statuses)? = wanted["status"] { #expect(statuses.contains(.string(trial.status))) }
                if wanted["noFailingCriterion"] == .bool(true) {
                    #expect(!trial.criteria.contains { $0.result == "fail" })
                }
                if case .string(let recruitment)? = wanted["recruitment"] { #expect(trial.recruitment == recruitment) }
            }
        }
    }

    @Test("every option and criterion in an evaluation carries a citation")
    func citations() throws {
        let rules = try #require(Self.rules)
        for cancer in ["pleural-mesothelioma", "peritoneal-mesothelioma"] {
            for treated in [false, true] {
                var events = [event("diagnosis", .object(["cancer": .string(cancer)]))]
                if treated {
                    events.append(
                        event(
                            "treatment",
                            ["kind": "systemic", "agents": ["nivolumab", "ipilimumab"], "status": "completed"]))
                }
                let evaluation = rules.evaluate(
                    try facts(events),
                    context: EvaluationContext(now: Instant(millisecondsSinceEpoch: 0), decisionId: "x"))
                #expect(!evaluation.options.isEmpty)
                for option in evaluation.options {
                    #expect(!option.evidence.isEmpty && option.evidence.allSatisfy { !$0.cite.isEmpty }, "\(option.id)")
                    #expect(option.cautions.allSatisfy { $0.cite?.isEmpty == false }, "\(option.id)")
                }
                for trial in evaluation.trials {
                    #expect(!trial.cite.isEmpty && trial.criteria.allSatisfy { !$0.cite.isEmpty })
                }
            }
        }
    }

    @Test("every option of the setting is listed, whatever its status, and ranks run 1…n")
    func listsEveryOption() throws {
        let rules = try #require(Self.rules)
        let evaluation = rules.evaluate(
            try facts([
                event("diagnosis", ["cancer": "pleural-mesothelioma", "histology": "epithelioid"]),
                event("staging", ["edition": "ajcc8", "t": "T3", "n": "N1", "m": "M0"]),
                event("performance-status", ["scale": "ecog", "value": 3]),
            ]), context: EvaluationContext(now: Instant(millisecondsSinceEpoch: 0), decisionId: "x"))
        #expect(evaluation.setting == "first-line-advanced")
        #expect(evaluation.options.count >= 13)
        let ranks = evaluation.options.compactMap(\.rank).sorted()
        #expect(ranks == Array(1...ranks.count))
        #expect(
            evaluation.options.filter { $0.status == "not-eligible" }.allSatisfy {
                $0.reasons.contains { $0.result == "fail" }
            })
    }
}
