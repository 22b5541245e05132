import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import PathwayAPI
import PathwayCore
import PathwayStore

/// A patient's facts and recommendations, and a clinician's feedback on them (role `clinician`).
struct PatientsController {
    let service: PathwayService

    func addRoutes(to router: Router<PathwayContext>) {
        router.group("/v1/patients").add(middleware: RoleMiddleware(.roles([.clinician]), service: service))
            .get(":id", use: state)
            .get(":id/recommendations", use: recommendations)
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
        let caller = try context.requireCaller()
        let id = try context.parameters.require("id")
        let settings = service.settings
        guard let stored = try await service.store.patientEvents(id) else { throw service.unknownPatient(id) }
        let decisionId = newDecisionId()
        let at = now()
        let recorded = try RecordedEvaluation.evaluate(
            events: stored.events, bodies: stored.bodies, referenced: stored.bodies.count, historyOf: id,
            patientId: id, decisionId: decisionId, now: at, settings: settings)
        try await service.audit(
            actor: caller, action: .view, patientId: id, input: recorded.input,
            output: "{\"evaluation\":" + recorded.json + "}", decisionId: decisionId, at: at,
            revision: settings.rules.revision, subjects: recorded.subjects)
        return .json(recorded.json)
    }

    @Sendable func feedback(_ request: Request, context: PathwayContext) async throws -> Response {
        let caller = try context.requireCaller()
        let patientId = try context.parameters.require("id")
        try request.requireMediaType(["application/json"])
        let body = try await request.collectBody(limit: service.configuration.maxBodyBytes)
        let feedback = try decodeBody(FeedbackV1.self, body)
        guard let outcome = FeedbackOutcome(rawValue: feedback.outcome) else {
            throw APIError(
                .badRequest, .invalidFeedback, "outcome: expected accepted or overridden, got \(feedback.outcome)",
                field: "outcome")
        }
        if outcome == .overridden {
            guard let reason = feedback.reason else {
                throw APIError(
                    .badRequest, .invalidFeedback,
                    "reason: an override needs a coded reason (HL7 non-adherence reason code or local code)",
                    field: "reason")
            }
            guard OverrideReasons.hl7.contains(reason.code) || OverrideReasons.local.contains(reason.code) else {
                throw APIError(
                    .badRequest, .unknownVocabulary,
                    "reason.code: \(reason.code) is neither an HL7 non-adherence reason code nor a local one (\(OverrideReasons.local.sorted().joined(separator: ", ")))",
                    field: "reason.code")
            }
        }
        guard let record = try await service.store.auditRecord(feedback.decisionId) else {
            throw service.unknownDecision(feedback.decisionId)
        }
        guard record.patientId == patientId, [AuditAction.event, .view].contains(AuditAction(rawValue: record.action)),
            let evaluation = try? JSONDecoder().decode(RecordedOutput.self, from: Data(try record.output.utf8))
                .evaluation
        else {
            throw APIError(
                .badRequest, .invalidFeedback,
                "decisionId: \(feedback.decisionId) is not a recommendation for patient \(patientId)",
                field: "decisionId")
        }
        guard let option = evaluation.options.first(where: { $0.id == feedback.optionId }) else {
            throw APIError(
                .badRequest, .invalidFeedback,
                "optionId: \(feedback.optionId) is not an option of decision \(feedback.decisionId) (options: \(evaluation.options.map(\.id).joined(separator: ", ")))",
                field: "optionId")
        }
        let decisionId = newDecisionId()
        let at = now()
        let input = try CanonicalJSON.encode(feedback)
        let onPathway = outcome == .accepted && ["recommended", "consider"].contains(option.status)
        let result = FeedbackResultV1(
            decisionId: decisionId, aboutDecisionId: feedback.decisionId, optionStatus: option.status,
            onPathway: onPathway)
        let output = try CanonicalJSON.encode(result)
        let revision = record.revision
        try await service.store.record(
            AuditEntry(
                decisionId: decisionId, at: at, actor: caller, action: .feedback, patientId: patientId,
                revision: revision, input: input, output: output),
            feedback: FeedbackEntry(
                about: feedback.decisionId, patientId: patientId, pathway: evaluation.pathway, optionId: option.id,
                optionStatus: option.status, outcome: feedback.outcome, reasonCode: feedback.reason?.code))
        return .json(output)
    }

}

/// The part of a recorded output that feedback needs.
private struct RecordedOutput: Decodable {
    var evaluation: EvaluationV1
}
