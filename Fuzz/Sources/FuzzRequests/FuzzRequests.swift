import Foundation
import PathwayAPI
import PathwayCore
import PathwayFHIR

/// The whole request path without the socket: bytes as the body of `POST /v1/events` (one JSON
/// event, or NDJSON), of `POST /v1/evaluate` or of `POST /v1/fhir` (a FHIR Bundle, through the
/// mapping to events), through JSON parsing, the duplicate-key check,
/// event validation, the fact fold and evaluation against the shipped rules. The first byte
/// chooses the route. Whatever the bytes, the answer is an evaluation or a refusal — never a crash.
let rules: CompiledRules = {
    let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../Rules")
    let files = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil)!
        .compactMap { $0 as? URL }.filter { $0.pathExtension == "yaml" }
    let sources = files.map {
        RuleSource(name: $0.lastPathComponent, contents: (try? String(contentsOf: $0, encoding: .utf8)) ?? "")
    }
    guard let rules = RuleCompiler.compile(sources).rules else { fatalError("the shipped rules do not compile") }
    return rules
}()
let now = Instant(millisecondsSinceEpoch: 1_780_272_000_000)
let mapper = FHIRMapper(terminology: rules.terminology)

/// Compiles the rules before fuzzing starts, so that libFuzzer's leak check per input does not
/// count the rule set, which lives for the whole run.
@_cdecl("LLVMFuzzerInitialize")
public func initialize(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
) -> CInt {
    _ = rules
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequests(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let route = data[0] % 4
    let body = UnsafeBufferPointer(start: data + 1, count: size - 1)
    var events: [Event] = []
    switch route {
    case 0:  // one JSON event
        guard let json = parse(body) else { return 0 }
        if let event = decode(json) { events.append(event) }
    case 1:  // NDJSON
        for line in body.split(separator: UInt8(ascii: "\n")).prefix(1_000) {
            if let json = parse(line), let event = decode(json) { events.append(event) }
        }
    case 2:  // {"events": [...]} for /v1/evaluate
        guard case .object(let members)? = parse(body), case .array(let items)? = members["events"] else { return 0 }
        events = items.compactMap(decode)
    default:  // a FHIR Bundle for /v1/fhir: what it maps to is checked like any posted event
        guard let json = parse(body), let mapping = try? mapper.map(json) else { return 0 }
        for entry in mapping.entries {
            precondition(!entry.events.isEmpty || !entry.issues.isEmpty || entry.supersedes != nil, "an entry vanished")
            events += entry.events.compactMap { decode($0.json) }
        }
    }
    guard !events.isEmpty else { return 0 }
    let facts = PatientFacts(events: events, asOf: now)
    let evaluation = rules.evaluate(facts, context: EvaluationContext(now: now, decisionId: "fuzz"))
    // The safety invariants hold for whatever arrives.
    precondition(rules.violations(facts, context: EvaluationContext(now: now, decisionId: "fuzz")).isEmpty)
    _ = try? JSONEncoder().encode(evaluation)
    return 0
}

private func parse(_ bytes: some Collection<UInt8>) -> JSONValue? {
    guard let json = try? JSONDecoder().decode(JSONValue.self, from: Data(bytes)) else { return nil }
    return JSONDuplicateKeys.first(in: bytes) == nil ? json : nil
}

private func decode(_ json: JSONValue) -> Event? {
    do { return try EventDecoder.decode(json) } catch {
        precondition(!error.code.isEmpty && !error.message.isEmpty, "a refusal names its code")
        return nil
    }
}
