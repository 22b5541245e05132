import PathwayAPI

/// A problem with one entry of a bundle: what could not be mapped, or was mapped from an
/// unverified code. Collected, never thrown: one bad entry does not cost the others.
struct EntryProblem: Error {
    var element: String
    var message: String
}

/// One coding of a `CodeableConcept`.
struct Coding: Sendable, Hashable {
    var system: String
    var code: String
    var display: String?

    var text: String { "\(system)|\(code)" + (display.map { " (\($0))" } ?? "") }
}

/// Reading the elements of one resource with their FHIR path (`Observation.valueQuantity.unit`) for
/// the answer. Lenient where FHIR allows more than is read (unknown elements, extensions, `_`
/// primitive siblings are ignored); strict about the type of every element that is read.
struct ResourceReader {
    let type: String
    let members: [String: JSONValue]

    init(type: String, members: [String: JSONValue]) {
        self.type = type
        self.members = members
    }

    func path(_ element: String) -> String { "\(type).\(element)" }

    /// A string element, or nil when absent.
    func string(_ element: String, in object: [String: JSONValue]? = nil, at prefix: String? = nil) throws(EntryProblem)
        -> String?
    {
        let value = (object ?? members)[element]
        switch value {
        case nil, .null?: return nil
        case .string(let text)?: return text
        case let other?:
            throw EntryProblem(
                element: path((prefix.map { $0 + "." } ?? "") + element),
                message: "must be a string, not \(other.typeDescription)")
        }
    }

    /// An object element, or nil when absent.
    func object(_ element: String, in object: [String: JSONValue]? = nil, at prefix: String? = nil) throws(EntryProblem)
        -> [String: JSONValue]?
    {
        switch (object ?? members)[element] {
        case nil, .null?: return nil
        case .object(let members)?: return members
        case let other?:
            throw EntryProblem(
                element: path((prefix.map { $0 + "." } ?? "") + element),
                message: "must be an object, not \(other.typeDescription)")
        }
    }

    /// An array element of objects; empty when absent.
    func objects(_ element: String, in object: [String: JSONValue]? = nil, at prefix: String? = nil)
        throws(EntryProblem)
        -> [[String: JSONValue]]
    {
        let location = path((prefix.map { $0 + "." } ?? "") + element)
        switch (object ?? members)[element] {
        case nil, .null?: return []
        case .array(let items)?:
            var result: [[String: JSONValue]] = []
            for (index, item) in items.enumerated() {
                guard case .object(let members) = item else {
                    throw EntryProblem(element: "\(location)[\(index)]", message: "must be an object")
                }
                result.append(members)
            }
            return result
        case let other?:
            throw EntryProblem(element: location, message: "must be an array, not \(other.typeDescription)")
        }
    }

    /// The codings of a `CodeableConcept` element (absent: none).
    func codings(_ element: String, in object: [String: JSONValue]? = nil, at prefix: String? = nil)
        throws(EntryProblem)
        -> [Coding]
    {
        let here = (prefix.map { $0 + "." } ?? "") + element
        guard let concept = try self.object(element, in: object, at: prefix) else { return [] }
        var result: [Coding] = []
        for (index, coding) in try objects("coding", in: concept, at: here).enumerated() {
            let at = "\(here).coding[\(index)]"
            guard let system = try string("system", in: coding, at: at),
                let code = try string("code", in: coding, at: at)
            else { continue }
            result.append(Coding(system: system, code: code, display: try string("display", in: coding, at: at)))
        }
        return result
    }

    /// A `code` element (e.g. `status`, `gender`).
    func code(_ element: String) throws(EntryProblem) -> String? { try string(element) }

    /// A number (`valueInteger`, `valueQuantity.value`).
    func number(_ element: String, in object: [String: JSONValue]? = nil, at prefix: String? = nil) throws(EntryProblem)
        -> Double?
    {
        switch (object ?? members)[element] {
        case nil, .null?: return nil
        case .number(let value)?: return value
        case let other?:
            throw EntryProblem(
                element: path((prefix.map { $0 + "." } ?? "") + element),
                message: "must be a number, not \(other.typeDescription)")
        }
    }
}

/// FHIR `date` / `dateTime` / `instant` → RFC 3339 with offset, as the contract's `occurredAt`
/// needs. A full date is midnight UTC of that day; a year or year-month alone cannot order facts
/// and is refused.
func rfc3339(_ text: String, element: String) throws(EntryProblem) -> String {
    let bytes = Array(text.utf8)
    let isDate =
        bytes.count == 10 && bytes[4] == UInt8(ascii: "-") && bytes[7] == UInt8(ascii: "-")
        && bytes.enumerated().allSatisfy { $0.offset == 4 || $0.offset == 7 || (0x30...0x39).contains($0.element) }
    if isDate { return text + "T00:00:00Z" }
    if bytes.count < 10 {
        throw EntryProblem(
            element: element, message: "\"\(text)\" is a partial date: a day is needed to order the facts it carries")
    }
    return text
}

/// The id a resource reference points at: `Patient/123`, `https://ehr.example/fhir/Patient/123`
/// (the last two segments), or a bundle's `fullUrl`.
func referencedId(_ reference: String, type: String, fullUrls: [String: String]) -> String? {
    if let id = fullUrls[reference] { return id }
    let parts = reference.split(separator: "/")
    if let historyIndex = parts.lastIndex(of: "_history"), historyIndex >= 2 {
        return parts[historyIndex - 2] == Substring(type) ? String(parts[historyIndex - 1]) : nil
    }
    guard parts.count >= 2, parts[parts.count - 2] == Substring(type) else { return nil }
    return String(parts[parts.count - 1])
}
