import ArgumentParser
import PathwayCore
import PathwayRulesIO

extension Rules {
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a rules directory: every problem with file, line and column; exit 1 on errors.")

        @Argument(help: "The rules directory.") var directory: String = "Rules"

        func run() throws {
            guard let rules = try RuleDirectory.compile(directory) else { throw ExitCode(1) }
            let counts = rules.counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }
            print("ok \(rules.revision): \(counts.joined(separator: ", "))")
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
