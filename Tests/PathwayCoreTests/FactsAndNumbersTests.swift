import Foundation
import PathwayAPI
import PathwayTestSupport
import Testing

@testable import PathwayCore

@Suite("Facts and numbers cannot go stale or round wrongly")
struct FactsAndNumbersTests {
    static let rules: CompiledRules? = try? RuleCompiler.compile(
        ruleSources(in: repositoryRoot.appendingPathComponent("Rules"))
    ).rules

    @Test("a fact dated after the evaluation time does not count, and is listed as future")
    func futureFactsDoNotCount() throws {
        let rules = try #require(Self.rules)
        let events = try [
            event("performance-status", ["scale": "ecog", "value": 3], id: "today", at: "2026-03-01T10:00:00Z"),
            event("performance-status", ["scale": "ecog", "value": 0], id: "typo", at: "2062-03-01T10:00:00Z"),
        ].map { try EventDecoder.decode($0) }
        let now = try Instant.parse("2026-03-02T00:00:00Z")
        let facts = PatientFacts(events: events, asOf: now)
        #expect(facts.value("performance-status") == .number(3))
        let evaluation = rules.evaluate(facts, context: EvaluationContext(now: now, decisionId: "d"))
        #expect(evaluation.derived["ecog"] == .number(3))
        #expect(
            evaluation.future == [
                FutureEventV1(eventId: "typo", type: "performance-status", occurredAt: "2062-03-01T10:00:00Z")
            ])
        // Without future events the document has no `future` key (old decisions replay unchanged).
        let today = rules.evaluate(
            PatientFacts(events: [events[0]], asOf: now), context: EvaluationContext(now: now, decisionId: "d"))
        #expect(today.future == nil)
    }

    @Test("age comes from the evaluation time, not from the events' times")
    func ageAtEvaluationTime() throws {
        let rules = try #require(Self.rules)
        let facts = try PatientFacts(events: [
            EventDecoder.decode(
                event("demographics", ["birthDate": "1960-06-15", "sex": "male"], at: "2020-01-01T00:00:00Z"))
        ])
        func age(at text: String) throws -> JSONValue? {
            let derived = rules.evaluate(
                facts, context: EvaluationContext(now: try Instant.parse(text), decisionId: "d")
            ).derived
            guard case .object(let age)? = derived["age"] else { return derived["age"] }
            return age["value"]
        }
        #expect(try age(at: "2026-06-14T23:59:59Z") == .number(65))
        #expect(try age(at: "2026-06-15T00:00:00Z") == .number(66))
    }

    @Test(
        "months are calendar months",
        arguments: [
            ("2026-01-31T00:00:00Z", "2026-02-28T00:00:00Z", 1),  // the last day of a shorter month completes it
            ("2026-01-15T12:00:00Z", "2026-07-15T11:59:59Z", 5),
            ("2026-01-15T12:00:00Z", "2026-07-15T12:00:00Z", 6),
            ("2026-02-01T00:00:00Z", "2026-08-01T00:00:00Z", 6),  // 181 days: 5.95 "average" months, 6 calendar months
            ("2026-08-01T00:00:00Z", "2026-02-01T00:00:00Z", -6),
        ])
    func calendarMonths(from: String, to: String, months: Int) throws {
        #expect(try Instant.parse(from).completedMonths(until: Instant.parse(to)) == months)
    }

    @Test("a threshold is exact at the precision it is written in: 1.5 × ULN passes ≤ 1.5 × ULN, in any unit")
    func decimalThresholds() throws {
        let rules = try compile([
            "p.yaml": """
            pack: p
            version: "1"
            derive:
              - { fact: ratio, expr: "lab.creatinine / lab.creatinine.uln" }
              - { fact: withinLimit, expr: "ratio <= 1.5" }
              - { fact: sum, expr: "0.1 + 0.2 == 0.3" }
            """
        ])
        for (value, uln, unit) in [(159.0, 106.0, "umol/L"), (1.8, 1.2, "mg/dL"), (132.63, 88.42, "µmol/L")] {
            let facts = try facts([
                event(
                    "lab",
                    [
                        "test": "creatinine", "value": .number(value), "unit": .string(unit),
                        "upperLimitOfNormal": .number(uln),
                    ])
            ])
            let evaluation = rules.evaluate(
                facts, context: EvaluationContext(now: Instant(millisecondsSinceEpoch: 0), decisionId: "d"))
            #expect(
                evaluation.derived["withinLimit"] == .bool(true),
                "\(value) / \(uln) \(unit): \(String(describing: evaluation.derived["ratio"]))")
            #expect(evaluation.derived["sum"] == .bool(true))
        }
        let above = try facts([
            event("lab", ["test": "creatinine", "value": 1.51, "unit": "mg/dL", "upperLimitOfNormal": 1])
        ])
        #expect(
            rules.evaluate(above, context: EvaluationContext(now: Instant(millisecondsSinceEpoch: 0), decisionId: "d"))
                .derived["withinLimit"] == .bool(false))
    }

    @Test("M follows the newest staging report of either edition")
    func newestMWins() throws {
        let events = try [
            event("staging", ["edition": "tnm9", "t": "T2", "n": "N0", "m": "M0"], at: "2026-01-01T00:00:00Z"),
            event("staging", ["edition": "ajcc8", "t": "T2", "n": "N2", "m": "M1"], at: "2026-02-01T00:00:00Z"),
        ].map { try EventDecoder.decode($0) }
        let facts = PatientFacts(events: events)
        #expect(facts.value("staging.tnm9.m") == .word("M1"))
        #expect(facts.value("staging.tnm9.n") == .word("N2"))
        #expect(facts.value("staging.tnm9.t") == .word("T2"))  // T is never converted between editions
    }
}

@Suite("A JSON key written twice is found, wherever it is")
struct DuplicateKeyTests {
    @Test(
        "duplicates are named by their path",
        arguments: [
            (#"{"value":0,"value":4}"#, "value"),
            (#"{"data":{"scale":"ecog","value":0,"value":4}}"#, "data.value"),
            (#"{"events":[{"id":"a"},{"id":"b","id":"c"}]}"#, "events[1].id"),
            (#"{"a":{"b":1},"a":2}"#, "a"),
            (#"{"v\u0061lue":1,"value":2}"#, "value"),
            (#"{"k":"x\"y","k":"z"}"#, "k"),
        ])
    func found(json: String, path: String) {
        #expect(JSONDuplicateKeys.first(in: Array(json.utf8)) == path)
    }

    @Test(
        "distinct keys, the same key in sibling objects and keys inside strings are not duplicates",
        arguments: [
            #"{"a":1,"b":{"a":1},"c":[{"a":1},{"a":2}]}"#,
            #"{"text":"\"a\":1,\"a\":2","a":1}"#,
            #"[{"x":1},{"x":1}]"#,
            #"{"nested":[[{"k":1}],[{"k":1}]]}"#,
        ])
    func notFound(json: String) {
        #expect(JSONDuplicateKeys.first(in: Array(json.utf8)) == nil)
    }

    @Test("100,000 levels of nesting are scanned without recursion")
    func deep() {
        let json = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(JSONDuplicateKeys.first(in: Array(json.utf8)) == nil)
    }
}
