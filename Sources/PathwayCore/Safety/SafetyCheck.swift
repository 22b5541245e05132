import Foundation
import PathwayAPI

/// The smallest patient found that breaks an invariant, as events `pathwayctl eval` accepts.
public struct Counterexample: Sendable {
    public var violation: InvariantViolation
    /// Contract events, in occurrence order.
    public var events: [JSONValue]
    public var parameters: [String: String]
    public var at: Instant
    /// The generated patient it was shrunk from: replay with the same seed and count.
    public var patient: Int

    /// The events as a JSON array, one event per line.
    public var eventsJSON: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let lines = events.map { String(decoding: (try? encoder.encode($0)) ?? Data(), as: UTF8.self) }
        return "[\n" + lines.joined(separator: ",\n") + "\n]"
    }

    /// The command that shows the evaluation, with the events saved as FILE.
    public var command: String {
        let parameters = parameters.keys.sorted().map { " --param \($0)=\(self.parameters[$0]!)" }.joined()
        return "pathwayctl eval --rules DIR --events FILE --at \(at)\(parameters)"
    }
}

/// The result of checking a rule set's invariants on generated patients.
public struct SafetyCheckResult: Sendable {
    public var patients: Int
    public var seed: UInt64
    /// Generated patients whose evaluation broke at least one invariant.
    public var violatingPatients: Int
    /// One per broken invariant, shrunk.
    public var counterexamples: [Counterexample]
    /// One error per broken invariant, at the invariant's place, for `rules check` and reload.
    public var diagnostics: [Diagnostic]

    public var summary: String { "safety: \(patients) patients, \(violatingPatients) violations (seed \(seed))" }
}

/// Property-based safety check: generated patients of every class, every invariant, every pack.
public enum SafetyCheck {
    public static let defaultPatients = 10_000
    public static let defaultSeed: UInt64 = 20_261_202

    /// Pure and deterministic: the same rules, count and seed give the same result. With
    /// `stopAtFirstViolation` the check ends after the first patient that breaks an invariant
    /// (`patients` then counts the patients checked).
    public static func run(
        _ rules: CompiledRules, patients: Int = defaultPatients, seed: UInt64 = defaultSeed,
        stopAtFirstViolation: Bool = false
    ) -> SafetyCheckResult {
        var violating = 0
        var checked = 0
        var firsts: [String: Counterexample] = [:]
        for index in 0..<patients where !(stopAtFirstViolation && violating > 0) {
            checked += 1
            let (events, parameters) = generate(rules, seed: seed, index: index)
            let found = violations(rules, events, parameters)
            guard !found.isEmpty else { continue }
            violating += 1
            for violation in found where firsts[violation.invariant] == nil {
                let shrunk = shrink(rules, events, parameters, invariant: violation.invariant)
                let final =
                    violations(rules, shrunk, parameters).first { $0.invariant == violation.invariant } ?? violation
                firsts[violation.invariant] = Counterexample(
                    violation: final, events: ordered(shrunk), parameters: parameters, at: PatientGenerator.now,
                    patient: index)
            }
        }
        let counterexamples = rules.invariants.compactMap { firsts[$0.id] }
        let diagnostics = counterexamples.compactMap { example -> Diagnostic? in
            guard let invariant = rules.invariants.first(where: { $0.id == example.violation.invariant }) else {
                return nil
            }
            return Diagnostic(
                invariant.at, "safety-invariant",
                "\(invariant.text) — broken by \(example.violation.subject): \(example.violation.detail) "
                    + "(generated patient \(example.patient) of seed \(seed); smallest counterexample, "
                    + "\(example.command)):\n\(example.eventsJSON)")
        }
        return SafetyCheckResult(
            patients: checked, seed: seed, violatingPatients: violating, counterexamples: counterexamples,
            diagnostics: diagnostics)
    }

    /// The events and parameters of generated patient `index`.
    static func generate(_ rules: CompiledRules, seed: UInt64, index: Int) -> ([JSONValue], [String: String]) {
        var generator = PatientGenerator(seed: seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15)
        let events = generator.patient()
        var parameters: [String: String] = [:]
        for parameter in rules.parameters { parameters[parameter.id] = generator.random.pick(parameter.values) }
        return (events, parameters)
    }

    static func violations(_ rules: CompiledRules, _ events: [JSONValue], _ parameters: [String: String])
        -> [InvariantViolation]
    {
        let decoded = events.compactMap { try? EventDecoder.decode($0) }
        let context = EvaluationContext(now: PatientGenerator.now, decisionId: "safety", parameters: parameters)
        return rules.violations(PatientFacts(events: decoded, asOf: context.now), context: context)
    }

    /// Removes events, then fields of events, while the invariant stays broken.
    static func shrink(
        _ rules: CompiledRules, _ events: [JSONValue], _ parameters: [String: String], invariant: String
    ) -> [JSONValue] {
        func breaks(_ candidate: [JSONValue]) -> Bool {
            violations(rules, candidate, parameters).contains { $0.invariant == invariant }
        }
        var current = events
        var changed = true
        while changed {
            changed = false
            var index = 0
            while index < current.count {
                var candidate = current
                candidate.remove(at: index)
                candidate = withoutDanglingRetractions(candidate)
                if breaks(candidate) {
                    current = candidate
                    changed = true
                } else {
                    index += 1
                }
            }
        }
        for index in current.indices {
            guard case .object(var event) = current[index], case .object(let data)? = event["data"] else { continue }
            for key in data.keys.sorted() {
                guard case .object(var fewer)? = event["data"] else { break }
                fewer[key] = nil
                var candidateEvent = event
                candidateEvent["data"] = .object(fewer)
                var candidate = current
                candidate[index] = .object(candidateEvent)
                if (try? EventDecoder.decode(.object(candidateEvent))) != nil, breaks(candidate) {
                    current = candidate
                    event = candidateEvent
                }
            }
        }
        return current
    }

    private static func withoutDanglingRetractions(_ events: [JSONValue]) -> [JSONValue] {
        let ids = Set(
            events.compactMap { event -> String? in
                if case .object(let members) = event, case .string(let id)? = members["id"] { return id }
                return nil
            })
        return events.filter { event in
            guard case .object(let members) = event, members["type"] == "retraction",
                case .object(let data)? = members["data"], case .string(let target)? = data["eventId"]
            else { return true }
            return ids.contains(target)
        }
    }

    private static func ordered(_ events: [JSONValue]) -> [JSONValue] {
        func key(_ event: JSONValue) -> (String, String) {
            guard case .object(let members) = event, case .string(let at)? = members["occurredAt"],
                case .string(let id)? = members["id"]
            else { return ("", "") }
            return (at, id)
        }
        return events.sorted { key($0) < key($1) }
    }
}
