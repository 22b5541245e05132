import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import PathwayAPI
import PathwayCore
import PathwayStore

/// The auditor's routes: query, read, verify, replay and export the trail; the adherence report
/// (auditors and clinicians).
struct AuditController {
    let service: PathwayService

    func addRoutes(to router: Router<PathwayContext>) {
        router.group("/v1/audit").add(middleware: RoleMiddleware(.roles([.auditor]), service: service))
            .get("decisions", use: list)
            .get("decisions/:id", use: show)
            .post("decisions/:id/replay", use: replay)
            .get("verify", use: verify)
            .get("export", use: export)
        router.group("/v1/reports").add(middleware: RoleMiddleware(.roles([.auditor, .clinician]), service: service))
            .get("adherence", use: adherence)
    }

    @Sendable func list(_ request: Request, context: PathwayContext) async throws -> Response {
        let parameters = request.uri.queryParameters
        let known: Set<String> = [
            "patientId", "actor", "action", "revision", "since", "until", "option", "trial", "limit", "after",
        ]
        for (key, _) in parameters where !known.contains(String(key)) {
            throw APIError.invalidRequest(
                "\(key): unknown filter (known: \(known.sorted().joined(separator: ", ")))",
                field: String(key))
        }
        var query = AuditQuery()
        query.patientId = parameters["patientId"].map(String.init)
        query.actor = parameters["actor"].map(String.init)
        if let text = parameters["action"] {
            guard let action = AuditAction(rawValue: String(text)) else {
                let known = AuditAction.allCases.map(\.rawValue).joined(separator: ", ")
                throw APIError.invalidRequest("action: unknown action \(text) (known: \(known))", field: "action")
            }
            query.action = action
        }
        query.revision = parameters["revision"].map(String.init)
        query.optionId = parameters["option"].map(String.init)
        query.trialId = parameters["trial"].map(String.init)
        query.since = try time(parameters["since"], field: "since")
        query.until = try time(parameters["until"], field: "until")
        if let text = parameters["limit"] {
            guard let limit = Int(text), (1...1000).contains(limit) else {
                throw APIError.invalidRequest("limit: must be a whole number 1–1000", field: "limit")
            }
            query.limit = limit
        }
        if let cursor = parameters["after"] {
            guard let seq = AuditQuery.seq(fromCursor: String(cursor)) else {
                throw APIError.invalidRequest("after: not a cursor this daemon gave out", field: "after")
            }
            query.before = seq
        }
        let page = try await service.store.audit(query)
        return try .json(
            encoding: AuditPageV1(records: try page.records.map { try $0.wire(full: false) }, next: page.next))
    }

    func time(_ text: Substring?, field: String) throws -> Int64? {
        guard let text else { return nil }
        guard let instant = try? Instant.parse(String(text)) else {
            throw APIError.invalidRequest(
                "\(field): must be an RFC 3339 time with offset, e.g. 2026-03-01T00:00:00Z",
                field: field)
        }
        return instant.millisecondsSinceEpoch
    }

    @Sendable func show(_ request: Request, context: PathwayContext) async throws -> Response {
        let id = try context.parameters.require("id")
        guard let record = try await service.store.auditRecord(id) else { throw service.unknownDecision(id) }
        return try .json(encoding: try record.wire(full: true))
    }

    @Sendable func verify(_ request: Request, context: PathwayContext) async throws -> Response {
        var checkpoint: ChainHead?
        if let text = request.uri.queryParameters["against"] {
            let parts = text.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, let seq = Int64(parts[0]), seq >= 0, parts[1].count == 64 else {
                throw APIError.invalidRequest(
                    "against: expected SEQ:HASH as written in a checkpoint log line",
                    field: "against")
            }
            checkpoint = ChainHead(seq: seq, hash: String(parts[1]))
        }
        return try .json(encoding: try await service.store.verify(against: checkpoint, from: nil))
    }

    @Sendable func replay(_ request: Request, context: PathwayContext) async throws -> Response {
        let caller = try context.requireCaller()
        let id = try context.parameters.require("id")
        guard let record = try await service.store.auditRecord(id) else { throw service.unknownDecision(id) }
        let result = try await replay(record)
        let output = try CanonicalJSON.encode(result)
        let input = try CanonicalJSON.encode(["decisionId": id])
        try await service.audit(
            actor: caller, action: .replay, patientId: record.patientId, input: input, output: output,
            revision: record.revision)
        return .json(output)
    }

