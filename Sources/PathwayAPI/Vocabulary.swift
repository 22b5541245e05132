/// The closed vocabularies of the v1 contract. The daemon and the store speak these enums; the wire
/// types carry their raw values as strings, so that a client built against this version still reads
/// a record written by a newer daemon that added a value.

/// The roles of contract §2, granted by the configuration's `roles` mapping.
public enum Role: String, Codable, Sendable, CaseIterable, Comparable {
    case ehr, clinician, auditor, admin
    /// The TLS reverse proxy in front of the CDS Hooks routes (Config/nginx). It may reach those
    /// routes only, and every call it forwards must carry a CDS Hooks client JWT: the verified
    /// token, not the proxy, is the caller.
    case gateway
    /// The daemon itself: the start-up rules load, a SIGHUP reload, an integrity override. Never
    /// granted by the configuration, and no route accepts it.
    case daemon

    /// The roles a configuration may grant.
    public static let grantable: [Role] = [.ehr, .clinician, .auditor, .admin, .gateway]

    public static func < (a: Role, b: Role) -> Bool { a.rawValue < b.rawValue }
}

/// What an audit record records (contract §9, `action`).
public enum AuditAction: String, Codable, Sendable, CaseIterable {
    /// An event was stored and the patient re-evaluated.
    case event
    /// A clinician read a patient's facts or recommendations.
    case view
    /// A what-if evaluation: nothing stored but this record.
    case whatIf = "what-if"
    case feedback
    case replay
    /// A request refused for want of a role.
    case denied
    /// Refusals beyond `limits.refusalsPerMinute`, counted instead of recorded one by one.
    case deniedSummary = "denied-summary"
    case rulesReload = "rules-reload"
    case rulesImpact = "rules-impact"
    /// The daemon was started over a trail that failed its start-up check.
    case integrityOverride = "integrity-override"

    /// Actions whose output holds an evaluation.
    public var holdsEvaluation: Bool { self == .event || self == .view || self == .whatIf }
}

/// The `error.code` of contract §10.
public enum ErrorCode: String, Codable, Sendable, CaseIterable {
    // 400
    case invalidRequest = "invalid-request"
    case invalidJSON = "invalid-json"
    case invalidEvent = "invalid-event"
    case invalidUnit = "invalid-unit"
    case unknownEventType = "unknown-event-type"
    case unknownVocabulary = "unknown-vocabulary"
    case invalidFeedback = "invalid-feedback"
    // 401, 403, 404, 405
    /// A call through the gateway without a valid CDS Hooks client JWT.
    case unauthorized
    case forbidden
    case notFound = "not-found"
    case unknownPatient = "unknown-patient"
    case unknownDecision = "unknown-decision"
    case methodNotAllowed = "method-not-allowed"
    // 409
    case eventIdConflict = "event-id-conflict"
    case notReplayable = "not-replayable"
    case revisionNotArchived = "revision-not-archived"
    // 413, 415, 422
    case bodyTooLarge = "body-too-large"
    case tooManyLines = "too-many-lines"
    case unsupportedMediaType = "unsupported-media-type"
    case rulesInvalid = "rules-invalid"
    // 5xx
    case storageUnavailable = "storage-unavailable"
    case tooManyConnections = "too-many-connections"
    case internalError = "internal-error"
}

/// `GET /v1/audit/export?format=`.
public enum ExportFormat: String, Sendable, CaseIterable {
    case jsonl
    case csv
    case fhirAuditEvent = "fhir-auditevent"

    public var contentType: String {
        switch self {
        case .jsonl: "application/x-ndjson"
        case .csv: "text/csv; charset=utf-8; header=present"
        case .fhirAuditEvent: "application/fhir+ndjson"
        }
    }
}

/// What became of one posted event (contract §4).
public enum EventStatus: String, Codable, Sendable, CaseIterable {
    case accepted, duplicate, rejected
}

/// A clinician's answer to a recommendation (`POST /v1/patients/{id}/feedback`).
public enum FeedbackOutcome: String, Codable, Sendable, CaseIterable {
    case accepted, overridden
}
