import PathwayAPI

/// Reads the members of one JSON object, naming the field in every error and refusing members
/// nobody asked for (a misspelt `histolgy` must not vanish silently).
struct FieldReader {
    let members: [String: JSONValue]
    let path: String
    private var read: Set<String> = []

    init(_ value: JSONValue, path: String) throws(EventValidationError) {
        guard case .object(let members) = value else {
            throw EventValidationError(
                code: "invalid-event", field: path.isEmpty ? nil : path,
                message: "expected an object, got \(value.typeDescription)")
        }
        self.members = members
        self.path = path
    }

    func field(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func invalid(_ key: String, _ message: String, code: String = "invalid-event") -> EventValidationError {
        EventValidationError(code: code, field: field(key), message: message)
    }

    private mutating func value(_ key: String, required: Bool) throws(EventValidationError) -> JSONValue? {
        read.insert(key)
        guard let value = members[key], value != .null else {
            if required { throw invalid(key, "is required") }
            return nil
        }
        return value
    }

    /// The member as it is, whatever its type (the caller checks it).
    mutating func raw(_ key: String) -> JSONValue? {
        read.insert(key)
        return members[key]
    }

    mutating func string(_ key: String, required: Bool = true) throws(EventValidationError) -> String? {
        guard let value = try value(key, required: required) else { return nil }
        guard case .string(let text) = value else {
            throw invalid(key, "expected a string, got \(value.typeDescription)")
        }
        return text
    }

    mutating func word(_ key: String, in vocabulary: [String], required: Bool = true) throws(EventValidationError)
        -> String?
    {
        guard let text = try string(key, required: required) else { return nil }
        guard vocabulary.contains(text) else {
            throw invalid(
                key, "\"\(text)\" is not one of \(vocabulary.joined(separator: ", "))", code: "unknown-vocabulary")
        }
        return text
    }

    mutating func bool(_ key: String, required: Bool = false) throws(EventValidationError) -> Bool? {
        guard let value = try value(key, required: required) else { return nil }
        guard case .bool(let flag) = value else {
            throw invalid(key, "expected true or false, got \(value.typeDescription)")
        }
        return flag
    }

    mutating func number(
        _ key: String, in range: ClosedRange<Double>? = nil, required: Bool = true
    ) throws(EventValidationError) -> Double? {
        guard let value = try value(key, required: required) else { return nil }
        guard case .number(let number) = value, number.isFinite else {
            throw invalid(key, "expected a number, got \(value.typeDescription)")
        }
        if let range, !range.contains(number) {
            throw invalid(
                key,
                "\(formatNumber(number)) is outside \(formatNumber(range.lowerBound))–\(formatNumber(range.upperBound))"
            )
        }
        return number
    }

    mutating func integer(
        _ key: String, in range: ClosedRange<Int>, required: Bool = true
    ) throws(EventValidationError) -> Int? {
        guard let number = try number(key, required: required) else { return nil }
        // Compare as Double first: `Int(_:)` traps on a value outside Int's range (1e19, 1e300).
        guard number.rounded() == number, Double(range.lowerBound) <= number, number <= Double(range.upperBound)
        else {
            throw invalid(
                key, "must be an integer \(range.lowerBound)–\(range.upperBound), got \(formatNumber(number))")
        }
        return Int(number)
    }

    mutating func date(_ key: String, required: Bool = true) throws(EventValidationError) -> CivilDate? {
        guard let text = try string(key, required: required) else { return nil }
        do { return try CivilDate.parse(text) } catch { throw invalid(key, error.message) }
    }

    mutating func words(_ key: String, in vocabulary: [String]) throws(EventValidationError) -> [String] {
        guard let value = try value(key, required: true) else { return [] }
        guard case .array(let items) = value, !items.isEmpty else {
            throw invalid(key, "expected a non-empty array of words, got \(value.typeDescription)")
        }
        var words: [String] = []
        for (index, item) in items.enumerated() {
            guard case .string(let word) = item else {
                throw invalid("\(key)[\(index)]", "expected a string, got \(item.typeDescription)")
            }
            guard vocabulary.contains(word) else {
                throw invalid("\(key)[\(index)]", "\"\(word)\" is not a known drug id", code: "unknown-vocabulary")
            }
            words.append(word)
        }
        return words
    }

    /// Refuses any member that was not read.
    func finish() throws(EventValidationError) {
        if let extra = members.keys.filter({ !read.contains($0) }).sorted().first {
            throw invalid(extra, "is not a field of this event")
        }
    }
}