    /// Re-evaluates a recorded decision with the rules revision that was in force and compares.
    func replay(_ record: AuditRecord) async throws -> ReplayResultV1 {
        guard case .object(let input) = try parseJSON(Array(record.input.utf8), what: "the recorded input"),
            case .object(let output) = try parseJSON(Array(try record.output.utf8), what: "the recorded output"),
            let recorded = output["evaluation"], case .array(let inline)? = input["events"],
            case .string(let evaluatedAt)? = input["evaluatedAt"], let at = try? Instant.parse(evaluatedAt)
        else {
            throw APIError(
                .conflict, .notReplayable,
                "decision \(record.decisionId) (\(record.action)) holds no evaluation to replay", field: "decisionId")
        }
        guard let revision = record.revision,
            let rules = try await service.rules.rules(revision: revision, store: service.store)
        else {
            throw APIError(
                .conflict, .revisionNotArchived,
                "rules revision \(record.revision ?? "none") is not in the archive", field: "decisionId")
        }
        var parameters: [String: String] = [:]
        if case .object(let members)? = input["parameters"] {
            for (key, value) in members { if case .string(let text) = value { parameters[key] = text } }
        }
        // v1 records hold every event; v2 records reference the stored ones by count and digest.
        var items: [JSONValue] = []
        if let reference = input["history"] {
            let history = try JSONDecoder().decode(EventHistory.self, from: Data(CanonicalJSON.encode(reference).utf8))
            let bodies = try await service.store.eventBodies(patientId: history.patientId, count: history.count)
            guard bodies.count == history.count, EventHistory.digest(bodies) == history.digest else {
                return ReplayResultV1(
                    decisionId: record.decisionId, revision: revision, status: "different",
                    differences: [
                        .init(
                            path: "input.history", recorded: reference,
                            replayed: .string(
                                "the stored events of \(history.patientId) no longer match: \(bodies.count) of "
                                    + "\(history.count) found, digest \(EventHistory.digest(bodies))"))
                    ])
            }
            items = try bodies.map { try parseJSON(Array($0.utf8), what: "a stored event") }
        }
        items += inline
        var events: [Event] = []
        for (index, item) in items.enumerated() {
            do { events.append(try EventDecoder.decode(item)) } catch {
                return ReplayResultV1(
                    decisionId: record.decisionId, revision: revision, status: "different",
                    differences: [
                        .init(path: "input.events[\(index)]", recorded: item, replayed: .string("refused: \(error)"))
                    ])
            }
        }
        var patientId: String?
        if case .object(let document) = recorded, case .string(let id)? = document["patientId"] { patientId = id }
        let context = EvaluationContext(
            now: at, decisionId: record.decisionId, patientId: patientId, parameters: parameters)
        let evaluation = rules.evaluate(PatientFacts(events: events, asOf: context.now), context: context)
        let replayed = try parseJSON(Array(try CanonicalJSON.encode(evaluation).utf8))
        var differences: [ReplayResultV1.Difference] = []
        // A record of another version is compared by content: a later version may order the
        // lists differently, add fields, or round a binary tail off a number.
        let acrossVersions = record.version != PathwayVersion.current
        diff(recorded, replayed, path: "", byContent: acrossVersions, into: &differences)
        return ReplayResultV1(
            decisionId: record.decisionId, revision: revision, status: differences.isEmpty ? "identical" : "different",
            differences: differences,
            comparison: acrossVersions
                ? "by content: written by pathwayd \(record.version ?? "before 0.4"), replayed by \(PathwayVersion.current); "
                    + "options, trials, criteria and missing facts matched by id, fields added since not compared"
                : nil)
    }

    @Sendable func export(_ request: Request, context: PathwayContext) async throws -> Response {
        let parameters = request.uri.queryParameters
        let text = parameters["format"].map(String.init) ?? ExportFormat.jsonl.rawValue
        guard let format = ExportFormat(rawValue: text) else {
            let known = ExportFormat.allCases.map(\.rawValue).joined(separator: ", ")
            throw APIError.invalidRequest("format: expected one of \(known), got \(text)", field: "format")
        }
        let since = try time(parameters["since"], field: "since")
        let until = try time(parameters["until"], field: "until")
        let store = service.store
        let body = ResponseBody { writer in
            if format == .csv {
                var header = ByteBuffer()
                header.writeString(AuditExport.csvHeader)
                try await writer.write(header)
            }
            var after: Int64 = 0
            while true {
                // Pages of records in sequence order, so memory stays flat however long the trail is.
                let page = try await store.records(afterSeq: after, since: since, until: until, limit: 500)
                guard let last = page.last else { break }
                var buffer = ByteBuffer()
                for record in page {
                    buffer.writeString(try AuditExport.line(record, format: format))
                }
                try await writer.write(buffer)
                after = last.seq
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: format.contentType], body: body)
    }

