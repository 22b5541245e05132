import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
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

    /// `400 unknown-vocabulary` on `field` unless `code` is an HL7 or a local reason code.
    static func check(_ code: String, field: String) throws {
        guard !hl7.contains(code), !local.contains(code) else { return }
        throw APIError(
            .badRequest, .unknownVocabulary,
            "\(field): \(code) is neither an HL7 non-adherence reason code nor a local one (\(local.sorted().joined(separator: ", ")))",
            field: field)
    }
}

extension PathwayService {
    /// An event dated further ahead than clock skew explains is a data error (a year typed 2062):
    /// `400 invalid-event` naming `occurredAt`. Within the allowance it is stored, and counts only
    /// for evaluations made at or after its time.
    func refuseFarFuture(_ event: Event, now: Instant, field: String = "occurredAt") throws {
        let limit = Int64(configuration.maxFutureSeconds) * 1000
        guard event.occurredAt.millisecondsSinceEpoch - now.millisecondsSinceEpoch > limit else { return }
        throw APIError(
            .badRequest, .invalidEvent,
            "\(field): \(event.occurredAt) is more than \(configuration.maxFutureSeconds) s after the time it was received (\(now))",
            field: field)
    }

    func unknownDecision(_ id: String) -> APIError {
        APIError(.notFound, .unknownDecision, "no audit record with decision id \(id)", field: "decisionId")
    }

    func unknownPatient(_ id: String) -> APIError {
        APIError(.notFound, .unknownPatient, "no events were ever received for patient \(id)", field: "id")
    }

    /// Appends one audit record and returns once it is durable.
    func audit(
        actor: Caller, action: AuditAction, patientId: String?, input: String, output: String,
        decisionId: String = newDecisionId(), at: Instant = now(), revision: String? = nil,
        subjects: [(subject: String, status: String)] = []
    ) async throws {
        let revision = revision ?? rules.snapshot.rules.revision
        try await store.record(
            AuditEntry(
                decisionId: decisionId, at: at, actor: actor, action: action, patientId: patientId, revision: revision,
                input: input, output: output, subjects: subjects))
    }
}

extension PathwayService {
    /// Records what the tumor board did with an option of a recommendation (contract §6): checks
    /// the outcome, the override reason and that the decision and option exist, then stores the
    /// feedback with its audit record. Returns the result's canonical JSON.
    func recordFeedback(_ feedback: FeedbackV1, patientId: String, caller: Caller) async throws -> String {
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
            try OverrideReasons.check(reason.code, field: "reason.code")
        }
        guard let record = try await store.auditRecord(feedback.decisionId) else {
            throw unknownDecision(feedback.decisionId)
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
        try await store.record(
            AuditEntry(
                decisionId: decisionId, at: at, actor: caller, action: .feedback, patientId: patientId,
                revision: revision, input: input, output: output),
            feedback: FeedbackEntry(
                about: feedback.decisionId, patientId: patientId, pathway: evaluation.pathway, optionId: option.id,
                optionStatus: option.status, outcome: feedback.outcome, reasonCode: feedback.reason?.code))
        return output
    }
}

/// The part of a recorded output that feedback needs.
struct RecordedOutput: Decodable {
    var evaluation: EvaluationV1
}
