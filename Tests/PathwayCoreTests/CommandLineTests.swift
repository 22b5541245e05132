import Foundation
import PathwayTestSupport
import Testing

/// Runs the real `pathwayctl` binary that `swift test` built next to the test bundle.
@Suite("pathwayctl, as a rules author runs it")
struct CommandLineTests {
    func run(_ arguments: [String]) throws -> Run {
        try runBinary("pathwayctl", arguments)
    }

    func temporaryRules(_ files: [String: String]) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rules-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (name, text) in files {
            try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        return directory
    }

    @Test("rules check passes on the shipped rules and prints the revision")
    func checkShipped() throws {
        let run = try run(["rules", "check", "Rules"])
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.hasPrefix("safety: 10000 patients, 0 violations"))
        #expect(run.output.contains("\nok sha256:"))
    }

    @Test("rules check prints every problem with file:line:column and exits non-zero")
    func checkBroken() throws {
        let directory = try temporaryRules([
            "a.yaml": "pack: a\nversion: \"1\"\nderive:\n  - { fact: x, expr: \"ecogg <= 1\" }\n",
            "b.yaml": "pack: b\nversion: \"1\"\ncolour: blue\n",
        ])
        defer { try? FileManager.default.removeItem(at: directory) }
        let run = try run(["rules", "check", directory.path])
        #expect(run.status == 1)
        let lines = run.errors.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines[0].hasSuffix("a.yaml:4:22: error: unknown-fact: unknown fact \"ecogg\""))
        #expect(lines[1].contains("b.yaml:3:9: error: unknown-key"))
    }

    @Test("rules test ends with the summary line")
    func packTests() throws {
        let run = try run(["rules", "test", "Rules"])
        #expect(run.status == 0)
        let last = run.output.split(separator: "\n").last.map(String.init) ?? ""
        #expect(last.range(of: #"^\d+ passed, 0 failed$"#, options: .regularExpression) != nil, "\(last)")
    }

    @Test("rules test fails and names the test when an expectation is not met")
    func failingPackTest() throws {
        let directory = try temporaryRules([
            "p.yaml": """
            pack: p
            version: "1"
            derive:
              - { fact: adult, expr: "years(demographics.birthDate, now) >= 18" }
            tests:
              - name: a child is an adult
                events: [{ type: demographics, occurredAt: "2026-01-01T00:00:00Z", data: { birthDate: "2020-01-01", sex: female } }]
                expect: { derived: { adult: "true" } }
            """
        ])
        defer { try? FileManager.default.removeItem(at: directory) }
        let run = try run(["rules", "test", directory.path])
        #expect(run.status == 1)
        #expect(run.output.contains("FAIL a child is an adult"))
        #expect(run.output.contains("derived adult: false, expected true"))
        #expect(run.output.hasSuffix("0 passed, 1 failed\n"))
    }

    @Test("eval explains an example case as a table and as JSON", arguments: ["1", "4", "6"])
    func evalExample(chosen: String) throws {
        let table = try run([
            "eval", "--rules", "Rules", "--events", "Tests/PathwayCoreTests/Fixtures/examples.json", "--case", chosen,
        ])
        #expect(table.status == 0, "\(table.errors)")
        // The compact view: the offered options ranked (or why none is), then trials.
        #expect(table.output.contains("Options, ranked") || table.output.contains("No option can be offered"))
        #expect(table.output.contains("Trials"))
        let full = try run([
            "eval", "--rules", "Rules", "--events", "Tests/PathwayCoreTests/Fixtures/examples.json", "--case", chosen,
            "--full",
        ])
        #expect(full.output.contains("\nOptions\n") && full.output.contains("\nTrials\n"), "\(full.output.prefix(300))")
        let json = try run([
            "eval", "--rules", "Rules", "--events", "Tests/PathwayCoreTests/Fixtures/examples.json", "--case", chosen,
            "--json",
        ])
        let document = try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any]
        #expect(document?["decisionId"] as? String == "offline")
        #expect((document?["rules"] as? [String: Any])?["revision"] as? String != nil)
    }

    @Test("bench runs both rule sets: the generated 10× packs compile against the shipped ones")
    func benchRuns() throws {
        let bench = try run(["bench", "--iterations", "20"])
        #expect(bench.status == 0, "\(bench.errors.prefix(500))")
        // The 10× line counts ten times the shipped options.
        func options(_ prefix: String) -> Int? {
            bench.output.split(separator: "\n").first { $0.hasPrefix(prefix) }
                .flatMap { Int($0.dropFirst(prefix.count).prefix { $0.isNumber }) }
        }
        let shipped = try #require(options("shipped packs: "), "\(bench.output)")
        #expect(options("rules ×10: ") == shipped * 10, "\(bench.output)")
        #expect(bench.output.contains("canonical JSON of the evaluation document"))
    }

    @Test("a file that is missing, a directory or unreadable is named in plain words, not Foundation's error")
    func fileErrors() throws {
        let missing = try run(["eval", "--rules", "Rules", "--events", "no-such-events.json"])
        #expect(missing.status != 0)
        #expect(missing.errors.contains("events file no-such-events.json does not exist"), "\(missing.errors)")
        #expect(!missing.errors.contains("NSCocoaErrorDomain"))
        let directory = try run(["eval", "--rules", "Rules", "--events", "Rules"])
        #expect(directory.errors.contains("events file Rules is a directory, not a file"), "\(directory.errors)")
        let config = try run(["recommend", "X", "--config", "no-such.yaml"])
        #expect(config.errors.contains("configuration file no-such.yaml does not exist"), "\(config.errors)")
    }

    @Test("eval refuses an invalid event and names it")
    func evalInvalid() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).ndjson")
        try
            #"{"id":"a","patientId":"P","type":"performance-status","occurredAt":"2026-01-01T00:00:00Z","data":{"scale":"ecog","value":7}}"#
            .write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let run = try run(["eval", "--rules", "Rules", "--events", file.path])
        #expect(run.status != 0)
        #expect(run.errors.contains("invalid-event: data.value: must be an integer 0–5, got 7"))
    }
}
