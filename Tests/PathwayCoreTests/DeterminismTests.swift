import Foundation
import PathwayAPI
import PathwayTestSupport
import Testing

@testable import PathwayCore

@Suite("Same sources give the same revision; same facts, revision and context give the same bytes")
struct DeterminismTests {
    @Test("the revision depends on the sources only, not on their order")
    func revision() throws {
        let sources = try ruleSources(in: repositoryRoot.appendingPathComponent("Rules"))
        let forward = RuleCompiler.revision(of: sources)
        #expect(forward == RuleCompiler.revision(of: sources.reversed()))
        #expect(forward.hasPrefix("sha256:") && forward.count == 71)
        var edited = sources
        edited[0].contents += "\n# a comment is a change\n"
        #expect(RuleCompiler.revision(of: edited) != forward)
        #expect(RuleCompiler.compile(sources).rules?.revision == forward)
    }

    @Test("evaluating twice, and after recompiling, gives byte-identical JSON")
    func sameBytes() throws {
        let sources = try ruleSources(in: repositoryRoot.appendingPathComponent("Rules"))
        let first = try #require(RuleCompiler.compile(sources).rules)
        let second = try #require(RuleCompiler.compile(sources.reversed()).rules)
        let patient = try facts([
            event("demographics", ["birthDate": "1954-06-15", "sex": "male", "weightKg": 80]),
            event("diagnosis", ["cancer": "pleural-mesothelioma", "histology": "sarcomatoid"]),
            event("staging", ["edition": "ajcc8", "t": "T3", "n": "N2", "m": "M0", "stageGroup": "IB"]),
            event("lab", ["test": "wbc", "value": 9, "unit": "10^9/L"]),
        ])
        let context = EvaluationContext(
            now: try Instant.parse("2026-03-01T10:00:01Z"), decisionId: "d-1", patientId: "P1")
        let a = try sortedEncoder.encode(first.evaluate(patient, context: context))
        let b = try sortedEncoder.encode(first.evaluate(patient, context: context))
        let c = try sortedEncoder.encode(second.evaluate(patient, context: context))
        #expect(a == b)
        #expect(a == c)
    }
}
