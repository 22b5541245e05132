import Foundation
import PathwayAPI
import PathwayTestSupport
import Testing

@testable import PathwayCore

/// Property tests: the rule compiler and the event decoder never crash, whatever the input.
/// A seeded generator makes every run the same; the libFuzzer targets in Fuzz/ explore further.
@Suite("The decoders never crash on arbitrary input")
struct RobustnessTests {
    /// The engine's seeded SplitMix64 (the safety checker's generator): every run the same.
    typealias Generator = SplitMix64

    static let alphabet = Array("{}[]:,-?&*!|>'\"#%@`\n\t  abcXYZ019._=<()~\\\u{0}é")

    /// Applies a few random edits (insert, delete, replace, duplicate a slice) to `text`.
    static func mutate(_ text: String, _ rng: inout Generator) -> String {
        var chars = Array(text)
        for _ in 0..<Int.random(in: 1...6, using: &rng) {
            let position = chars.isEmpty ? 0 : Int.random(in: 0..<chars.count, using: &rng)
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: chars.insert(alphabet.randomElement(using: &rng)!, at: position)
            case 1: if !chars.isEmpty { chars.remove(at: position) }
            case 2: if !chars.isEmpty { chars[position] = alphabet.randomElement(using: &rng)! }
            default:
                let end = min(chars.count, position + Int.random(in: 1...20, using: &rng))
                chars.insert(contentsOf: chars[position..<end], at: position)
            }
        }
        return String(chars)
    }

    @Test("2,000 mutated rule packs compile to rules or diagnostics, never a crash")
    func ruleDecoder() throws {
        let seed = try String(
            contentsOf: repositoryRoot.appendingPathComponent("Tests/PathwayCoreTests/Fixtures/demo-pack.yaml"),
            encoding: .utf8)
        var rng = Generator(seed: 2026)
        var rejected = 0
        for _ in 0..<2_000 {
            let result = RuleCompiler.compile([RuleSource(name: "fuzz.yaml", contents: Self.mutate(seed, &rng))])
            if result.rules == nil {
                rejected += 1
                #expect(!result.errors.isEmpty)
            }
        }
        #expect(rejected > 0)
    }

    @Test(
        "hostile YAML shapes are diagnosed",
        arguments: [
            "{[a]: b}", "? [a, b]\n: c", "? ? x", "&a [*a]", "*undefined", "pack: [", "\u{0}", "", "---\n---\n",
            "pack: p\nversion: 1\nderive: {fact: x}", "pack: p\nversion: 1\npathway: 3", "- - - -",
            "pack: p\nversion: 1\ntests: [{name: t, events: [{}], expect: {}}]",
        ])
    func hostileYAML(text: String) {
        let result = RuleCompiler.compile([RuleSource(name: "x.yaml", contents: text)])
        #expect(result.rules == nil)
        #expect(!result.errors.isEmpty)
    }

    @Test("5,000 mutated events are decoded or refused with a field, never a crash")
    func eventDecoder() throws {
        let samples = [
            #"{"id":"e1","patientId":"P1","type":"lab","occurredAt":"2026-01-07T09:00:00Z","data":{"test":"platelets","value":85,"unit":"10^9/L","upperLimitOfNormal":400}}"#,
            #"{"id":"e2","patientId":"P1","type":"staging","occurredAt":"2026-01-04T09:00:00+02:00","data":{"edition":"tnm9","t":"T3","n":"N0","m":"M0","stageGroup":"IIIA"}}"#,
            #"{"id":"e3","patientId":"P1","type":"treatment","occurredAt":"2026-01-04T09:00:00Z","data":{"kind":"systemic","agents":["cisplatin","pemetrexed"],"cycles":4,"status":"completed"}}"#,
        ]
        var rng = Generator(seed: 7)
        var accepted = 0
        for index in 0..<5_000 {
            let text = Self.mutate(samples[index % samples.count], &rng)
            guard let json = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) else { continue }
            do {
                _ = try EventDecoder.decode(json)
                accepted += 1
            } catch {
                #expect(!error.code.isEmpty)
                #expect(!error.message.isEmpty)
            }
        }
        #expect(accepted > 0)
    }
}