    @Sendable func adherence(_ request: Request, context: PathwayContext) async throws -> Response {
        let parameters = request.uri.queryParameters
        let since = try time(parameters["since"], field: "since")
        let until = try time(parameters["until"], field: "until")
        let report = try await service.store.adherence(since: since, until: until)
        return try .json(
            encoding: AdherenceReportV1(
                since: since.map { Instant(millisecondsSinceEpoch: $0).description },
                until: until.map { Instant(millisecondsSinceEpoch: $0).description }, rows: report))
    }

}

extension AuditRecord {
    /// The record as the contract shows it; `full` adds input and output, parsed. A stored output
    /// that cannot be read (a damaged v2 record) is an error, not an omission.
    func wire(full: Bool) throws -> AuditRecordV1 {
        let inputValue = full ? try JSONDecoder().decode(JSONValue.self, from: Data(input.utf8)) : nil
        let outputValue = full ? try JSONDecoder().decode(JSONValue.self, from: Data(try output.utf8)) : nil
        return AuditRecordV1(
            seq: seq, decisionId: decisionId, at: Instant(millisecondsSinceEpoch: at).description,
            actor: ActorV1(uid: actorUid, user: actorUser, roles: actorRoles.split(separator: ",").map(String.init)),
            action: action, patientId: patientId, revision: revision, format: format.rawValue, version: version,
            input: inputValue, output: outputValue, prevHash: prevHash, hash: hash)
    }
}

/// Collects the paths at which two JSON documents differ (at most 50). `byContent` compares a
/// record written by another version: only the recorded document's keys, lists of objects with an
/// `id` (or `fact`) matched by it, numbers equal to 12 significant digits.
func diff(
    _ a: JSONValue, _ b: JSONValue, path: String, byContent: Bool = false,
    into differences: inout [ReplayResultV1.Difference]
) {
    guard differences.count < 50, a != b else { return }
    switch (a, b) {
    case (.object(let left), .object(let right)):
        let keys = byContent ? Set(left.keys) : Set(left.keys).union(right.keys)
        for key in keys.sorted() {
            diff(
                left[key] ?? .null, right[key] ?? .null, path: path + "." + key, byContent: byContent,
                into: &differences)
        }
    case (.array(let left), .array(let right)) where byContent && keyed(left) != nil && keyed(right) != nil:
        let (name, old) = keyed(left)!
        let new = keyed(right)!.1
        for id in old.keys.sorted() {
            diff(old[id]!, new[id] ?? .null, path: path + "[\(name)=\(id)]", byContent: true, into: &differences)
        }
        for id in new.keys.sorted() where old[id] == nil {
            diff(.null, new[id]!, path: path + "[\(name)=\(id)]", byContent: true, into: &differences)
        }
    case (.array(let left), .array(let right)) where left.count == right.count:
        for index in left.indices {
            diff(left[index], right[index], path: path + "[\(index)]", byContent: byContent, into: &differences)
        }
    case (.number(let x), .number(let y)) where byContent && abs(x - y) <= 1e-12 * max(1, abs(x)):
        return
    default:
        differences.append(
            .init(
                path: path.isEmpty ? "." : String(path.dropFirst(path.hasPrefix(".") ? 1 : 0)), recorded: a, replayed: b
            ))
    }
}

/// A list of objects each with a distinct `id` (or `fact`), by that key; nil for any other list.
private func keyed(_ items: [JSONValue]) -> (String, [String: JSONValue])? {
    for name in ["id", "fact"] {
        var byKey: [String: JSONValue] = [:]
        for item in items {
            guard case .object(let members) = item, case .string(let key)? = members[name], byKey[key] == nil else {
                byKey = [:]
                break
            }
            byKey[key] = item
        }
        if byKey.count == items.count, !items.isEmpty { return (name, byKey) }
    }
    return nil
}
