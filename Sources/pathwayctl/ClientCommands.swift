import ArgumentParser
import Foundation
import PathwayAPI
import PathwayClient
import PathwayCore
import PathwayRulesIO
import PathwayViews
import Yams

/// How to reach the daemon: `--socket`, else `$PATHWAYD_SOCKET`, else the socket of `--config`,
/// else the development default `.run/pathwayd.sock`.
struct Connection: ParsableArguments {
    @Option(help: "The daemon's Unix socket.") var socket: String?
    @Option(help: "A pathwayd configuration file to take the socket path from.") var config: String?
    @Flag(help: "Print the daemon's JSON answer instead of a table.") var json = false

    private struct SocketOnly: Decodable {
        struct Socket: Decodable { var path: String }
        var socket: Socket
    }

    func socketPath() throws -> String {
        if let socket { return socket }
        if let fromEnvironment = ProcessInfo.processInfo.environment["PATHWAYD_SOCKET"] { return fromEnvironment }
        if let config {
            let text = String(decoding: try readUserFile(config, what: "configuration file"), as: UTF8.self)
            do { return try YAMLDecoder().decode(SocketOnly.self, from: text).socket.path } catch {
                throw CLIError("configuration file \(config) names no socket.path: \(error)")
            }
        }
        return ".run/pathwayd.sock"
    }

    /// Sends a request; an answer outside `accept` prints the contract error and exits 1; no answer
    /// at all (no daemon, no permission on the socket, a timeout) exits 2.
    func call(
        _ method: String, _ path: String, body: [UInt8]? = nil, contentType: String = "application/json",
        accept: Set<Int> = [200]
    ) async throws -> PathwayClient.Response {
        let response: PathwayClient.Response
        do {
            response = try await PathwayClient.with(socketPath: try socketPath()) { client in
                try await client.request(method, path, body: body, contentType: body == nil ? nil : contentType)
            }
        } catch let error as PathwayClientError {
            printError("pathwayctl: \(error)")
            throw ExitCode(2)
        }
        guard accept.contains(response.status) else {
            if json { print(response.text, terminator: "") }
            if let error = response.error {
                printError("pathwayctl: \(response.status) \(error.error.code): \(error.error.message)")
                for detail in error.error.details ?? [] { printError("  \(detail)") }
            } else {
                printError("pathwayctl: \(response.status): \(response.text)")
            }
            throw ExitCode(1)
        }
        return response
    }

    func decode<T: Decodable>(_ type: T.Type, _ response: PathwayClient.Response) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(response.body))
    }

    /// Prints the body as it came (JSON) when --json, else returns false so a table is printed.
    func printJSON(_ response: PathwayClient.Response) -> Bool {
        if json { print(response.text, terminator: response.text.hasSuffix("\n") ? "" : "\n") }
        return json
    }
}

func percentEncoded(_ text: String) -> String { PathwayClient.escape(text) }

struct Post: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Post events (a JSON event or array, NDJSON, or a case of a cases file) as NDJSON.")

    @OptionGroup var connection: Connection
    @Argument(help: "The events file.") var file: String
    @Option(name: .customLong("case"), help: "The case to take from a cases file, by name or number.") var chosenCase:
        String?

    func run() async throws {
        let lines = try EventFile.rawEvents(file, case: chosenCase)
        let body = Array(lines.joined(separator: "\n").utf8)
        let response = try await connection.call(
            "POST", "/v1/events", body: body, contentType: "application/x-ndjson", accept: [200, 207])
        if connection.printJSON(response) { return }
        let batch = try connection.decode(EventBatchResultV1.self, response)
        for line in batch.results {
            var text = "line \(line.line): \(line.eventId ?? "?") \(line.status)"
            if let decision = line.decisionId { text += " decision \(decision)" }
            if let error = line.error { text += " — \(error.code): \(error.message)" }
            if let changes = line.changes, !changes.isEmpty {
                text +=
                    "\n    "
                    + changes.map { "\($0.id): \($0.from ?? "—") → \($0.to ?? "—")" }.joined(separator: "\n    ")
            }
            print(text)
        }
        print("\(batch.accepted) accepted, \(batch.duplicates) duplicate, \(batch.rejected) rejected")
        if batch.rejected > 0 { throw ExitCode(1) }
    }
}

