import Foundation
import Hummingbird
import PathwayAPI
import PathwayCore
import PathwayStore

/// Override reasons: the HL7 non-adherence reason codes (CodeSystem
/// http://terminology.hl7.org/CodeSystem/non-adherence-reason-codes, from
/// shared/reference/cds-hooks-examples/CodeSystem-non-adherence-reason-codes.json) and local ones.
enum OverrideReasons {
    static let hl7System = "http://terminology.hl7.org/CodeSystem/non-adherence-reason-codes"
    static let localSystem = "urn:pathwayd:override-reason"
    static let hl7: Set<String> = [
        "cds-not-applicable", "patient-ineligible", "indication-order-exists", "action-completed",
        "action-unsuccessful", "action-performed-no-adverse-effect", "action-not-priority", "cds-suboptimal-context",
        "limited-time", "wrong-time-workflow", "inappropriate-recipient", "need-more-info",
        "recipient-disagrees-evidence", "does-not-align-latest-evidence", "expert-contradicts", "policy-contradicts",
        "recipient-does-not-trust", "recipient-concerns-outcomes", "risk-benefit-ratio",
        "mitigate-risk-negative-outcome", "likely-negative-health-outcomes", "patient-contraindication",
        "does-not-align-preferences", "patient-fears-discomfort", "patient-does-not-want-change",
        "cultural-religious-reason", "prefers-alternative", "patient-refuses", "not-convenient-feasible",
        "inadequate-support", "service-not-available", "implementation-challenges", "too-costly-uncovered",
        "recipient-does-not-understand", "comorbidity-disability",
    ]
    /// Tumor-board reasons the HL7 list has no code for.
    static let local: Set<String> = ["trial-enrolment", "multidisciplinary-consensus", "recorded-data-wrong"]
}

extension PathwayService {
    // MARK: POST /v1/patients/{id}/feedback

    @Sendable func feedback(_ request: Request, _ context: PathwayContext, _ actor: Actor) async throws -> Response {
        let patientId = try context.parameters.require("id")
        try request.requireMediaType(["application/json"])
        let body = try await request.collectBody(limit: configuration.maxBodyBytes)
        let feedback = try decodeBody(FeedbackV1.self, body)
        guard ["accepted", "overridden"].contains(feedback.outcome) else {
            throw APIError(.badRequest, "invalid-feedback", "outcome: expected accepted or overridden, got \(feedback.outcome)", field: "outcome")
        }
        if feedback.outcome == "overridden" {
            guard let reason = feedback.reason else {
                throw APIError(
                    .badRequest, "invalid-feedback", "reason: an override needs a coded reason (HL7 non-adherence reason code or local code)",
                    field: "reason")
            }
            guard OverrideReasons.hl7.contains(reason.code) || OverrideReasons.local.contains(reason.code) else {
                throw APIError(
                    .badRequest, "unknown-vocabulary",
                    "reason.code: \(reason.code) is neither an HL7 non-adherence reason code nor a local one (\(OverrideReasons.local.sorted().joined(separator: ", ")))",
                    field: "reason.code")
            }
        }
        guard let record = try await store.auditRecord(feedback.decisionId) else { throw unknownDecision(feedback.decisionId) }
        guard record.patientId == patientId, ["event", "view"].contains(record.action),
            let evaluation = try? JSONDecoder().decode(RecordedOutput.self, from: Data(record.output.utf8)).evaluation
        else {
            throw APIError(
                .badRequest, "invalid-feedback",
                "decisionId: \(feedback.decisionId) is not a recommendation for patient \(patientId)", field: "decisionId")
        }
        guard let option = evaluation.options.first(where: { $0.id == feedback.optionId }) else {
            throw APIError(
                .badRequest, "invalid-feedback",
                "optionId: \(feedback.optionId) is not an option of decision \(feedback.decisionId) (options: \(evaluation.options.map(\.id).joined(separator: ", ")))",
                field: "optionId")
        }
        let decisionId = newDecisionId()
        let at = now()
        let input = try CanonicalJSON.encode(feedback)
        let onPathway = feedback.outcome == "accepted" && ["recommended", "consider"].contains(option.status)
        let result = FeedbackResultV1(
            decisionId: decisionId, aboutDecisionId: feedback.decisionId, optionStatus: option.status, onPathway: onPathway)
        let output = try CanonicalJSON.encode(result)
        let revision = record.revision
        try await store.write { transaction in
            try transaction.appendAudit(
                decisionId: decisionId, at: at, actor: actor, action: "feedback", patientId: patientId,
                revision: revision, input: input, output: output)
            try transaction.recordFeedback(
                decisionId: decisionId, about: feedback.decisionId, patientId: patientId, at: at,
                pathway: evaluation.pathway, optionId: option.id, optionStatus: option.status, outcome: feedback.outcome,
                reasonCode: feedback.reason?.code)
        }
        return .json(output)
    }

