import ArgumentParser
import Foundation
import PathwayAPI
import PathwayClient
import PathwayCore
import PathwayRulesIO
import PathwayViews

struct Audit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Query, verify, replay and export the audit trail (auditor role).",
        subcommands: [List.self, Show.self, Verify.self, Replay.self, Export.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Audit records, newest first, with filters and paging.")
        @OptionGroup var connection: Connection
        @Option(help: "Patient id.") var patient: String?
        @Option(help: "User name or uid.") var actor: String?
        @Option(help: "event, view, what-if, feedback, denied, rules-reload, replay, rules-impact.") var action: String?
        @Option(help: "Rules revision.") var revision: String?
        @Option(help: "Decisions that offered this option.") var option: String?
        @Option(help: "Decisions in which this trial (NCT id) was eligible or potentially eligible.") var trial: String?
        @Option(help: "From (RFC 3339).") var since: String?
        @Option(help: "Until, exclusive (RFC 3339).") var until: String?
        @Option(help: "Records per page (1–1000).") var limit: Int = 50
        @Option(help: "The cursor printed after a page.") var after: String?

        func run() async throws {
            var query = ["limit=\(limit)"]
            for (key, value) in [
                ("patientId", patient), ("actor", actor), ("action", action), ("revision", revision),
                ("option", option),
                ("trial", trial), ("since", since), ("until", until), ("after", after),
            ] {
                if let value { query.append("\(key)=\(percentEncoded(value))") }
            }
            let response = try await connection.call("GET", "/v1/audit/decisions?" + query.joined(separator: "&"))
            if connection.printJSON(response) { return }
            let page = try connection.decode(AuditPageV1.self, response)
            var table = TextTable(["seq", "at", "action", "actor", "patient", "decision"], rightAligned: [0])
            for record in page.records {
                table.add([
                    String(record.seq), record.at, record.action, record.actor.user, record.patientId ?? "-",
                    record.decisionId,
                ])
            }
            print(table.render())
            if let next = page.next { print("more: --after \(next)") }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One record as a sentence and a table, its answer as the compact view; --json for the raw record."
        )
        @OptionGroup var connection: Connection
        @Argument(help: "The decision id.") var decisionId: String

        func run() async throws {
            let response = try await connection.call("GET", "/v1/audit/decisions/\(percentEncoded(decisionId))")
            if connection.printJSON(response) { return }
            print(AuditRecordView(try connection.decode(AuditRecordV1.self, response)).render())
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Walk the hash chain; name the first broken record. Exit 1 when broken.")
        @OptionGroup var connection: Connection
        @Option(help: "A checkpoint SEQ:HASH from the daemon's log: detects a truncated tail.") var against: String?

        func run() async throws {
            let path = "/v1/audit/verify" + (against.map { "?against=\(percentEncoded($0))" } ?? "")
            let response = try await connection.call("GET", path)
            let result = try connection.decode(AuditVerificationV1.self, response)
            if !connection.printJSON(response) {
                if let broken = result.firstBroken {
                    print("BROKEN at record \(broken.seq) (\(broken.problem)): \(broken.message)")
                } else {
                    let rate = result.seconds > 0 ? Int(Double(result.records) / result.seconds) : 0
                    print(
                        "ok: \(result.records) records, head \(result.head.map { "\($0.seq):\($0.hash)" } ?? "empty"), \(String(format: "%.3f", result.seconds)) s (\(rate) records/s)"
                    )
                }
            }
            if result.status != "ok" { throw ExitCode(1) }
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-evaluate a decision with the archived rules revision; exit 1 if it differs.")
        @OptionGroup var connection: Connection
        @Argument(help: "The decision id.") var decisionId: String

        func run() async throws {
            let response = try await connection.call(
                "POST", "/v1/audit/decisions/\(percentEncoded(decisionId))/replay", body: [])
            let result = try connection.decode(ReplayResultV1.self, response)
            if !connection.printJSON(response) {
                print("\(result.decisionId) under \(result.revision): \(result.status)")
                for difference in result.differences {
                    print(
                        "  \(difference.path): recorded \(text(difference.recorded)), replayed \(text(difference.replayed))"
                    )
                }
            }
            if result.status != "identical" { throw ExitCode(1) }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stream the audit trail as JSON Lines, CSV or FHIR AuditEvent NDJSON.")
        @OptionGroup var connection: Connection
        @Option(help: "jsonl, csv or fhir-auditevent.") var format: String = "jsonl"
        @Option(help: "From (RFC 3339).") var since: String?
        @Option(help: "Until, exclusive (RFC 3339).") var until: String?

        func run() async throws {
            let path = "/v1/audit/export" + PathwayClient.query(["format": format, "since": since, "until": until])
            let response: PathwayClient.Response
            do {
                response = try await PathwayClient.with(socketPath: try connection.socketPath()) { client in
                    try await client.stream(path) { piece in FileHandle.standardOutput.write(Data(piece)) }
                }
            } catch let error as PathwayClientError {
                printError("pathwayctl: \(error)")
                throw ExitCode(2)
            }
            if response.status != 200 {
                printError("pathwayctl: export failed with \(response.status) \(response.text)")
                throw ExitCode(1)
            }
        }
    }
}

extension Rules {
    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The rules the daemon is running.")
        @OptionGroup var connection: Connection

        func run() async throws {
            let response = try await connection.call("GET", "/v1/rules")
            if connection.printJSON(response) { return }
            let status = try connection.decode(RulesStatusV1.self, response)
            print("revision \(status.revision)\nloaded   \(status.loadedAt) from \(status.directory)")
            print("packs    " + status.packs.map { "\($0.id) \($0.version)" }.joined(separator: ", "))
            print(
                "counts   "
                    + status.counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))
            print(
                "params   "
                    + status.parameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(
                        separator: ", "))
        }
    }

    struct Reload: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ask the daemon to reload its rules directory; an invalid set is refused with every problem.")
        @OptionGroup var connection: Connection

        func run() async throws {
            let response = try await connection.call("POST", "/v1/rules/reload", body: [])
            if connection.printJSON(response) { return }
            let result = try connection.decode(ReloadResultV1.self, response)
            print("\(result.status): \(result.from) → \(result.to)")
        }
    }

    struct Impact: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Which stored patients' options or trial statuses would change under the rules in DIR. Changes nothing."
        )
        @OptionGroup var connection: Connection
        @Argument(help: "The candidate rules directory.") var directory: String

        func run() async throws {
            let sources = try RuleDirectory.load(directory)
            let request = RulesImpactRequestV1(
                sources: sources.map { .init(name: $0.name, contents: $0.contents) }, label: directory)
            let response = try await connection.call(
                "POST", "/v1/rules/impact", body: Array(try JSONEncoder().encode(request)))
            if connection.printJSON(response) { return }
            let impact = try connection.decode(RulesImpactV1.self, response)
            print("running \(impact.running)\ncandidate \(impact.candidate)")
            print("\(impact.patients) patients evaluated, \(impact.changed.count) would change")
            if let problems = impact.problems {
                print("the candidate could not be loaded as it is (\(problems.count) problem(s)):")
                for problem in problems { print("  \(problem.split(separator: "\n").first ?? "")") }
            }
            for patient in impact.changed {
                print("  \(patient.patientId)")
                for change in patient.changes { print("    \(change.id): \(change.from ?? "—") → \(change.to ?? "—")") }
            }
        }
    }
}
