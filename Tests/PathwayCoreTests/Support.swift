import Foundation
import PathwayAPI
import PathwayTestSupport

@testable import PathwayCore

/// Reads every YAML file below `directory` as rule sources named relative to it.
func ruleSources(in directory: URL) throws -> [RuleSource] {
    let files = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil)!
        .compactMap { $0 as? URL }.filter { $0.pathExtension == "yaml" }
    return try files.map { url in
        RuleSource(
            name: String(url.standardizedFileURL.path.dropFirst(directory.standardizedFileURL.path.count + 1)),
            contents: try String(contentsOf: url, encoding: .utf8))
    }.sorted { $0.name < $1.name }
}

/// Compiles in-memory sources, failing the calling test with every diagnostic when there are errors.
func compile(_ files: [String: String]) throws -> CompiledRules {
    let result = RuleCompiler.compile(files.map { RuleSource(name: $0.key, contents: $0.value) })
    guard let rules = result.rules else {
        throw CompileFailure(diagnostics: result.diagnostics)
    }
    return rules
}

struct CompileFailure: Error, CustomStringConvertible {
    var diagnostics: [Diagnostic]
    var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

/// The diagnostics of compiling one file.
func diagnostics(_ yaml: String) -> [Diagnostic] {
    RuleCompiler.compile([RuleSource(name: "pack.yaml", contents: yaml)]).diagnostics
}

/// An event as JSON with sensible envelope defaults.
func event(
    _ type: String, _ data: JSONValue, id: String = UUIDSequence.next(), patient: String = "P1",
    at: String = "2026-01-02T09:00:00Z"
) -> JSONValue {
    ["id": .string(id), "patientId": .string(patient), "type": .string(type), "occurredAt": .string(at), "data": data]
}

/// Deterministic ids for test events.
enum UUIDSequence {
    nonisolated(unsafe) private static var counter = 0
    private static let lock = NSLock()
    static func next() -> String {
        lock.lock()
        defer { lock.unlock() }
        counter += 1
        return "ev-\(counter)"
    }
}

/// Decodes JSON events and folds them into facts.
func facts(_ events: [JSONValue]) throws -> PatientFacts {
    PatientFacts(events: try events.map { try EventDecoder.decode($0) })
}

let sortedEncoder: JSONEncoder = {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return encoder
}()