    // MARK: GET /v1/reports/adherence

    @Sendable func adherence(_ request: Request, _ context: PathwayContext, _ actor: Actor) async throws -> Response {
        let parameters = request.uri.queryParameters
        let since = try time(parameters["since"], field: "since")
        let until = try time(parameters["until"], field: "until")
        let report = try await store.adherence(since: since, until: until)
        return try .json(
            encoding: AdherenceReportV1(
                since: since.map { Instant(millisecondsSinceEpoch: $0).description },
                until: until.map { Instant(millisecondsSinceEpoch: $0).description }, rows: report))
    }

    // MARK: POST /v1/rules/impact

    /// Evaluates every stored patient under the running rules and under candidate sources, and
    /// lists the patients whose options or trial statuses would change. Changes nothing.
    @Sendable func rulesImpact(_ request: Request, _ context: PathwayContext, _ actor: Actor) async throws -> Response {
        try request.requireMediaType(["application/json"])
        let body = try await request.collectBody(limit: max(configuration.maxBodyBytes, 16 << 20))
        let candidateRequest = try decodeBody(RulesImpactRequestV1.self, body)
        let at = now()
        let candidate: LoadedRules
        let problems: [String]
        do {
            (candidate, problems) = try RulesHolder.compileForPreview(
                candidateRequest.sources.map { RuleSource(name: $0.name, contents: $0.contents) },
                label: candidateRequest.label ?? "candidate", at: at, safetyPatients: configuration.safetyPatients)
        } catch {
            throw APIError(
                .unprocessableContent, "rules-invalid",
                "the candidate rules were refused (\(error.problems.count) problem(s)): " + (error.problems.first ?? ""),
                details: error.problems)
        }
        let running = settings
        let proposed = EvaluationSettings(rules: candidate.rules, parameters: running.parameters)
        var changed: [RulesImpactV1.Patient] = []
        let ids = try await store.patientIds()
        for id in ids {
            guard let stored = try await store.patientEvents(id) else { continue }
            let before = try RecordedEvaluation.evaluate(
                events: stored.events, bodies: [], patientId: id, decisionId: "impact", now: at, settings: running)
            let after = try RecordedEvaluation.evaluate(
                events: stored.events, bodies: [], patientId: id, decisionId: "impact", now: at, settings: proposed)
            let differences = changes(from: before.summary, to: after.summary)
            if !differences.isEmpty { changed.append(.init(patientId: id, changes: differences)) }
        }
        let impact = RulesImpactV1(
            running: running.rules.revision, candidate: candidate.rules.revision, patients: ids.count, changed: changed,
            problems: problems.isEmpty ? nil : problems)
        let output = try CanonicalJSON.encode(impact)
        try await audit(
            actor: actor, action: "rules-impact", patientId: nil,
            input: try CanonicalJSON.encode(["candidateRevision": candidate.rules.revision]), output: output, at: at)
        return .json(output)
    }
}

/// The part of a recorded output that feedback needs.
private struct RecordedOutput: Decodable {
    var evaluation: EvaluationV1
}
