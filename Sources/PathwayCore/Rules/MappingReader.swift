/// Reads one YAML mapping of a rule pack: typed members, each problem reported with its place,
/// and every key that nobody asked for reported as `unknown-key`.
struct MappingReader {
    let pairs: [(key: String, value: YAMLNode)]
    let location: SourceLocation
    private let what: String
    private var asked: Set<String> = []

    /// Reads `node` as a mapping, or reports that it is not one and returns nil.
    init?(_ node: YAMLNode, what: String, sink: inout DiagnosticSink) {
        guard case .mapping(let pairs, let at) = node else {
            sink.error(node.location, "invalid-value", "\(what) must be a mapping, found \(node.shape)")
            return nil
        }
        self.pairs = pairs
        self.location = at
        self.what = what
    }

    mutating func node(_ key: String) -> YAMLNode? {
        asked.insert(key)
        return pairs.first { $0.key == key }?.value
    }

    /// A scalar member as text; reports a missing required key or a non-scalar value.
    mutating func text(_ key: String, required: Bool = false, sink: inout DiagnosticSink) -> Located<String>? {
        guard let node = node(key) else {
            if required { sink.error(location, "missing-key", "\(what) needs \"\(key)\"") }
            return nil
        }
        guard case .scalar(let text, _, let at) = node else {
            if case .null = node, !required { return nil }
            sink.error(node.location, "invalid-value", "\"\(key)\" must be a single value, found \(node.shape)")
            return nil
        }
        return Located(text, at)
    }

    mutating func number(_ key: String, required: Bool = false, sink: inout DiagnosticSink) -> Located<Double>? {
        guard let text = text(key, required: required, sink: &sink) else { return nil }
        guard let value = Double(text.value), value.isFinite else {
            sink.error(text.at, "type-mismatch", "\"\(key)\" must be a number, found \"\(text.value)\"")
            return nil
        }
        return Located(value, text.at)
    }

    /// A whole number within `range`, checked before any conversion (a rule's `1e300` must not trap).
    mutating func integer(
        _ key: String, in range: ClosedRange<Int>, required: Bool = false, sink: inout DiagnosticSink
    ) -> Located<Int>? {
        guard let number = number(key, required: required, sink: &sink) else { return nil }
        guard number.value.rounded() == number.value, Double(range.lowerBound) <= number.value,
            number.value <= Double(range.upperBound)
        else {
            sink.error(
                number.at, "invalid-value",
                "\"\(key)\" must be a whole number \(range.lowerBound)–\(range.upperBound), found \(formatNumber(number.value))"
            )
            return nil
        }
        return Located(Int(number.value), number.at)
    }

    mutating func bool(_ key: String, sink: inout DiagnosticSink) -> Bool? {
        guard let text = text(key, sink: &sink) else { return nil }
        switch text.value {
        case "true": return true
        case "false": return false
        default:
            sink.error(text.at, "type-mismatch", "\"\(key)\" must be true or false, found \"\(text.value)\"")
            return nil
        }
    }

    /// A member that may be one scalar or a list of scalars.
    mutating func texts(_ key: String, sink: inout DiagnosticSink) -> [Located<String>] {
        guard let node = node(key) else { return [] }
        return Self.texts(of: node, key: key, sink: &sink)
    }

    static func texts(of node: YAMLNode, key: String, sink: inout DiagnosticSink) -> [Located<String>] {
        switch node {
        case .scalar(let text, _, let at):
            return [Located(text, at)]
        case .sequence(let items, _):
            return items.compactMap { item in
                guard case .scalar(let text, _, let at) = item else {
                    sink.error(
                        item.location, "invalid-value", "items of \"\(key)\" must be single values, found \(item.shape)"
                    )
                    return nil
                }
                return Located(text, at)
            }
        case .null:
            return []
        case .mapping(_, let at):
            sink.error(at, "invalid-value", "\"\(key)\" must be a value or a list of values, found a mapping")
            return []
        }
    }

    /// A member that must be a list; each item is returned as a node.
    mutating func list(_ key: String, required: Bool = false, sink: inout DiagnosticSink) -> [YAMLNode] {
        guard let node = node(key) else {
            if required { sink.error(location, "missing-key", "\(what) needs \"\(key)\"") }
            return []
        }
        switch node {
        case .sequence(let items, _): return items
        case .null: return []
        default:
            sink.error(node.location, "invalid-value", "\"\(key)\" must be a list, found \(node.shape)")
            return []
        }
    }

    /// Reports every key that was present but never asked for.
    func finish(sink: inout DiagnosticSink) {
        for (key, value) in pairs where !asked.contains(key) {
            sink.error(value.location, "unknown-key", "\(what) has no key \"\(key)\"")
        }
    }
}

/// A value with the place it was written.
struct Located<Value> {
    var value: Value
    var at: SourceLocation

    init(_ value: Value, _ at: SourceLocation) {
        self.value = value
        self.at = at
    }
}

extension Located: Sendable where Value: Sendable {}
extension Located: Equatable where Value: Equatable {}
extension Located: Hashable where Value: Hashable {}
