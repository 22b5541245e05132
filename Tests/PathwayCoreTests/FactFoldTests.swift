import PathwayAPI
import Testing

@testable import PathwayCore

@Suite("Facts are folded by occurrence, retractions withdraw, treatment history is closed-world")
struct FactFoldTests {
    @Test("a late event about the past does not override a newer fact")
    func occurrenceOrder() throws {
        let folded = try facts([
            event("performance-status", ["scale": "ecog", "value": 2], id: "new", at: "2026-03-01T00:00:00Z"),
            event("performance-status", ["scale": "ecog", "value": 0], id: "old", at: "2026-01-01T00:00:00Z"),
        ])
        #expect(folded.value("performance-status") == .number(2))
        #expect(folded.current["performance-status"]?.eventId == "new")
        #expect(folded.history.contains { $0.eventId == "old" && $0.reason == .superseded })
    }

    @Test("the same events in any arrival order give the same facts")
    func arrivalOrderDoesNotMatter() throws {
        let events = [
            event("condition", ["code": "hiv", "status": "present"], id: "a", at: "2026-01-01T00:00:00Z"),
            event("condition", ["code": "hiv", "status": "absent"], id: "b", at: "2026-01-01T00:00:00Z"),
            event(
                "staging", ["edition": "ajcc8", "t": "T1", "n": "N0", "m": "M0"], id: "c", at: "2026-01-02T00:00:00Z"),
        ]
        #expect(try facts(events) == facts(events.reversed()))
        #expect(try facts(events).value("condition.hiv") == .word("absent"))  // tie broken by event id
    }

    @Test("a retraction removes the retracted event's facts and keeps them in history")
    func retraction() throws {
        let folded = try facts([
            event("performance-status", ["scale": "ecog", "value": 1], id: "ps-a", at: "2026-01-01T00:00:00Z"),
            event("performance-status", ["scale": "ecog", "value": 3], id: "ps-b", at: "2026-02-01T00:00:00Z"),
            event("retraction", ["eventId": "ps-b"], id: "r", at: "2026-02-02T00:00:00Z"),
        ])
        #expect(folded.value("performance-status") == .number(1))
        #expect(folded.history.contains { $0.eventId == "ps-b" && $0.reason == .retracted })
        #expect(!folded.eventIds.contains("ps-b"))
    }

    @Test("treatment events of one line merge; progression marks the lines before it")
    func treatmentLines() throws {
        let folded = try facts([
            event(
                "treatment",
                [
                    "kind": "systemic", "agents": ["pemetrexed", "cisplatin"], "setting": "first-line",
                    "status": "started",
                ], at: "2026-01-01T00:00:00Z"),
            event(
                "treatment",
                [
                    "kind": "systemic", "agents": ["cisplatin", "pemetrexed"], "setting": "first-line", "cycles": 4,
                    "status": "completed",
                ], at: "2026-03-01T00:00:00Z"),
            event("progression", [:], at: "2026-06-01T00:00:00Z"),
            event(
                "treatment",
                ["kind": "systemic", "agents": ["nivolumab"], "setting": "second-line", "status": "started"],
                at: "2026-06-15T00:00:00Z"),
        ])
        #expect(folded.treatments.count == 2)
        #expect(folded.treatments[0].status == "completed")
        #expect(folded.treatments[0].cycles == 4)
        #expect(folded.treatments[0].progressionAt == (try Instant.parse("2026-06-01T00:00:00Z")))
        #expect(folded.treatments[1].progressionAt == nil)
    }

    @Test("no facts recorded: every open-world fact is unknown, treatment history is empty")
    func unknownIsNotNo() throws {
        let rules = try compile([
            "p.yaml": """
            pack: p
            version: "1"
            derive:
              - { fact: treated, expr: "exists(treatment)" }
              - { fact: transplanted, expr: "condition.organ-transplant == present" }
            """
        ])
        let evaluation = rules.evaluate(
            PatientFacts(), context: EvaluationContext(now: Instant(millisecondsSinceEpoch: 0), decisionId: "d"))
        #expect(evaluation.derived["treated"] == .bool(false))
        #expect(evaluation.derived["transplanted"] == .null)
    }
}
