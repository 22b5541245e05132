import Testing

@testable import PathwayCore

@Suite("The compiler reports every problem at once, each with file, line, column and a stable code")
struct DiagnosticsTests {
    private static let header = "pack: p\nversion: \"1\"\n"

    private static let pathway = """
        pathway:
          id: demo
          applies: diagnosis.cancer == pleural-mesothelioma
          settings:
            - { id: first, when: "performance-status <= 1" }
          options:
        """

    @Test(
        "each kind of problem has its code and its place",
        arguments: [
            ("key: [unclosed", "yaml-syntax", 4),
            ("colour: blue", "unknown-key", 3),
            ("derive:\n  - { fact: x, expr: \"ecogg <= 1\" }", "unknown-fact", 4),
            ("derive:\n  - { fact: x, expr: \"diagnosis.histology == epitheloid\" }", "unknown-vocabulary", 4),
            ("derive:\n  - { fact: x, expr: \"performance-status == epithelioid\" }", "type-mismatch", 4),
            ("derive:\n  - { fact: x, expr: \"performance-status == 'epithelioid'\" }", "type-mismatch", 4),
            ("derive:\n  - { fact: x, expr: \"diagnosis.histology < 3\" }", "type-mismatch", 4),
            ("derive:\n  - { fact: x, expr: \"performance-status <= \" }", "expression-syntax", 4),
            ("derive:\n  - { fact: x, expr: \"sqrt(performance-status)\" }", "unknown-function", 4),
            ("derive:\n  - { fact: x, expr: \"age > 1 and age < 9 or age == 20\" }", "ambiguous-and-or", 4),
            ("derive:\n  - { fact: x, expr: y }\n  - { fact: y, expr: x }", "derivation-cycle", 4),
            ("derive:\n  - { fact: age, expr: \"1\" }\n  - { fact: age, expr: \"2\" }", "duplicate-derived-fact", 5),
            (
                "staging:\n  tables:\n    - edition: ajcc8\n      cite: c\n      rows:\n        - { group: IA, t: T1, n: N0, m: M0 }\n        - { group: IB, t: [T1, T2], n: N0, m: M0 }",
                "staging-overlap", 9
            ),
            (
                pathway
                    + "\n    - { id: a, label: A, kind: systemic, settings: [first], strength: recommended, evidence: [{ source: s, cite: c }] }\n    - { id: a, label: A, kind: systemic, settings: [first], strength: recommended, evidence: [{ source: s, cite: c }] }",
                "duplicate-option-id", 10
            ),
            (
                pathway
                    + "\n    - { id: a, label: A, kind: systemic, settings: [second], strength: recommended, evidence: [{ source: s, cite: c }] }",
                "unknown-setting", 9
            ),
            (
                pathway
                    + "\n    - { id: a, label: A, kind: systemic, settings: [], strength: recommended, evidence: [{ source: s, cite: c }] }",
                "unreachable-option", 9
            ),
            (
                pathway + "\n    - { id: a, label: A, kind: systemic, settings: [first], strength: recommended }",
                "missing-citation", 9
            ),
            (
                pathway
                    + "\n    - { id: a, label: A, kind: pill, settings: [first], strength: recommended, evidence: [{ source: s, cite: c }] }",
                "unknown-vocabulary", 9
            ),
            (pathway + "\n    - { trial: NCT00000000, settings: [first] }", "unknown-trial", 9),
            (
                "trials:\n  - id: T1\n    title: t\n    recruitment: recruiting\n    cite: c\n    criteria:\n      - { id: c1, kind: inclusion, text: t, cite: c, when: \"age >= 18\" }\n      - { id: c1, kind: exclusion, text: t, cite: c, when: \"age >= 90\" }",
                "duplicate-criterion-id", 10
            ),
            (
                "trials:\n  - id: T1\n    title: t\n    recruitment: recruiting\n    cite: c\n    criteria:\n      - { id: c1, kind: inclusion, text: t, when: \"age >= 18\" }",
                "missing-citation", 9
            ),
            (
                "tests:\n  - { name: t, events: [], expect: { options: { nivolumab: recommended } } }",
                "unknown-test-reference", 4
            ),
            (
                "tests:\n  - { name: t, events: [{ type: staging, occurredAt: \"2026-01-01T00:00:00Z\", data: { edition: ajcc8, t: T9, n: N0, m: M0 } }], expect: {} }",
                "invalid-test-event", 4
            ),
            ("parameters:\n  - { id: region, values: [eu, fda], default: us }", "unknown-vocabulary", 4),
        ] as [(String, String, Int)])
    func reportsProblem(body: String, code: String, line: Int) {
        let found = diagnostics(Self.header + body)
        let match = found.first { $0.code == code }
        #expect(match != nil, "expected \(code) in \(found)")
        #expect(match?.location.line == line, "\(found)")
        #expect(match?.location.file == "pack.yaml")
        #expect(match?.description.hasPrefix("pack.yaml:\(line):") == true)
    }

    @Test("all problems of a file come out together, sorted by place")
    func collectsEverything() {
        let found = diagnostics(
            Self.header + """
                derive:
                  - { fact: a, expr: "ecogg <= 1" }
                  - { fact: b, expr: "diagnosis.histology == epitheloid" }
                  - { fact: c, expr: "diagnosis.histology < 3" }
                colour: blue
                """)
        #expect(found.map(\.code) == ["unknown-fact", "unknown-vocabulary", "type-mismatch", "unknown-key"])
        #expect(found == found.sorted())
    }

    @Test("a duplicate pack id names the first definition")
    func duplicatePack() {
        let result = RuleCompiler.compile([
            RuleSource(name: "a.yaml", contents: Self.header), RuleSource(name: "b.yaml", contents: Self.header),
        ])
        #expect(result.rules == nil)
        #expect(result.errors.first?.code == "duplicate-pack-id")
        #expect(result.errors.first?.message.contains("a.yaml:1:") == true)
    }

    @Test("a mapping key that is not a scalar is reported, not a crash")
    func complexKeys() {
        #expect(!diagnostics("{[a]: b}").isEmpty)
        #expect(!diagnostics("? ? a\n: b").isEmpty)
    }
}
