import Crypto
import Foundation
import PathwayAPI
import PathwayTestSupport
import Testing

@testable import PathwayCore

/// The evaluation's output, byte for byte, against digests recorded from an earlier engine: a
/// change made for speed must not change one byte of any document. Every pack test case and
/// 1,000 generated patients; the digests are in `Fixtures/evaluation-digests.txt`.
///
/// A change of the rules or of the document's shape changes digests on purpose: record them again
/// with `PATHWAYD_RECORD_DIGESTS=1 swift test --filter GoldenOutputTests` (the run then fails, so
/// that a recording is never taken for a pass), and say in the commit why they changed.
@Suite("evaluation output byte-identical to the recorded digests")
struct GoldenOutputTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/evaluation-digests.txt")

    /// Each case's name and the SHA-256 of its evaluation's canonical JSON, in a fixed order.
    static func digests() throws -> [(name: String, digest: String)] {
        let rules = try #require(RuleCompiler.compile(SafetyTests.sources).rules)
        var result: [(String, String)] = []
        func add(_ name: String, _ evaluation: EvaluationV1) {
            var writer = CanonicalJSONWriter()
            evaluation.write(to: &writer)
            result.append((name, SHA256.hash(data: writer.bytes).map { String(format: "%02x", $0) }.joined()))
        }
        for test in rules.tests {
            add(
                "test \(test.name)",
                rules.evaluate(
                    PatientFacts(events: test.events, asOf: test.now),
                    context: EvaluationContext(
                        now: test.now, decisionId: "test", patientId: "TEST", parameters: test.parameters)))
        }
        for index in 0..<1_000 {
            let (events, parameters) = SafetyCheck.generate(rules, seed: 7, index: index)
            add(
                "generated \(index)",
                rules.evaluate(
                    PatientFacts(events: events.compactMap { try? EventDecoder.decode($0) }),
                    context: EvaluationContext(
                        now: PatientGenerator.now, decisionId: "g\(index)", parameters: parameters)))
        }
        return result
    }

    @Test("every pack test case and 1,000 generated patients give the recorded bytes")
    func outputs() throws {
        let computed = try Self.digests()
        let text = computed.map { "\($0.name)\t\($0.digest)" }.joined(separator: "\n") + "\n"
        if ProcessInfo.processInfo.environment["PATHWAYD_RECORD_DIGESTS"] != nil {
            try text.write(to: Self.fixture, atomically: true, encoding: .utf8)
            Issue.record(
                "recorded \(computed.count) digests in \(Self.fixture.path); run again without PATHWAYD_RECORD_DIGESTS")
            return
        }
        let recorded = try String(contentsOf: Self.fixture, encoding: .utf8).split(separator: "\n").map { line in
            let parts = line.split(separator: "\t")
            return (name: String(parts[0]), digest: String(parts[1]))
        }
        #expect(recorded.count == computed.count, "the cases changed: record the digests again")
        #expect(computed.count > 1_000)
        var differing: [String] = []
        for (old, new) in zip(recorded, computed) where old.name != new.name || old.digest != new.digest {
            differing.append(new.name)
        }
        #expect(
            differing.count == 0,
            "\(differing.count) outputs changed, the first: \(differing.prefix(5)). After an intended change (of Rules/), record again: PATHWAYD_RECORD_DIGESTS=1 swift test --filter GoldenOutputTests"
        )
    }
}
