import Foundation
import Hummingbird
import NIOCore
import PathwayAPI
import PathwayCore
import PathwayStore

extension PathwayService {
    // MARK: POST /v1/events

    @Sendable func postEvents(_ request: Request, _ context: PathwayContext, _ actor: Actor) async throws -> Response {
        try request.requireMediaType(["application/json", "application/x-ndjson"])
        let body = try await request.collectBody(limit: configuration.maxBodyBytes)
        let settings = settings
        let receivedAt = now()
        if request.mediaType == "application/json" {
            let json = try parseJSON(body.readableBytesView)
            let event: Event
            do {
                event = try EventDecoder.decode(json)
                try refuseFarFuture(event, now: receivedAt)
            } catch {
                metrics.event("rejected")
                throw (error as? EventValidationError).map { APIError.from($0) } ?? error
            }
            let incoming = IncomingEvent(event: event, canonical: try CanonicalJSON.encode(json))
            let results = try await store.ingest([incoming], actor: actor, settings: settings, receivedAt: receivedAt)
            switch results[0] {
            case .success(let result):
                metrics.event(result.status)
                return try .json(encoding: result)
            case .failure(let rejection):
                metrics.event("rejected")
                throw APIError.from(rejection)
            }
        }

        // NDJSON: every line is checked; the valid ones are stored in slices (each line atomic), and
        // each line gets its result. The line count is checked before anything is parsed.
        let lineCount = body.readableBytesView.reduce(into: 1) { count, byte in if byte == UInt8(ascii: "\n") { count += 1 } }
        guard lineCount <= configuration.maxBatchLines + 1 else {
            throw APIError(
                .contentTooLarge, "too-many-lines",
                "an NDJSON body holds at most \(configuration.maxBatchLines) lines (limits.maxBatchLines); split the batch")
        }
        var lines: [EventBatchResultV1.Line?] = []
        var incoming: [(index: Int, line: Int, item: IncomingEvent)] = []
        for (offset, raw) in body.readableBytesView.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            .enumerated()
        {
            let text = raw.last == UInt8(ascii: "\r") ? raw.dropLast() : raw[...]
            if text.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            let number = offset + 1
            do {
                let json = try parseJSON(text, what: "line \(number)")
                let event: Event
                do { event = try EventDecoder.decode(json) } catch { throw APIError.from(error) }
                try refuseFarFuture(event, now: receivedAt)
                incoming.append((lines.count, number, IncomingEvent(event: event, canonical: try CanonicalJSON.encode(json))))
                lines.append(nil)
            } catch let error as APIError {
                lines.append(
                    .init(
                        line: number, eventId: Self.eventId(in: text), status: "rejected",
                        error: .init(code: error.code, message: error.message, field: error.field)))
            }
        }
        guard !lines.isEmpty else { throw APIError(.badRequest, "invalid-event", "the body holds no events") }
        // Slices keep one batch from holding the single writer: other requests commit in between.
        for start in stride(from: 0, to: incoming.count, by: Self.batchSlice) {
            let slice = incoming[start..<min(start + Self.batchSlice, incoming.count)]
            let results = try await store.ingest(
                slice.map(\.item), actor: actor, settings: settings, receivedAt: receivedAt)
            for (entry, result) in zip(slice, results) {
                switch result {
                case .success(let stored):
                    lines[entry.index] = .init(
                        line: entry.line, eventId: stored.eventId, status: stored.status, decisionId: stored.decisionId,
                        changes: stored.changes)
                case .failure(let rejection):
                    lines[entry.index] = .init(
                        line: entry.line, eventId: entry.item.event.id, status: "rejected",
                        error: .init(code: rejection.code, message: rejection.message, field: rejection.field))
                }
            }
        }
        let batch = EventBatchResultV1(results: lines.compactMap { $0 })
        metrics.event("accepted", count: batch.accepted)
        metrics.event("duplicate", count: batch.duplicates)
        metrics.event("rejected", count: batch.rejected)
        return try .json(encoding: batch, status: batch.rejected == 0 ? .ok : .init(code: 207))
    }

    /// Events of one NDJSON body committed per writer transaction.
    static let batchSlice = 32

    /// The id of an event line that was refused, when it can be read, to help the sender match results.
    private static func eventId(in line: some Collection<UInt8>) -> String? {
        guard case .object(let members)? = try? JSONDecoder().decode(JSONValue.self, from: Data(line)),
            case .string(let id)? = members["id"]
        else { return nil }
        return id
    }

    // MARK: GET /v1/patients/{id}

    @Sendable func patientState(_ request: Request, _ context: PathwayContext, _ actor: Actor) async throws -> Response {
        let id = try context.parameters.require("id")
        guard let stored = try await store.patientEvents(id) else { throw unknownPatient(id) }
        let facts = PatientFacts(events: stored.events)
        let state = PatientStateV1(
            patientId: id,
            facts: facts.current.sorted { $0.key < $1.key }.map { name, entry in
                .init(fact: name, value: entry.value.json, occurredAt: entry.occurredAt.description, eventId: entry.eventId)
            },
            treatments: facts.treatments.map {
                .init(
                    kind: $0.kind, agents: $0.agents, setting: $0.setting, procedure: $0.procedure, site: $0.site,
                    cycles: $0.cycles, status: $0.status, startedAt: $0.startedAt.description,
                    progressionAt: $0.progressionAt?.description, eventIds: $0.eventIds)
            },
            progressions: facts.progressions.map(\.description),
            history: facts.history.map {
                .init(
                    fact: $0.fact, value: $0.value.json, occurredAt: $0.occurredAt.description, eventId: $0.eventId,
                    reason: $0.reason.rawValue)
            },
            eventIds: stored.events.map(\.id), lastDecisionId: stored.lastDecisionId)
        let json = try CanonicalJSON.encode(state)
        let input = try CanonicalJSON.encode(["request": "patient-state", "eventCount": String(stored.events.count)])
        try await audit(actor: actor, action: "view", patientId: id, input: input, output: "{\"patientState\":" + json + "}")
        return .json(json)
    }

