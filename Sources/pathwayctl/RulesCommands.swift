import ArgumentParser
import Foundation
import PathwayCore
import PathwayRulesIO

extension Rules {
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a rules directory: every problem with file, line and column; exit 1 on errors.")

        @Argument(help: "The rules directory.") var directory: String = "Rules"
        @Option(help: "Generated patients for the safety invariants (at least 10,000 unless testing).")
        var patients: Int = SafetyCheck.defaultPatients
        @Option(help: "Seed of the generated patients (a failing seed is printed, to replay it).")
        var seed: UInt64 = SafetyCheck.defaultSeed
        @Option(help: "Write each counterexample's events to DIR/<invariant>.json.")
        var counterexamples: String?

        func run() throws {
            guard let rules = try RuleDirectory.compile(directory) else { throw ExitCode(1) }
            let counts = rules.counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }
            let safety = SafetyCheck.run(rules, patients: max(1, patients), seed: seed)
            let prefix = directory.hasSuffix("/") ? directory : directory + "/"
            for diagnostic in safety.diagnostics { printError(prefix + diagnostic.description) }
            if let counterexamples {
                try FileManager.default.createDirectory(atPath: counterexamples, withIntermediateDirectories: true)
                for example in safety.counterexamples {
                    let path = "\(counterexamples)/\(example.violation.invariant).json"
                    try Data((example.eventsJSON + "\n").utf8).write(to: URL(fileURLWithPath: path))
                    printError("counterexample for \(example.violation.invariant): \(path)")
                }
            }
            print(safety.summary)
            guard safety.diagnostics.isEmpty else { throw ExitCode(1) }
            print("ok \(rules.revision): \(counts.joined(separator: ", "))")
        }
    }

    struct Matrix: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the safety matrix (gates and contraindications × options) as Markdown.")

        @Argument(help: "The rules directory.") var directory: String = "Rules"

        func run() throws {
            guard let rules = try RuleDirectory.compile(directory, quiet: true) else { throw ExitCode(1) }
            print(rules.safetyMatrix, terminator: "")
        }
    }

    struct Test: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the test cases kept in the packs; ends with 'N passed, N failed'.")

        @Argument(help: "The rules directory.") var directory: String = "Rules"
        @Flag(name: .shortAndLong, help: "List passing tests too.") var verbose = false

        func run() throws {
            guard let rules = try RuleDirectory.compile(directory, quiet: true) else { throw ExitCode(1) }
            let results = rules.runTests()
            let prefix = directory.hasSuffix("/") ? directory : directory + "/"
            for result in results {
                if result.passed {
                    if verbose { print("PASS \(result.name)") }
                } else {
                    print("FAIL \(result.name) (\(prefix)\(result.location))")
                    for failure in result.failures { print("     \(failure)") }
                }
            }
            let failed = results.filter { !$0.passed }.count
            print("\(results.count - failed) passed, \(failed) failed")
            if failed > 0 { throw ExitCode(1) }
        }
    }
}
