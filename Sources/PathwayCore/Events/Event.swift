import PathwayAPI

/// A validated event: every field checked, every unit normalised. Only `EventDecoder` makes one.
public struct Event: Sendable, Hashable {
    public var id: String
    public var patientId: String
    public var type: String
    public var occurredAt: Instant
    public var source: String?
    /// The `data` object exactly as received, kept for the audit trail and for duplicate detection.
    public var data: JSONValue
    public var effect: Effect

    /// What the event does to a patient's facts.
    public enum Effect: Sendable, Hashable {
        /// Sets facts (canonical units) as of `occurredAt`, and makes `cleared` unknown again.
        case facts([String: FactValue], cleared: [String])
        /// Adds to (or updates a line of) the closed-world treatment history.
        case treatment(TreatmentRecord)
        /// Marks disease progression at `occurredAt`.
        case progression
        /// Withdraws an earlier event of the same patient entered in error.
        case retraction(eventId: String)
    }

    /// The boolean verdicts a `tumor-board` event may carry.
    public static let tumorBoardFlags = [
        "fitForSurgery", "fitForSystemicTherapy", "fitForImmunotherapy", "completeCytoreductionExpected",
        "extraperitonealDisease",
    ]
}

/// One `treatment` event's content.
public struct TreatmentRecord: Sendable, Hashable {
    public var kind: String
    public var agents: [String]
    public var setting: String?
    public var cycles: Int?
    public var procedure: String?
    public var site: String?
    public var prophylacticTract: Bool?
    public var status: String
    /// Events with the same line id describe one line; without it, the line is identified by
    /// kind, setting and agents (systemic), procedure (surgery) or site (radiotherapy).
    public var lineId: String?

    var lineKey: String {
        if let lineId { return "id:\(lineId)" }
        switch kind {
        case "systemic": return "systemic:\(setting ?? "-"):\(agents.sorted().joined(separator: "+"))"
        case "surgery": return "surgery:\(procedure ?? "-")"
        default: return "radiotherapy:\(site ?? "-")"
        }
    }
}

/// Why an event was refused. `code` is a contract §10 code; `field` the dotted path to blame.
public struct EventValidationError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: String
    public var field: String?
    public var message: String

    public init(code: String, field: String?, message: String) {
        self.code = code
        self.field = field
        self.message = message
    }

    public var description: String { field.map { "\($0): \(message)" } ?? message }

    public var response: ErrorResponseV1 { ErrorResponseV1(code: code, message: description, field: field) }
}