struct Patient: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show a patient's current facts and their history.")
    @OptionGroup var connection: Connection
    @Argument(help: "The patient id.") var patientId: String

    func run() async throws {
        let response = try await connection.call("GET", "/v1/patients/\(percentEncoded(patientId))")
        if connection.printJSON(response) { return }
        let state = try connection.decode(PatientStateV1.self, response)
        print(
            "Patient \(state.patientId) · \(state.eventIds.count) events · last decision \(state.lastDecisionId ?? "-")"
        )
        print("\nFacts")
        for fact in state.facts {
            print("  \(fact.fact) = \(text(fact.value))   (\(fact.occurredAt), \(fact.eventId))")
        }
        if !state.treatments.isEmpty {
            print("\nTreatments")
            for line in state.treatments {
                let what =
                    line.agents.isEmpty ? (line.procedure ?? line.site ?? "-") : line.agents.joined(separator: " + ")
                print(
                    "  \(line.kind) \(what) \(line.setting ?? "") \(line.status) from \(line.startedAt)\(line.progressionAt.map { ", progression \($0)" } ?? "")"
                )
            }
        }
        if !state.history.isEmpty {
            print("\nHistory")
            for fact in state.history {
                print(
                    "  \(fact.fact) = \(text(fact.value))   (\(fact.occurredAt), \(fact.eventId), \(fact.reason ?? ""))"
                )
            }
        }
    }
}

func text(_ value: JSONValue) -> String {
    switch value {
    case .string(let text): text
    case .number(let number): number.rounded() == number && abs(number) < 1e15 ? String(Int64(number)) : String(number)
    case .bool(let flag): String(flag)
    case .null: "null"
    default: (try? String(decoding: JSONEncoder().encode(value), as: UTF8.self)) ?? "?"
    }
}

/// How an evaluation is shown: the compact view by default, every reason with `--full`.
struct EvaluationViewOptions: ParsableArguments {
    @Flag(help: "Every option with every reason, every trial criterion and all evidence.") var full = false
    @Flag(help: "Also list trials for other cancers (kept in the JSON; left out of the views by default).")
    var allTrials = false

    func render(_ evaluation: EvaluationV1) -> String {
        full
            ? EvaluationTable(evaluation, allTrials: allTrials).render()
            : CompactView(evaluation, allTrials: allTrials).render()
    }
}

struct Recommend: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a patient now and show the options (audited as a view).")
    @OptionGroup var connection: Connection
    @OptionGroup var view: EvaluationViewOptions
    @Argument(help: "The patient id.") var patientId: String

    func run() async throws {
        let response = try await connection.call("GET", "/v1/patients/\(percentEncoded(patientId))/recommendations")
        if connection.printJSON(response) { return }
        print(view.render(try connection.decode(EvaluationV1.self, response)))
    }
}

struct WhatIf: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "what-if",
        abstract: "Evaluate events without storing them, optionally on top of a stored patient (audited).")
    @OptionGroup var connection: Connection
    @Argument(help: "The events file.") var file: String
    @Option(name: .customLong("case"), help: "The case to take from a cases file.") var chosenCase: String?
    @Option(help: "Add the events to this stored patient's events; shows what changes against the current evaluation.")
    var patient: String?
    @Option(help: "Evaluation time (RFC 3339).") var at: String?
    @OptionGroup var view: EvaluationViewOptions

    func run() async throws {
        let events = try EventFile.rawEvents(file, case: chosenCase)
        var body = "{\"events\":[" + events.joined(separator: ",") + "]"
        if let patient {
            body += ",\"patientId\":" + String(decoding: try JSONEncoder().encode(patient), as: UTF8.self)
        }
        if let at { body += ",\"at\":" + String(decoding: try JSONEncoder().encode(at), as: UTF8.self) }
        body += "}"
        let response = try await connection.call("POST", "/v1/evaluate", body: Array(body.utf8))
        if connection.printJSON(response) { return }
        let after = try connection.decode(EvaluationV1.self, response)
        guard let patient, !view.full else { return print(view.render(after)) }
        // The difference against the patient's current evaluation (itself audited as a view).
        let current = try await connection.call("GET", "/v1/patients/\(percentEncoded(patient))/recommendations")
        let before = try connection.decode(EvaluationV1.self, current)
        print("What if, for patient \(patient), against the current evaluation \(before.decisionId):")
        print(WhatIfDiff(before: before, after: after).render())
        print("\nWith these events (what-if \(after.decisionId)):")
        print(CompactView(after, allTrials: view.allTrials).render())
    }
}

