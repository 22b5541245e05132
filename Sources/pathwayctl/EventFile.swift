import Foundation
import PathwayAPI
import PathwayCore

/// Reads events for `eval` and `bench`: a JSON array of events, `{"events": [...]}`, NDJSON, or a
/// cases file like shared/cases/examples.json (`{"cases": [{"name", "events"}]}`) with a case chosen.
enum EventFile {
    static func load(_ path: String, case chosen: String?) throws -> [Event] {
        try documents(path, case: chosen).enumerated().map { index, json in
            do { return try EventDecoder.decode(json) } catch let error as EventValidationError {
                throw CLIError("\(path): event \(index + 1): \(error.code): \(error)")
            }
        }
    }

    /// The events as JSON text, unvalidated: for posting to the daemon, which validates them.
    static func rawEvents(_ path: String, case chosen: String?) throws -> [String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try documents(path, case: chosen).map { String(decoding: try encoder.encode($0), as: UTF8.self) }
    }

    private static func documents(_ path: String, case chosen: String?) throws -> [JSONValue] {
        let data = try readUserFile(path, what: "events file")
        let documents: [JSONValue]
        if let whole = try? JSONDecoder().decode(JSONValue.self, from: data) {
            documents = try events(in: whole, case: chosen)
        } else {
            documents = try String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline)
                .filter { !$0.allSatisfy(\.isWhitespace) }
                .enumerated().map { index, line in
                    do { return try JSONDecoder().decode(JSONValue.self, from: Data(line.utf8)) } catch {
                        throw CLIError("\(path):\(index + 1): not JSON")
                    }
                }
        }
        return documents
    }

    private static func events(in whole: JSONValue, case chosen: String?) throws -> [JSONValue] {
        switch whole {
        case .array(let items):
            return items
        case .object(let members):
            if case .array(let items)? = members["events"] { return items }
            if case .array(let cases)? = members["cases"] {
                let names = cases.enumerated().map { index, item in
                    "\(index + 1): \(item["name"].flatMap(stringValue) ?? "?")"
                }
                guard let chosen else {
                    throw CLIError("choose a case with --case NAME|NUMBER:\n  " + names.joined(separator: "\n  "))
                }
                let match = cases.enumerated().first { index, item in
                    chosen == String(index + 1) || item["name"].flatMap(stringValue) == chosen
                }
                guard case .array(let items)? = match?.element["events"] else {
                    throw CLIError("no case \(chosen); cases:\n  " + names.joined(separator: "\n  "))
                }
                return items
            }
            return [whole]
        default:
            throw CLIError("expected events as a JSON array, an object or NDJSON")
        }
    }

    private static func stringValue(_ value: JSONValue) -> String? {
        if case .string(let text) = value { return text }
        return nil
    }
}
