/// A patient's current facts and their history (contract §4).
public struct PatientStateV1: Codable, Sendable, Hashable {
    public struct Fact: Codable, Sendable, Hashable {
        public var fact: String
        public var value: JSONValue
        public var occurredAt: String
        public var eventId: String
        /// In `history` only: `superseded`, `retracted` or `cleared`.
        public var reason: String?

        public init(fact: String, value: JSONValue, occurredAt: String, eventId: String, reason: String? = nil) {
            self.fact = fact
            self.value = value
            self.occurredAt = occurredAt
            self.eventId = eventId
            self.reason = reason
        }
    }

    public struct Treatment: Codable, Sendable, Hashable {
        public var kind: String
        public var agents: [String]
        public var setting: String?
        public var procedure: String?
        public var site: String?
        public var cycles: Int?
        public var status: String
        public var startedAt: String
        public var progressionAt: String?
        public var eventIds: [String]

        public init(
            kind: String, agents: [String], setting: String?, procedure: String?, site: String?, cycles: Int?,
            status: String, startedAt: String, progressionAt: String?, eventIds: [String]
        ) {
            self.kind = kind
            self.agents = agents
            self.setting = setting
            self.procedure = procedure
            self.site = site
            self.cycles = cycles
            self.status = status
            self.startedAt = startedAt
            self.progressionAt = progressionAt
            self.eventIds = eventIds
        }
    }

    public var patientId: String
    public var facts: [Fact]
    public var treatments: [Treatment]
    public var progressions: [String]
    public var history: [Fact]
    /// Every event received for the patient, counted or not, in arrival order.
    public var eventIds: [String]
    public var lastDecisionId: String?

    public init(
        patientId: String, facts: [Fact], treatments: [Treatment], progressions: [String], history: [Fact],
        eventIds: [String], lastDecisionId: String?
    ) {
        self.patientId = patientId
        self.facts = facts
        self.treatments = treatments
        self.progressions = progressions
        self.history = history
        self.eventIds = eventIds
        self.lastDecisionId = lastDecisionId
    }
}
