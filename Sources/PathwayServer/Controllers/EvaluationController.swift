import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import PathwayAPI
import PathwayCore
import PathwayStore

/// `POST /v1/evaluate` (role `clinician`): a what-if that stores nothing but its audit record.
struct EvaluationController {
    let service: PathwayService

    func addRoutes(to router: Router<PathwayContext>) {
        router.group("/v1/evaluate").add(middleware: RoleMiddleware(.roles([.clinician]), service: service))
            .post(use: whatIf)
    }

    /// A what-if: `{"events": [...], "patientId"?, "at"?}`. With `patientId`, the events are added
    /// to that patient's stored events; nothing is stored either way except the audit record.
    @Sendable func whatIf(_ request: Request, context: PathwayContext) async throws -> Response {
        let caller = try context.requireCaller()
        try request.requireMediaType(["application/json"])
        let body = try await request.collectBody(limit: service.configuration.maxBodyBytes)
        guard case .object(let members) = try parseJSON(body.readableBytesView) else {
            throw APIError.invalidRequest("the body must be an object with \"events\"", field: "events")
        }
        for key in members.keys where !["events", "patientId", "at"].contains(key) {
            throw APIError.invalidRequest("\(key): unknown field (known: events, patientId, at)", field: key)
        }
        guard case .array(let items)? = members["events"] else {
            throw APIError.invalidRequest("events: required, an array of events", field: "events")
        }
        var patientId: String?
        if let value = members["patientId"] {
            guard case .string(let id) = value else {
                throw APIError.invalidRequest("patientId: must be a string", field: "patientId")
            }
            patientId = id
        }
        var events: [Event] = []
        var bodies: [String] = []
        var referenced = 0
        if let patientId {
            guard let stored = try await service.store.patientEvents(patientId) else {
                throw service.unknownPatient(patientId)
            }
            events = stored.events
            bodies = stored.bodies
            referenced = stored.bodies.count
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
            try service.refuseFarFuture(events[events.count - 1], now: now(), field: "events[\(index)].occurredAt")
            bodies.append(try CanonicalJSON.encode(item))
        }
        var at = now()
        if let value = members["at"] {
            guard case .string(let text) = value, let parsed = try? Instant.parse(text) else {
                throw APIError.invalidRequest("at: must be an RFC 3339 time with offset", field: "at")
            }
            at = parsed
        }
        let ids = Set(events.map(\.patientId))
        let subject = ids.count == 1 && ids.first != "what-if" ? ids.first : nil
        let settings = service.settings
        let decisionId = newDecisionId()
        let recorded = try RecordedEvaluation.evaluate(
            events: events, bodies: bodies, referenced: referenced, historyOf: patientId, patientId: subject,
            decisionId: decisionId, now: at, settings: settings)
        let json = try recorded.json
        try await service.audit(
            actor: caller, action: .whatIf, patientId: subject, input: recorded.input,
            output: "{\"evaluation\":" + json + "}", decisionId: decisionId, at: now(),
            revision: settings.rules.revision)
        return .json(json)
    }

}
