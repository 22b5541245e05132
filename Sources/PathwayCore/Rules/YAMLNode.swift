import Foundation
import PathwayAPI
import Yams

/// A YAML document as a tree in which every node knows its place in the file.
///
/// Rule text is read only through `YAMLDecoder` into this type, never through Yams' untyped
/// loaders, which crash the process on a mapping key that is not a scalar. A generic tree,
/// rather than one `Codable` struct per section, lets the compiler report every problem of a file
/// at once with its line and column, instead of stopping at the first decoding error.
indirect enum YAMLNode: Sendable {
    enum ScalarKind: Sendable { case string, number, bool }
    case null(SourceLocation)
    case scalar(String, ScalarKind, SourceLocation)
    case sequence([YAMLNode], SourceLocation)
    case mapping([(key: String, value: YAMLNode)], SourceLocation)

    var location: SourceLocation {
        switch self {
        case .null(let at), .scalar(_, _, let at), .sequence(_, let at), .mapping(_, let at): at
        }
    }

    /// A short name of the node's shape, for messages.
    var shape: String {
        switch self {
        case .null: "nothing"
        case .scalar: "a value"
        case .sequence: "a list"
        case .mapping: "a mapping"
        }
    }

    /// The node as JSON (for events written inside pack tests).
    var json: JSONValue {
        switch self {
        case .null: .null
        case .scalar(let text, .string, _): .string(text)
        case .scalar(let text, .bool, _): .bool(["true", "yes", "on"].contains(text.lowercased()))
        case .scalar(let text, .number, _): .number(Double(text.replacingOccurrences(of: "_", with: "")) ?? .nan)
        case .sequence(let items, _): .array(items.map(\.json))
        case .mapping(let pairs, _):
            .object(Dictionary(pairs.map { ($0.key, $0.value.json) }, uniquingKeysWith: { a, _ in a }))
        }
    }

    /// Parses one source. Syntax errors come back as a diagnostic with the position libyaml gave.
    static func parse(_ source: RuleSource) -> Result<YAMLNode, Diagnostic> {
        do {
            let decoder = YAMLDecoder()
            let node = try decoder.decode(Decoded.self, from: source.contents, userInfo: [fileKey: source.name])
            return .success(node.node)
        } catch {
            return .failure(syntaxDiagnostic(error, file: source.name))
        }
    }

    private static let fileKey = CodingUserInfoKey(rawValue: "pathwayd.file")!

    private static func syntaxDiagnostic(_ error: any Error, file: String) -> Diagnostic {
        var underlying: any Error = error
        if case DecodingError.dataCorrupted(let context) = error, let inner = context.underlyingError {
            underlying = inner
        }
        let at = { (mark: Mark) in SourceLocation(file: file, line: mark.line, column: mark.column) }
        switch underlying {
        case YamlError.scanner(_, let problem, let mark, _), YamlError.parser(_, let problem, let mark, _),
            YamlError.composer(_, let problem, let mark, _):
            return Diagnostic(at(mark), "yaml-syntax", problem)
        case YamlError.duplicatedKeysInMapping(let duplicates, let context):
            return Diagnostic(
                at(context.mark), "duplicate-key",
                "key \(duplicates.joined(separator: ", ")) appears twice in one mapping")
        case YamlError.reader(let problem, _, _, _):
            return Diagnostic(SourceLocation(file: file, line: 1, column: 1), "yaml-syntax", problem)
        case let decoding as DecodingError:
            return Diagnostic(
                SourceLocation(file: file, line: 1, column: 1), "yaml-syntax", String(describing: decoding))
        default:
            return Diagnostic(SourceLocation(file: file, line: 1, column: 1), "yaml-syntax", "\(underlying)")
        }
    }

    /// The `Decodable` bridge: reads each node with the position Yams recorded for it.
    private struct Decoded: Decodable {
        let node: YAMLNode

        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        init(from decoder: any Decoder) throws {
            let file = decoder.userInfo[YAMLNode.fileKey] as? String ?? "<rules>"
            let mark = decoder.mark
            let at = SourceLocation(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1)
            if let keyed = try? decoder.container(keyedBy: Key.self) {
                var pairs: [(key: String, value: YAMLNode)] = []
                for key in keyed.allKeys {
                    pairs.append((key.stringValue, try keyed.decode(Decoded.self, forKey: key).node))
                }
                node = .mapping(pairs, at)
            } else if var unkeyed = try? decoder.unkeyedContainer() {
                var items: [YAMLNode] = []
                while !unkeyed.isAtEnd { items.append(try unkeyed.decode(Decoded.self).node) }
                node = .sequence(items, at)
            } else {
                let single = try decoder.singleValueContainer()
                if single.decodeNil() {
                    node = .null(at)
                } else if let flag = try? single.decode(Bool.self) {
                    node = .scalar(flag ? "true" : "false", .bool, at)
                } else if let number = try? single.decode(Double.self), number.isFinite {
                    node = .scalar(try single.decode(String.self), .number, at)
                } else {
                    node = .scalar(try single.decode(String.self), .string, at)
                }
            }
        }
    }
}

/// One rule file: its name (as shown in diagnostics) and its text. I/O happens elsewhere.
public struct RuleSource: Sendable, Hashable {
    public var name: String
    public var contents: String

    public init(name: String, contents: String) {
        self.name = name
        self.contents = contents
    }
}
