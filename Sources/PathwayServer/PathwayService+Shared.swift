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
