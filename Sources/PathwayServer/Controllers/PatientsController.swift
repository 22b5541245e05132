import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import PathwayAPI
import PathwayCore
import PathwayStore
import PathwayViews

/// A patient's facts and recommendations, and a clinician's feedback on them (role `clinician`).
struct PatientsController {
    let service: PathwayService

    func addRoutes(to router: Router<PathwayContext>) {
        router.group("/v1/patients").add(middleware: RoleMiddleware(.roles([.clinician]), service: service))
            .get(":id", use: state)
            .get(":id/recommendations", use: recommendations)
            .get(":id/report", use: report)
            .post(":id/feedback", use: feedback)
    }

    @Sendable func state(_ request: Request, context: PathwayContext) async throws -> Response {
        let caller = try context.requireCaller()
        let id = try context.parameters.require("id")
        guard let stored = try await service.store.patientEvents(id) else { throw service.unknownPatient(id) }
        let facts = PatientFacts(events: stored.events)
        let state = PatientStateV1(
            patientId: id,
            facts: facts.current.sorted { $0.key < $1.key }.map { name, entry in
                .init(
                    fact: name, value: entry.value.json, occurredAt: entry.occurredAt.description,
                    eventId: entry.eventId)
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
        try await service.audit(
            actor: caller, action: .view, patientId: id, input: input, output: "{\"patientState\":" + json + "}")
        return .json(json)
    }

    @Sendable func recommendations(_ request: Request, context: PathwayContext) async throws -> Response {
        .json(try await evaluateNow(context).json)
    }

    /// Evaluates the patient's stored events now and records it as a view whose output holds the
    /// evaluation (and `extra` output members, e.g. the report's format) before it is answered.
    private func evaluateNow(_ context: PathwayContext, extra: String = "") async throws -> (
        recorded: RecordedEvaluation, json: String, events: [Event]
    ) {
        let caller = try context.requireCaller()
        let id = try context.parameters.require("id")
        let settings = service.settings
        guard let stored = try await service.store.patientEvents(id) else { throw service.unknownPatient(id) }
        let decisionId = newDecisionId()
        let at = now()
        let recorded = try RecordedEvaluation.evaluate(
            events: stored.events, bodies: stored.bodies, referenced: stored.bodies.count, historyOf: id,
            patientId: id, decisionId: decisionId, now: at, settings: settings)
        let json = try recorded.json
        try await service.audit(
            actor: caller, action: .view, patientId: id, input: recorded.input,
            output: "{\"evaluation\":" + json + extra + "}", decisionId: decisionId, at: at,
            revision: settings.rules.revision, subjects: recorded.subjects)
        return (recorded, json, stored.events)
    }

    /// The tumor-board report: the evaluation now, as a self-contained HTML page or Markdown, with
    /// the patient's timeline. Audited as a view, like the recommendations it shows.
    @Sendable func report(_ request: Request, context: PathwayContext) async throws -> Response {
        let formatName = request.uri.queryParameters["format"].map(String.init) ?? "html"
        guard let format = PatientReport.Format(rawValue: formatName) else {
            throw APIError(
                .badRequest, .invalidRequest, "format must be html or markdown, not \"\(formatName.prefix(40))\"",
                field: "format")
        }
        let (recorded, _, events) = try await evaluateNow(context, extra: ",\"report\":\"" + format.rawValue + "\"")
        // In order of occurrence (ties by id, as facts are folded), whatever the order of arrival.
        let timeline = events.sorted { ($0.occurredAt, $0.id) < ($1.occurredAt, $1.id) }.map {
            TimelineEntry(occurredAt: $0.occurredAt.description, type: $0.type, eventId: $0.id, data: $0.data)
        }
        let page = PatientReport(recorded.evaluation, timeline: timeline).render(format)
        return Response(
            status: .ok, headers: [.contentType: format.contentType], body: .init(byteBuffer: ByteBuffer(string: page)))
    }

    @Sendable func feedback(_ request: Request, context: PathwayContext) async throws -> Response {
        let caller = try context.requireCaller()
        let patientId = try context.parameters.require("id")
        try request.requireMediaType(["application/json"])
        let body = try await request.collectBody(limit: service.configuration.maxBodyBytes)
        let feedback = try decodeBody(FeedbackV1.self, body)
        let output = try await service.recordFeedback(feedback, patientId: patientId, caller: caller)
        return .json(output)
    }

}
