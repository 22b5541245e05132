import Foundation
import PathwayTestSupport
import Testing

@testable import PathwayAPI
@testable import PathwayCore

/// The direct writer must produce exactly what `JSONEncoder` writes with sorted keys and unescaped
/// slashes: audit hashes and replay compare these bytes, and records written before it must keep
/// verifying.
@Suite("canonical JSON of the evaluation document without JSONEncoder")
struct CanonicalJSONWriterTests {
    static func reference<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func direct(_ value: some CanonicalJSONWritable) -> String {
        var writer = CanonicalJSONWriter()
        value.write(to: &writer)
        return writer.text
    }

    @Test("byte-identical on the evaluation of every pack test case and of 2,000 generated patients")
    func evaluations() throws {
        let rules = try #require(RuleCompiler.compile(SafetyTests.sources).rules)
        var compared = 0
        for test in rules.tests {
            let evaluation = rules.evaluate(
                PatientFacts(events: test.events, asOf: test.now),
                context: EvaluationContext(
                    now: test.now, decisionId: "test", patientId: "TEST", parameters: test.parameters))
            #expect(Self.direct(evaluation) == (try Self.reference(evaluation)), "\(test.name)")
            compared += 1
        }
        for index in 0..<2_000 {
            let (events, parameters) = SafetyCheck.generate(rules, seed: 7, index: index)
            let evaluation = rules.evaluate(
                PatientFacts(events: events.compactMap { try? EventDecoder.decode($0) }),
                context: EvaluationContext(now: PatientGenerator.now, decisionId: "g\(index)", parameters: parameters))
            let direct = Self.direct(evaluation)
            #expect(direct == (try Self.reference(evaluation)), "patient \(index)")
            compared += 1
        }
        #expect(compared > 2_000)
    }

    @Test("byte-identical on every event of the examples and of 2,000 generated patients: the stored form of an event")
    func events() throws {
        let rules = try #require(RuleCompiler.compile(SafetyTests.sources).rules)
        var events = try readExamples().flatMap(\.events)
        for index in 0..<2_000 { events += SafetyCheck.generate(rules, seed: 11, index: index).0 }
        for event in events {
            #expect(Self.direct(event) == (try Self.reference(event)), "\(event)")
        }
        #expect(events.count > 5_000)
    }

    @Test("the escape test, eight bytes at a time, agrees with a byte-by-byte test for every byte at every place")
    func escapeScan() {
        var wrong: [[UInt8]] = []
        var checked = 0
        for filler: UInt8 in [0x61, 0x20, 0x21, 0x23, 0x5B, 0x5D, 0x7F, 0x80, 0xC3, 0xFF] {
            for length in 1...20 {
                for place in 0..<length {
                    for value in UInt8.min...UInt8.max {
                        var bytes = [UInt8](repeating: filler, count: length)
                        bytes[place] = value
                        let expected = !bytes.contains { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }
                        if bytes.withUnsafeBufferPointer(CanonicalJSONWriter.needsNoEscape) != expected {
                            wrong.append(bytes)
                        }
                        checked += 1
                    }
                }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.count) wrong, the first: \(wrong.prefix(3))")
        #expect(checked == 10 * 210 * 256)
        #expect([UInt8]().withUnsafeBufferPointer(CanonicalJSONWriter.needsNoEscape))
    }

    @Test("escapes, numbers and key order as JSONEncoder writes them")
    func edges() throws {
        let text = "a/b \"q\" \\ \n\t\r\u{8}\u{c}\u{1}\u{1f}\u{0} \u{7f} é \u{2028} 😀"
        let value: JSONValue = [
            "text": .string(text), "b": 1, "B": 2, "a10": 3, "a9": 4, "_x": 5, "é": 6, "ä": 7,
            "numbers": [
                1, 0.1, 1e-5, 1e16, 1e15, 999_999_999_999_999, 1.7400000000000002, 0.000123, 1e21, 2.5, -0.0, -7,
            ],
            "nested": ["z": [true, false, .null], "a": [:]],
        ]
        var writer = CanonicalJSONWriter()
        writer.json(value)
        #expect(writer.text == (try Self.reference(value)))
        let option = OptionV1(
            id: "x", label: text, kind: "systemic", status: "consider", rank: nil, reasons: [], missing: ["a", "b"],
            evidence: [EvidenceV1(source: "s", nct: nil, level: "1", cite: "c", note: nil)],
            cautions: [CautionV1(text: "t", cite: nil)])
        #expect(Self.direct(option) == (try Self.reference(option)))
        // A number JSON cannot hold is flagged, so that the caller falls back to JSONEncoder.
        var invalid = CanonicalJSONWriter()
        FactValueV1(fact: "f", value: .number(.infinity)).write(to: &invalid)
        #expect(invalid.invalid)
    }

    @Test("the per-event answer and a status summary as JSONEncoder writes them: absent ends of a change are null")
    func eventAnswer() throws {
        let result = EventResultV1(
            eventId: "e/1 \"x\"", status: "accepted", decisionId: "d",
            changes: [
                ChangeV1(id: "nivo-ipi", from: nil, to: "recommended"),
                ChangeV1(id: "trial:NCT1", from: "potentially-eligible", to: nil),
                ChangeV1(id: "b", from: "consider", to: "not-eligible"),
            ])
        #expect(Self.direct(result) == (try Self.reference(result)))
        #expect(Self.direct(result).contains(#"{"from":null,"id":"nivo-ipi","to":"recommended"}"#))
        let empty = EventResultV1(eventId: "e", status: "duplicate", decisionId: "d", changes: [])
        #expect(Self.direct(empty) == (try Self.reference(empty)))
        let summary = ["trial:B": "ineligible", "a": "consider", "Z": "recommended", "é": "x", "trial:A": "eligible"]
        var writer = CanonicalJSONWriter()
        writer.object(summary) { writer, status in writer.string(status) }
        #expect(writer.text == (try Self.reference(summary)))
    }
}
