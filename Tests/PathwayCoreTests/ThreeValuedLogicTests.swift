import PathwayAPI
import Testing

@testable import PathwayCore

/// Strong Kleene truth tables, exercised through the rule language on facts that are true, false or unknown.
@Suite("Three-valued logic follows the strong Kleene tables")
struct ThreeValuedLogicTests {
    /// `a` and `b` are boolean tumor-board facts; nil leaves them unknown.
    private func evaluate(_ expression: String, a: Bool?, b: Bool?) throws -> JSONValue {
        let rules = try compile([
            "p.yaml": """
            pack: p
            version: "1"
            derive:
              - { fact: result, expr: "\(expression)" }
            """
        ])
        var data: [String: JSONValue] = [:]
        if let a { data["fitForSurgery"] = .bool(a) }
        if let b { data["fitForSystemicTherapy"] = .bool(b) }
        let events = data.isEmpty ? [] : [event("tumor-board", .object(data))]
        return rules.evaluate(
            try facts(events), context: EvaluationContext(now: Instant(millisecondsSinceEpoch: 0), decisionId: "d")
        )
        .derived["result"]!
    }

    static let values: [Bool?] = [true, false, nil]

    private func kleeneAnd(_ a: Bool?, _ b: Bool?) -> Bool? {
        if a == false || b == false { return false }
        if a == nil || b == nil { return nil }
        return true
    }

    private func json(_ value: Bool?) -> JSONValue { value.map(JSONValue.bool) ?? .null }

    @Test("and", arguments: values, values)
    func and(a: Bool?, b: Bool?) throws {
        #expect(
            try evaluate("tumor-board.fitForSurgery and tumor-board.fitForSystemicTherapy", a: a, b: b)
                == json(kleeneAnd(a, b)))
    }

    @Test("or", arguments: values, values)
    func or(a: Bool?, b: Bool?) throws {
        let expected = kleeneAnd(a.map(!), b.map(!)).map(!)
        #expect(
            try evaluate("tumor-board.fitForSurgery or tumor-board.fitForSystemicTherapy", a: a, b: b) == json(expected)
        )
    }

    @Test("not", arguments: values)
    func not(a: Bool?) throws {
        #expect(try evaluate("not tumor-board.fitForSurgery", a: a, b: nil) == json(a.map(!)))
    }

    @Test("comparisons over an unknown fact are unknown; existence tests are always decided")
    func unknownComparisons() throws {
        #expect(try evaluate("tumor-board.fitForSurgery == true", a: nil, b: nil) == .null)
        #expect(try evaluate("tumor-board.fitForSurgery is known", a: nil, b: nil) == .bool(false))
        #expect(try evaluate("tumor-board.fitForSurgery is unknown", a: nil, b: nil) == .bool(true))
        #expect(try evaluate("tumor-board.fitForSurgery is not known", a: true, b: nil) == .bool(false))
    }

    @Test("a score whose unknown terms cannot cross the threshold still has a class")
    func scoreWithUnknownTerms() throws {
        let pack = """
            pack: p
            version: "1"
            derive:
              - fact: s
                score:
                  threshold: 1.0
                  above: high
                  atOrBelow: low
                  terms:
                    - { when: tumor-board.fitForSurgery, weight: 0.8, cite: t }
                    - { when: tumor-board.fitForSystemicTherapy, weight: 0.3, cite: t }
            """
        let rules = try compile(["p.yaml": pack])
        func risk(_ data: JSONValue) throws -> JSONValue? {
            rules.evaluate(
                try facts([event("tumor-board", data)]),
                context: EvaluationContext(now: Instant(millisecondsSinceEpoch: 0), decisionId: "d")
            )
            .derived["s"]?["class"]
        }
        #expect(try risk(["fitForSurgery": false]) == "low")  // 0 + at most 0.3 ≤ 1.0
        #expect(try risk(["fitForSystemicTherapy": true]) == .null)  // 0.3 + at most 0.8 may cross
        #expect(try risk(["fitForSurgery": true, "fitForSystemicTherapy": true]) == "high")
    }
}