struct Feedback: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Record what the tumor board did with a recommendation.")
    @OptionGroup var connection: Connection
    @Argument(help: "The patient id.") var patientId: String
    @Option(help: "The decision the feedback is about.") var decision: String
    @Option(help: "The option id.") var option: String
    @Option(help: "accepted or overridden.") var outcome: String
    @Option(help: "Override reason code (HL7 non-adherence reason code or local).") var reason: String?
    @Option(help: "Free text for the reason.") var note: String?
    @Option(help: "What was actually done.") var actual: String?

    func run() async throws {
        var object: [String: JSONValue] = [
            "decisionId": .string(decision), "optionId": .string(option), "outcome": .string(outcome),
        ]
        if let reason {
            var reasonObject: [String: JSONValue] = ["code": .string(reason)]
            if let note { reasonObject["text"] = .string(note) }
            object["reason"] = .object(reasonObject)
        }
        if let actual { object["actualTreatment"] = .string(actual) }
        let response = try await connection.call(
            "POST", "/v1/patients/\(percentEncoded(patientId))/feedback",
            body: Array(try JSONEncoder().encode(JSONValue.object(object))))
        if connection.printJSON(response) { return }
        let result = try connection.decode(FeedbackResultV1.self, response)
        print(
            "recorded as \(result.decisionId): option was \(result.optionStatus); \(result.onPathway ? "on pathway" : "off pathway")"
        )
    }
}

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The tumor-board report of a patient (the default), or the adherence report.",
        subcommands: [PatientReport.self, Adherence.self], defaultSubcommand: PatientReport.self)

    struct PatientReport: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "patient",
            abstract: "One page for a tumor board: HTML (self-contained, prints on A4) or Markdown (audited as a view)."
        )
        @OptionGroup var connection: Connection
        @Argument(help: "The patient id.") var patientId: String
        @Option(help: "html or markdown.") var format: String = "markdown"
        @Option(name: .shortAndLong, help: "Write the report to this file instead of standard output.") var output:
            String?

        func run() async throws {
            guard ["html", "markdown"].contains(format) else {
                throw CLIError("--format takes html or markdown, got \(format)")
            }
            let response = try await connection.call(
                "GET", "/v1/patients/\(percentEncoded(patientId))/report?format=\(format)")
            if let output {
                do { try Data(response.body).write(to: URL(fileURLWithPath: output)) } catch {
                    throw CLIError("cannot write \(output): \(error.localizedDescription)")
                }
                print("wrote \(output) (\(response.body.count) bytes)")
            } else {
                print(response.text, terminator: response.text.hasSuffix("\n") ? "" : "\n")
            }
        }
    }

    struct Adherence: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "On-pathway rate per pathway, option and override reason.")
        @OptionGroup var connection: Connection
        @Option(help: "From (RFC 3339).") var since: String?
        @Option(help: "Until, exclusive (RFC 3339).") var until: String?

        func run() async throws {
            var query: [String] = []
            if let since { query.append("since=\(percentEncoded(since))") }
            if let until { query.append("until=\(percentEncoded(until))") }
            let response = try await connection.call(
                "GET", "/v1/reports/adherence" + (query.isEmpty ? "" : "?" + query.joined(separator: "&")))
            if connection.printJSON(response) { return }
            let report = try connection.decode(AdherenceReportV1.self, response)
            var table = TextTable(
                ["dimension", "value", "total", "on-pathway", "overridden", "rate"], rightAligned: [2, 3, 4, 5])
            for row in report.rows {
                table.add([
                    row.dimension, row.value, String(row.total), String(row.onPathway), String(row.overridden),
                    String(format: "%.1f%%", row.onPathwayRate * 100),
                ])
            }
            print(table.render())
        }
    }
}
