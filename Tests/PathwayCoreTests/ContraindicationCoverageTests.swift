import Foundation
import PathwayAPI
import Testing

@testable import PathwayCore

/// Every contraindication and gate, through every option that inherits it: a generated patient to
/// whom the option is offered, plus one event that makes the contraindication present, is refused
/// the option with the contraindication's requirement failing.
@Suite("Every inherited contraindication excludes through every option that contains it")
struct ContraindicationCoverageTests {
    static let now = PatientGenerator.now

    @Test("each contraindication, made present, excludes each offered option that inherits it")
    func everyContraindicationExcludes() throws {
        let rules = try #require(RuleCompiler.compile(SafetyTests.sources).rules)
        // A patient to whom each option is offered: the first generated one found.
        // Generated patients first; the packs' own test patients for options that need a rare
        // work-up (the NECIM referral, intracavitary chemotherapy after resection).
        var offered: [String: ([Event], [String: String], String)] = [:]  // pathway/option → patient
        func consider(_ events: [Event], _ parameters: [String: String]) {
            let facts = PatientFacts(events: events, asOf: Self.now)
            let evaluation = rules.evaluate(
                facts, context: EvaluationContext(now: Self.now, decisionId: "d", parameters: parameters))
            for option in evaluation.options where ["recommended", "consider"].contains(option.status) {
                let key = "\(evaluation.pathway ?? "")/\(option.id)"
                if offered[key] == nil {
                    offered[key] = (events, parameters, facts.value("demographics.sex")?.description ?? "female")
                }
            }
        }
        for index in 0..<4_000 {
            let (events, parameters) = SafetyCheck.generate(rules, seed: 5, index: index)
            consider(events.compactMap { try? EventDecoder.decode($0) }, parameters)
        }
        for test in rules.tests { consider(test.events, test.parameters) }
        var tested: Set<String> = []
        var untestable: Set<String> = []
        for pathway in rules.pathways {
            for option in pathway.options where !option.regimen.isEmpty {
                guard let (events, parameters, sex) = offered["\(pathway.id)/\(option.id)"] else {
                    Issue.record("no generated or pack-test patient is offered \(pathway.id)/\(option.id)")
                    continue
                }
                for requirement in option.requires where requirement.inheritedFrom.count == 1 {
                    let id = requirement.inheritedFrom[0]
                    guard let contraindication = rules.contraindications.first(where: { $0.id == id }) else { continue }
                    let probe = Probe(rules: rules, sex: sex, cancer: pathway.id)
                    guard let added = probe.events(making: contraindication.when.expr) else {
                        untestable.insert(id)
                        continue
                    }
                    let all = events + added.compactMap { try? EventDecoder.decode($0) }
                    let evaluation = rules.evaluate(
                        PatientFacts(events: all, asOf: Self.now),
                        context: EvaluationContext(now: Self.now, decisionId: "d", parameters: parameters))
                    let result = evaluation.options.first { $0.id == option.id }
                    #expect(
                        result.map { !["recommended", "consider"].contains($0.status) } ?? true,
                        "\(option.id) still \(result?.status ?? "") with \(id) present")
                    if let result {
                        #expect(
                            result.reasons.contains {
                                $0.result == "fail" && $0.condition?.contains(contraindication.when.source) == true
                            },
                            "\(option.id): no failing reason for \(id)")
                    }
                    tested.insert(id)
                }
            }
        }
        // Every contraindication that some option inherits alone was exercised.
        let inherited = Set(
            rules.pathways.flatMap {
                $0.options.flatMap { $0.requires.filter { $0.inheritedFrom.count == 1 }.flatMap(\.inheritedFrom) }
            })
        #expect(untestable.isEmpty, "no event could make these present: \(untestable.sorted())")
        #expect(inherited.subtracting(tested).isEmpty, "never exercised: \(inherited.subtracting(tested).sorted())")
        #expect(tested.count >= 30, "\(tested.count) contraindications exercised")
    }

}

/// Events that make a contraindication's condition true for a generated patient.
struct Probe {
    let rules: CompiledRules
    let sex: String
    let cancer: String

    /// `or`: the first alternative; `and`: both sides; a fact compared with a literal; `in [..]`.
    func events(making expr: Expr) -> [JSONValue]? {
        switch expr {
        case .binary(.or, let lhs, _): return events(making: lhs)
        case .binary(.and, let lhs, let rhs):
            guard let left = events(making: lhs), let right = events(making: rhs) else { return nil }
            return left + right.map { renamed($0, "probe-2") }
        case .binary(.equal, .slot(let slot), .literal(let value)):
            return event(fact: rules.slots.names[slot], value: value).map { [$0] }
        case .binary(.greater, .slot(let slot), .literal(.number(let limit))),
            .binary(.greaterOrEqual, .slot(let slot), .literal(.number(let limit))):
            return event(fact: rules.slots.names[slot], value: .number(limit + 1)).map { [$0] }
        case .inList(.slot(let slot), let items, false):
            guard case .literal(let value)? = items.first else { return nil }
            return event(fact: rules.slots.names[slot], value: value).map { [$0] }
        default: return nil
        }
    }

    private func renamed(_ event: JSONValue, _ id: String) -> JSONValue {
        guard case .object(var members) = event else { return event }
        members["id"] = .string(id)
        return .object(members)
    }

    func event(fact: String, value: FactValue) -> JSONValue? {
        let parts = fact.split(separator: ".", maxSplits: 1).map(String.init)
        let word: JSONValue
        switch value {
        case .word(let text): word = .string(text)
        case .bool(let flag): word = .bool(flag)
        case .number(let number): word = .number(number)
        default: return nil
        }
        let data: JSONValue
        let type: String
        switch (parts.first ?? "", parts.count > 1 ? parts[1] : "") {
        case ("condition", let code): (type, data) = ("condition", ["code": .string(code), "status": word])
        case ("medication", let kind): (type, data) = ("medication", ["class": .string(kind), "status": word])
        case ("allergy", let drug): (type, data) = ("allergy", ["substance": .string(drug), "status": word])
        case ("metastasis", let site): (type, data) = ("metastasis", ["site": .string(site), "status": word])
        case ("preference", let what): (type, data) = ("preference", ["declines": .string(what), "status": word])
        case ("tumor-board", let flag): (type, data) = ("tumor-board", [flag: word])
        case ("staging", "m"): (type, data) = ("staging", ["edition": "tnm9", "t": "T2", "n": "N0", "m": word])
        case ("staging", "n"): (type, data) = ("staging", ["edition": "tnm9", "t": "T2", "n": word, "m": "M0"])
        case ("diagnosis", "histology"):
            (type, data) = ("diagnosis", ["cancer": .string(cancer), "histology": word, "histologyConfirmed": true])
        case ("ecog", _):
            guard case .number(let n) = value else { return nil }
            (type, data) = ("performance-status", ["scale": "ecog", "value": .number(min(n, 5))])
        case ("age", _):
            guard case .number(let years) = value else { return nil }
            (type, data) = (
                "demographics", ["birthDate": .string("\(2026 - Int(years) - 1)-01-01"), "sex": .string(sex)]
            )
        default: return nil
        }
        return [
            "id": "probe", "patientId": "GEN", "type": .string(type), "occurredAt": "2026-05-31T23:30:00Z",
            "data": data,
        ]
    }
}
