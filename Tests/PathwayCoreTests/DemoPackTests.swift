import Foundation
import PathwayAPI
import PathwayTestSupport
import Testing

@testable import PathwayCore

@Suite("A demonstration pack exercises every feature of the rule language")
struct DemoPackTests {
    private func demo() throws -> CompiledRules {
        let text = try String(
            contentsOf: repositoryRoot.appendingPathComponent("Tests/PathwayCoreTests/Fixtures/demo-pack.yaml"),
            encoding: .utf8)
        return try compile(["demo.yaml": text])
    }

    @Test("its own pack tests pass")
    func packTests() throws {
        let results = try demo().runTests()
        #expect(results.count == 3)
        for result in results where !result.passed { Issue.record("\(result.name): \(result.failures)") }
    }

    @Test("reasons carry the condition, its result and the values read")
    func explanations() throws {
        let rules = try demo()
        let evaluation = rules.evaluate(
            try facts([
                event("diagnosis", ["cancer": "pleural-mesothelioma"]),
                event("staging", ["edition": "ajcc8", "t": "T1", "n": "N0", "m": "M0"]),
                event("performance-status", ["scale": "ecog", "value": 2]),
            ]), context: EvaluationContext(now: try Instant.parse("2026-02-01T00:00:00Z"), decisionId: "d"))
        let alpha = try #require(evaluation.options.first { $0.id == "alpha" })
        #expect(alpha.status == "not-eligible")
        let fit = try #require(alpha.reasons.first { $0.text == "Fit" })
        #expect(fit.result == "fail")
        #expect(fit.condition == "performance-status <= 1")
        #expect(fit.values == [FactValueV1(fact: "performance-status", value: 2)])
        #expect(alpha.cautions.map(\.text) == ["Always shown"])
        let referral = try #require(evaluation.options.first { $0.id == "trial:DEMO-1" })
        #expect(referral.kind == "trial-referral")
        #expect(referral.status == "needs-data")
        #expect(evaluation.derived["doseWeight"] == .null)
    }

    @Test("the terminology map is compiled")
    func terminology() throws {
        let rules = try demo()
        #expect(
            rules.terminology == [
                TerminologyEntry(
                    system: "http://hl7.org/fhir/sid/icd-10-cm", code: "C45.0", display: nil, fact: "diagnosis.cancer",
                    value: "pleural-mesothelioma", status: "verified", cite: "demo")
            ])
    }
}
