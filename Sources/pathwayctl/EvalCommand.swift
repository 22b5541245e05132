import ArgumentParser
import Foundation
import PathwayAPI
import PathwayCore
import PathwayRulesIO
import PathwayViews

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate events against a rules directory, offline: a readable table, or --json.")

    @Option(help: "The rules directory.") var rules: String = "Rules"
    @Option(help: "Events: JSON array, {\"events\": […]}, NDJSON, or a cases file with --case.") var events: String
    @Option(name: .customLong("case"), help: "The case to take from a cases file, by name or number.") var chosenCase:
        String?
    @Option(help: "Evaluation time (RFC 3339); default: the latest occurredAt.") var at: String?
    @Option(name: .customLong("param"), help: "A pack parameter, e.g. region=fda (repeatable).") var parameters:
        [String] = []
    @Flag(help: "Print the evaluation document as JSON (sorted keys).") var json = false
    @OptionGroup var view: EvaluationViewOptions

    func run() throws {
        guard let compiled = try RuleDirectory.compile(rules, quiet: true) else { throw ExitCode(1) }
        let events = try EventFile.load(self.events, case: chosenCase)
        let patients = Set(events.map(\.patientId))
        guard patients.count <= 1 else {
            throw CLIError("events of several patients: \(patients.sorted().joined(separator: ", "))")
        }
        var now = events.map(\.occurredAt).max() ?? Instant(millisecondsSinceEpoch: 0)
        if let at { now = try Instant.parse(at) }
        var overrides: [String: String] = [:]
        for parameter in parameters {
            let parts = parameter.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw CLIError("--param takes NAME=VALUE, got \(parameter)") }
            overrides[parts[0]] = parts[1]
        }
        let context = EvaluationContext(
            now: now, decisionId: "offline", patientId: patients.first, parameters: overrides)
        let evaluation = compiled.evaluate(PatientFacts(events: events, asOf: context.now), context: context)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(evaluation), as: UTF8.self))
        } else {
            print(view.render(evaluation))
        }
    }
}