    // MARK: GET /v1/patients/{id}/recommendations

    @Sendable func recommendations(_ request: Request, _ context: PathwayContext, _ actor: Actor) async throws -> Response {
        let id = try context.parameters.require("id")
        let settings = settings
        guard let stored = try await store.patientEvents(id) else { throw unknownPatient(id) }
        let decisionId = newDecisionId()
        let at = now()
        let recorded = try RecordedEvaluation.evaluate(
            events: stored.events, bodies: stored.bodies, patientId: id, decisionId: decisionId, now: at,
            settings: settings)
        try await audit(
            actor: actor, action: "view", patientId: id, input: recorded.input,
            output: "{\"evaluation\":" + recorded.json + "}", decisionId: decisionId, at: at,
            revision: settings.rules.revision, subjects: recorded.subjects)
        return .json(recorded.json)
    }

    // MARK: POST /v1/evaluate

    /// A what-if: `{"events": [...], "patientId"?, "at"?}`. With `patientId`, the events are added
    /// to that patient's stored events; nothing is stored either way except the audit record.
    @Sendable func whatIf(_ request: Request, _ context: PathwayContext, _ actor: Actor) async throws -> Response {
        try request.requireMediaType(["application/json"])
        let body = try await request.collectBody(limit: configuration.maxBodyBytes)
        guard case .object(let members) = try parseJSON(body.readableBytesView) else {
            throw APIError(.badRequest, "invalid-request", "the body must be an object with \"events\"", field: "events")
        }
        for key in members.keys where !["events", "patientId", "at"].contains(key) {
            throw APIError(.badRequest, "invalid-request", "\(key): unknown field (known: events, patientId, at)", field: key)
        }
        guard case .array(let items)? = members["events"] else {
            throw APIError(.badRequest, "invalid-request", "events: required, an array of events", field: "events")
        }
        var patientId: String?
        if let value = members["patientId"] {
            guard case .string(let id) = value else {
                throw APIError(.badRequest, "invalid-request", "patientId: must be a string", field: "patientId")
            }
            patientId = id
        }
        var events: [Event] = []
        var bodies: [String] = []
        if let patientId {
            guard let stored = try await store.patientEvents(patientId) else { throw unknownPatient(patientId) }
            events = stored.events
            bodies = stored.bodies
        }
        for (index, item) in items.enumerated() {
            var item = item
            if case .object(var fields) = item, fields["patientId"] == nil {
                fields["patientId"] = .string(patientId ?? "what-if")
                item = .object(fields)
            }
            do { events.append(try EventDecoder.decode(item)) } catch {
                throw APIError.from(error, prefix: "events[\(index)]")
            }
            try refuseFarFuture(events[events.count - 1], now: now(), field: "events[\(index)].occurredAt")
            bodies.append(try CanonicalJSON.encode(item))
        }
        var at = now()
        if let value = members["at"] {
            guard case .string(let text) = value, let parsed = try? Instant.parse(text) else {
                throw APIError(.badRequest, "invalid-request", "at: must be an RFC 3339 time with offset", field: "at")
            }
            at = parsed
        }
        let ids = Set(events.map(\.patientId))
        let subject = ids.count == 1 && ids.first != "what-if" ? ids.first : nil
        let settings = settings
        let decisionId = newDecisionId()
        let recorded = try RecordedEvaluation.evaluate(
            events: events, bodies: bodies, patientId: subject, decisionId: decisionId, now: at, settings: settings)
        try await audit(
            actor: actor, action: "what-if", patientId: subject, input: recorded.input,
            output: "{\"evaluation\":" + recorded.json + "}", decisionId: decisionId, at: now(),
            revision: settings.rules.revision)
        return .json(recorded.json)
    }

    // MARK: Shared

    /// An event dated further ahead than clock skew explains is a data error (a year typed 2062):
    /// `400 invalid-event` naming `occurredAt`. Within the allowance it is stored, and counts only
    /// for evaluations made at or after its time.
    func refuseFarFuture(_ event: Event, now: Instant, field: String = "occurredAt") throws {
        let limit = Int64(configuration.maxFutureSeconds) * 1000
        guard event.occurredAt.millisecondsSinceEpoch - now.millisecondsSinceEpoch > limit else { return }
        throw APIError(
            .badRequest, "invalid-event",
            "\(field): \(event.occurredAt) is more than \(configuration.maxFutureSeconds) s after the time it was received (\(now))",
            field: field)
    }

    func unknownPatient(_ id: String) -> APIError {
        APIError(.notFound, "unknown-patient", "no events were ever received for patient \(id)", field: "id")
    }

    /// Appends one audit record and returns once it is durable.
    func audit(
        actor: Actor, action: String, patientId: String?, input: String, output: String,
        decisionId: String = newDecisionId(), at: Instant = now(), revision: String? = nil,
        subjects: [(subject: String, status: String)] = []
    ) async throws {
        let revision = revision ?? rules.snapshot.rules.revision
        try await store.write { transaction in
            try transaction.appendAudit(
                decisionId: decisionId, at: at, actor: actor, action: action, patientId: patientId, revision: revision,
                input: input, output: output, subjects: subjects)
        }
    }
}
