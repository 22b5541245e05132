/// `POST /v1/patients/{id}/feedback` (contract §6).
public struct FeedbackV1: Codable, Sendable, Hashable {
    public struct Reason: Codable, Sendable, Hashable {
        /// An HL7 non-adherence reason code, or a local code (see the README).
        public var code: String
        public var system: String?
        public var text: String?

        public init(code: String, system: String? = nil, text: String? = nil) {
            self.code = code
            self.system = system
            self.text = text
        }
    }

    public var decisionId: String
    public var optionId: String
    /// `accepted` or `overridden`.
    public var outcome: String
    public var reason: Reason?
    /// What was actually done, in the tumor board's words or as an option id.
    public var actualTreatment: String?

    public init(
        decisionId: String, optionId: String, outcome: String, reason: Reason? = nil, actualTreatment: String? = nil
    ) {
        self.decisionId = decisionId
        self.optionId = optionId
        self.outcome = outcome
        self.reason = reason
        self.actualTreatment = actualTreatment
    }
}

public struct FeedbackResultV1: Codable, Sendable, Hashable {
    public var decisionId: String
    public var aboutDecisionId: String
    /// The option's status in the decision the feedback is about.
    public var optionStatus: String
    public var onPathway: Bool

    public init(decisionId: String, aboutDecisionId: String, optionStatus: String, onPathway: Bool) {
        self.decisionId = decisionId
        self.aboutDecisionId = aboutDecisionId
        self.optionStatus = optionStatus
        self.onPathway = onPathway
    }
}

/// `GET /v1/reports/adherence`.
public struct AdherenceReportV1: Codable, Sendable, Hashable {
    public struct Row: Codable, Sendable, Hashable {
        /// `all`, `pathway`, `option` or `reason`.
        public var dimension: String
        public var value: String
        public var total: Int
        public var onPathway: Int
        public var overridden: Int
        public var onPathwayRate: Double

        public init(dimension: String, value: String, total: Int, onPathway: Int, overridden: Int) {
            self.dimension = dimension
            self.value = value
            self.total = total
            self.onPathway = onPathway
            self.overridden = overridden
            self.onPathwayRate = total == 0 ? 0 : (Double(onPathway) / Double(total) * 1000).rounded() / 1000
        }
    }

    public var since: String?
    public var until: String?
    public var rows: [Row]

    public init(since: String?, until: String?, rows: [Row]) {
        self.since = since
        self.until = until
        self.rows = rows
    }
}
