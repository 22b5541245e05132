import ArgumentParser
import Foundation
import PathwayAPI
import PathwayCore
import PathwayRulesIO

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure one full evaluation of a complete patient: shipped packs, then rules scaled 10×.")

    @Option(help: "The rules directory.") var rules: String = "Rules"
    @Option(help: "Measured evaluations per run.") var iterations: Int = 20_000

    func run() throws {
        let sources = try RuleDirectory.load(rules)
        let patient = BenchmarkPatient.events
        let facts = PatientFacts(events: patient)
        let context = EvaluationContext(now: patient.map(\.occurredAt).max()!, decisionId: "bench", patientId: "BENCH")
        var medians: [Double] = []
        var shipped: CompiledRules?
        for (label, scale) in [("shipped packs", 1), ("rules ×10", 10)] {
            let all = sources + BenchmarkPatient.generatedPacks(count: scale - 1, like: sources)
            let result = RuleCompiler.compile(all)
            guard let compiled = result.rules else {
                for diagnostic in result.errors { printError(diagnostic.description) }
                throw ExitCode(1)
            }
            if scale == 1 { shipped = compiled }
            let counts = compiled.counts
            for _ in 0..<min(iterations / 10, 2_000) { _ = compiled.evaluate(facts, context: context) }  // warm-up
            let clock = ContinuousClock()
            var samples: [Double] = []
            samples.reserveCapacity(iterations)
            for _ in 0..<iterations {
                let start = clock.now
                let evaluation = compiled.evaluate(facts, context: context)
                let elapsed = start.duration(to: clock.now)
                precondition(!evaluation.options.isEmpty)
                samples.append(Double(elapsed.components.attoseconds) / 1e12 + Double(elapsed.components.seconds) * 1e6)
            }
            samples.sort()
            let median = samples[samples.count / 2]
            let p99 = samples[samples.count * 99 / 100]
            medians.append(median)
            print(
                "\(label): \(counts["options"]!) options, \(counts["criteria"]!) criteria, \(counts["trials"]!) trials, "
                    + "\(counts["derivedFacts"]!) derived facts — median \(format(median)) µs, p99 \(format(p99)) µs over \(iterations) evaluations"
            )
        }
        print("growth for 10× rules: \(format(medians[1] / medians[0]))× (target ≤ 2×; median target ≤ 20 µs)")
        guard let shipped else { return }
        // The load benchmark's patient (`pathwayctl load`): its seven events, most facts unknown,
        // so that more options wait on data and more criteria name what is missing.
        let sparse = try (0..<7).map {
            try EventDecoder.decode(
                JSONDecoder().decode(JSONValue.self, from: Data(LoadEvents.event(patient: "LOAD", sequence: $0))))
        }
        let sparseFacts = PatientFacts(events: sparse)
        let sparseContext = EvaluationContext(
            now: sparse.map(\.occurredAt).max()!, decisionId: "bench", patientId: "LOAD")
        let sparseMedian = try measure { _ = shipped.evaluate(sparseFacts, context: sparseContext) }
        print("the load benchmark's patient (7 events, most facts unknown): median \(format(sparseMedian)) µs")
        // The evaluation document's canonical JSON, as every event's audit record needs it.
        let evaluation = shipped.evaluate(facts, context: context)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let bytes = try encoder.encode(evaluation).count
        let direct = try measure {
            var writer = CanonicalJSONWriter()
            evaluation.write(to: &writer)
            precondition(writer.bytes.count == bytes)
        }
        let encoding = try measure { _ = try encoder.encode(evaluation) }
        print(
            "canonical JSON of the evaluation document (\(bytes) bytes): CanonicalJSONWriter median \(format(direct)) µs, "
                + "JSONEncoder median \(format(encoding)) µs")
    }

    /// The median of `iterations / 10` runs, in µs.
    private func measure(_ body: () throws -> Void) throws -> Double {
        let clock = ContinuousClock()
        var samples: [Double] = []
        for _ in 0..<max(iterations / 10, 100) {
            let start = clock.now
            try body()
            let elapsed = start.duration(to: clock.now)
            samples.append(Double(elapsed.components.attoseconds) / 1e12 + Double(elapsed.components.seconds) * 1e6)
        }
        samples.sort()
        return samples[samples.count / 2]
    }

    private func format(_ value: Double) -> String {
        String((value * 100).rounded() / 100)
    }
}
