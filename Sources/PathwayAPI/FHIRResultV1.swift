/// The answer to `POST /v1/fhir` (contract §7): for every entry of the bundle, the events made of
/// it and what became of each, and what could not be mapped — nothing is dropped silently.
public struct FHIRResultV1: Codable, Sendable, Hashable {
    /// How one element of an entry was read, or why it was not.
    public struct Issue: Codable, Sendable, Hashable {
        /// `unmapped`: nothing was made of the element (the facts it holds stay unknown);
        /// `unverified`: mapped through a terminology entry marked unverified — check the code;
        /// `note`: how the element was read (e.g. combined into another entry's staging event).
        public var severity: String
        /// The FHIR path of the element, e.g. `Observation.valueQuantity.unit`.
        public var element: String
        public var message: String

        public init(severity: String, element: String, message: String) {
            self.severity = severity
            self.element = element
            self.message = message
        }
    }

    /// One event made of an entry: the contract event's id and type, and its result.
    public struct Event: Codable, Sendable, Hashable {
        public var eventId: String
        public var type: String
        public var patientId: String
        /// `accepted`, `duplicate` or `rejected`; `mapped` on a dry run.
        public var status: String
        public var decisionId: String?
        public var changes: [ChangeV1]?
        public var error: ErrorResponseV1.Detail?
        /// The contract event itself, on a dry run (what would be stored).
        public var event: JSONValue?

        public init(
            eventId: String, type: String, patientId: String, status: String, decisionId: String? = nil,
            changes: [ChangeV1]? = nil, error: ErrorResponseV1.Detail? = nil, event: JSONValue? = nil
        ) {
            self.eventId = eventId
            self.type = type
            self.patientId = patientId
            self.status = status
            self.decisionId = decisionId
            self.changes = changes
            self.error = error
            self.event = event
        }
    }

    public struct Entry: Codable, Sendable, Hashable {
        /// Position in `Bundle.entry`, from 0.
        public var entry: Int
        /// `ResourceType/id` (with `/_history/version` when the resource has one), when readable.
        public var resource: String?
        public var events: [Event]
        public var issues: [Issue]

        public init(entry: Int, resource: String?, events: [Event], issues: [Issue]) {
            self.entry = entry
            self.resource = resource
            self.events = events
            self.issues = issues
        }
    }

    public var dryRun: Bool
    public var accepted: Int
    public var duplicates: Int
    public var rejected: Int
    /// Entries of which nothing was made (each lists why).
    public var unmapped: Int
    public var entries: [Entry]
    /// On a dry run: each patient's evaluation with the mapped events added to what is stored.
    public var evaluations: [EvaluationV1]?

    public init(dryRun: Bool, entries: [Entry], evaluations: [EvaluationV1]? = nil) {
        self.dryRun = dryRun
        let events = entries.flatMap(\.events)
        accepted = events.count { $0.status == "accepted" }
        duplicates = events.count { $0.status == "duplicate" }
        rejected = events.count { $0.status == "rejected" }
        unmapped = entries.count { $0.events.isEmpty && $0.issues.contains { $0.severity == "unmapped" } }
        self.entries = entries
        self.evaluations = evaluations
    }
}
