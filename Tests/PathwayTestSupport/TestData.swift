import Foundation
import PathwayAPI

public func encode(_ value: JSONValue) throws -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return Array(try encoder.encode(value))
}

/// Events for tests: a complete first-line pleural patient, with ids unique to `patient`.
public func pleuralPatient(_ patient: String, ecog: Int = 1) -> [JSONValue] {
    func event(_ n: Int, _ type: String, _ at: String, _ data: JSONValue) -> JSONValue {
        [
            "id": .string("\(patient)-\(n)"), "patientId": .string(patient), "type": .string(type),
            "occurredAt": .string(at), "source": "test-ehr", "data": data,
        ]
    }
    return [
        event(1, "demographics", "2026-01-05T09:00:00Z", ["birthDate": "1958-04-02", "sex": "male", "weightKg": 78]),
        event(
            2, "diagnosis", "2026-01-10T09:00:00Z",
            ["cancer": "pleural-mesothelioma", "histology": "epithelioid", "histologyConfirmed": true]),
        event(3, "staging", "2026-01-12T09:00:00Z", ["edition": "ajcc8", "t": "T3", "n": "N1", "m": "M0"]),
        event(4, "performance-status", "2026-01-12T10:00:00Z", ["scale": "ecog", "value": .number(Double(ecog))]),
        event(5, "condition", "2026-01-12T10:00:00Z", ["code": "autoimmune-disease", "status": "absent"]),
        event(6, "condition", "2026-01-12T10:00:00Z", ["code": "organ-transplant", "status": "absent"]),
        event(7, "metastasis", "2026-01-12T10:00:00Z", ["site": "brain", "status": "absent"]),
    ]
}

public func readExamples() throws -> [(name: String, events: [JSONValue])] {
    let data = try Data(
        contentsOf: repositoryRoot.appendingPathComponent("Tests/PathwayCoreTests/Fixtures/examples.json"))
    guard case .object(let root) = try JSONDecoder().decode(JSONValue.self, from: data),
        case .array(let cases)? = root["cases"]
    else { throw HarnessError("examples.json has no cases") }
    return cases.compactMap { item in
        guard case .object(let fields) = item, case .string(let name)? = fields["name"],
            case .array(let events)? = fields["events"]
        else { return nil }
        return (name, events)
    }
}

extension JSONValue {
    public func at(_ path: String) -> JSONValue? {
        var current: JSONValue? = self
        for part in path.split(separator: ".") {
            if case .object(let members)? = current {
                current = members[String(part)]
            } else if case .array(let items)? = current,
                let index = Int(part), items.indices.contains(index)
            {
                current = items[index]
            } else {
                return nil
            }
        }
        return current
    }

    public var string: String? { if case .string(let text) = self { text } else { nil } }
    public var array: [JSONValue]? { if case .array(let items) = self { items } else { nil } }
    public var number: Double? { if case .number(let value) = self { value } else { nil } }
}
