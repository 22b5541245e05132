/// The answer for one posted event (contract §3).
public struct EventResultV1: Codable, Sendable, Hashable {
    public var eventId: String
    /// `accepted` or `duplicate`.
    public var status: String
    /// The decision the event caused (for a duplicate: the one the first posting caused).
    public var decisionId: String
    /// Options and trial statuses that differ from the patient's previous evaluation.
    public var changes: [ChangeV1]

    public init(eventId: String, status: String, decisionId: String, changes: [ChangeV1]) {
        self.eventId = eventId
        self.status = status
        self.decisionId = decisionId
        self.changes = changes
    }
}

/// One option or trial whose status changed; `from` is absent for a new one, `to` for one gone.
public struct ChangeV1: Codable, Sendable, Hashable {
    public var id: String
    public var from: String?
    public var to: String?

    public init(id: String, from: String?, to: String?) {
        self.id = id
        self.from = from
        self.to = to
    }

    // Absent ends are written as null, so a reader sees both keys every time.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(from, forKey: .from)
        try container.encode(to, forKey: .to)
    }
}

/// The answer for an NDJSON body: one result per non-empty line, in order.
public struct EventBatchResultV1: Codable, Sendable, Hashable {
    public struct Line: Codable, Sendable, Hashable {
        /// 1-based line number in the body.
        public var line: Int
        public var eventId: String?
        /// `accepted`, `duplicate` or `rejected`.
        public var status: String
        public var decisionId: String?
        public var changes: [ChangeV1]?
        public var error: ErrorResponseV1.Detail?

        public init(
            line: Int, eventId: String?, status: String, decisionId: String? = nil, changes: [ChangeV1]? = nil,
            error: ErrorResponseV1.Detail? = nil
        ) {
            self.line = line
            self.eventId = eventId
            self.status = status
            self.decisionId = decisionId
            self.changes = changes
            self.error = error
        }
    }

    public var accepted: Int
    public var duplicates: Int
    public var rejected: Int
    public var results: [Line]

    public init(results: [Line]) {
        self.results = results
        accepted = results.count { $0.status == "accepted" }
        duplicates = results.count { $0.status == "duplicate" }
        rejected = results.count { $0.status == "rejected" }
    }
}

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

/// Who made a request, as the audit trail records it.
public struct ActorV1: Codable, Sendable, Hashable {
    public var uid: Int64
    public var user: String
    public var roles: [String]

    public init(uid: Int64, user: String, roles: [String]) {
        self.uid = uid
        self.user = user
        self.roles = roles
    }
}

/// One audit record (contract §9). Lists leave out `input` and `output`.
public struct AuditRecordV1: Codable, Sendable, Hashable {
    public var seq: Int64
    public var decisionId: String
    public var at: String
    public var actor: ActorV1
    /// `event`, `view`, `what-if`, `feedback`, `denied`, `rules-reload`, `replay`.
    public var action: String
    public var patientId: String?
    public var revision: String?
    public var input: JSONValue?
    public var output: JSONValue?
    public var prevHash: String
    public var hash: String

    public init(
        seq: Int64, decisionId: String, at: String, actor: ActorV1, action: String, patientId: String?,
        revision: String?, input: JSONValue?, output: JSONValue?, prevHash: String, hash: String
    ) {
        self.seq = seq
        self.decisionId = decisionId
        self.at = at
        self.actor = actor
        self.action = action
        self.patientId = patientId
        self.revision = revision
        self.input = input
        self.output = output
        self.prevHash = prevHash
        self.hash = hash
    }
}

/// A page of audit records, newest first. Pass `next` as `after` for the following page.
public struct AuditPageV1: Codable, Sendable, Hashable {
    public var records: [AuditRecordV1]
    public var next: String?

    public init(records: [AuditRecordV1], next: String?) {
        self.records = records
        self.next = next
    }
}

/// The result of walking the audit chain.
public struct AuditVerificationV1: Codable, Sendable, Hashable {
    public struct Failure: Codable, Sendable, Hashable {
        public var seq: Int64
        public var decisionId: String?
        /// `content` (hash does not match the record), `link` (previous hash does not match),
        /// `order` (sequence gap or disorder), `truncated` (checkpoint beyond the end) or
        /// `checkpoint` (the checkpointed record has another hash).
        public var problem: String
        public var message: String

        public init(seq: Int64, decisionId: String?, problem: String, message: String) {
            self.seq = seq
            self.decisionId = decisionId
            self.problem = problem
            self.message = message
        }
    }

    /// `ok` or `broken`.
    public var status: String
    public var records: Int64
    public var head: Checkpoint?
    public var firstBroken: Failure?
    public var seconds: Double

    public struct Checkpoint: Codable, Sendable, Hashable {
        public var seq: Int64
        public var hash: String
        public init(seq: Int64, hash: String) {
            self.seq = seq
            self.hash = hash
        }
    }

    public init(status: String, records: Int64, head: Checkpoint?, firstBroken: Failure?, seconds: Double) {
        self.status = status
        self.records = records
        self.head = head
        self.firstBroken = firstBroken
        self.seconds = seconds
    }
}

/// `GET /v1/health` (contract §11).
public struct HealthV1: Codable, Sendable, Hashable {
    public struct Rules: Codable, Sendable, Hashable {
        public var revision: String
        public init(revision: String) { self.revision = revision }
    }

    public var status: String
    public var rules: Rules
    public var uptimeSeconds: Int

    public init(status: String, rules: Rules, uptimeSeconds: Int) {
        self.status = status
        self.rules = rules
        self.uptimeSeconds = uptimeSeconds
    }
}

/// `GET /v1/rules`: what is loaded.
public struct RulesStatusV1: Codable, Sendable, Hashable {
    public var revision: String
    public var packs: [RulesInfoV1.Pack]
    public var counts: [String: Int]
    public var loadedAt: String
    public var directory: String
    /// Parameters in force: pack defaults overridden by the configuration.
    public var parameters: [String: String]
    public var files: [String]

    public init(
        revision: String, packs: [RulesInfoV1.Pack], counts: [String: Int], loadedAt: String, directory: String,
        parameters: [String: String], files: [String]
    ) {
        self.revision = revision
        self.packs = packs
        self.counts = counts
        self.loadedAt = loadedAt
        self.directory = directory
        self.parameters = parameters
        self.files = files
    }
}

/// `POST /v1/rules/reload` when the new set was accepted.
public struct ReloadResultV1: Codable, Sendable, Hashable {
    /// `reloaded`, or `unchanged` when the sources give the running revision.
    public var status: String
    public var from: String
    public var to: String
    public var counts: [String: Int]

    public init(status: String, from: String, to: String, counts: [String: Int]) {
        self.status = status
        self.from = from
        self.to = to
        self.counts = counts
    }
}

/// `POST /v1/audit/decisions/{id}/replay`.
public struct ReplayResultV1: Codable, Sendable, Hashable {
    public struct Difference: Codable, Sendable, Hashable {
        /// Where the documents differ, e.g. `options[0].status`.
        public var path: String
        public var recorded: JSONValue
        public var replayed: JSONValue

        public init(path: String, recorded: JSONValue, replayed: JSONValue) {
            self.path = path
            self.recorded = recorded
            self.replayed = replayed
        }
    }

    public var decisionId: String
    public var revision: String
    /// `identical` or `different`.
    public var status: String
    public var differences: [Difference]

    public init(decisionId: String, revision: String, status: String, differences: [Difference]) {
        self.decisionId = decisionId
        self.revision = revision
        self.status = status
        self.differences = differences
    }
}

/// `POST /v1/patients/{id}/feedback` (contract §6).
public struct FeedbackV1: Codable, Sendable, Hashable {
    public struct Reason: Codable, Sendable, Hashable {
        /// An HL7 non-adherence reason code, or a local code (see the README).
        public var code: String
        public var system: String?
        public var text: String?
    }

    public var decisionId: String
    public var optionId: String
    /// `accepted` or `overridden`.
    public var outcome: String
    public var reason: Reason?
    /// What was actually done, in the tumor board's words or as an option id.
    public var actualTreatment: String?
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

/// `POST /v1/rules/impact`: candidate rule sources.
public struct RulesImpactRequestV1: Codable, Sendable, Hashable {
    public struct Source: Codable, Sendable, Hashable {
        public var name: String
        public var contents: String
        public init(name: String, contents: String) {
            self.name = name
            self.contents = contents
        }
    }

    public var sources: [Source]
    /// Shown in diagnostics, e.g. the directory the sources came from.
    public var label: String?

    public init(sources: [Source], label: String?) {
        self.sources = sources
        self.label = label
    }
}

public struct RulesImpactV1: Codable, Sendable, Hashable {
    public struct Patient: Codable, Sendable, Hashable {
        public var patientId: String
        public var changes: [ChangeV1]
        public init(patientId: String, changes: [ChangeV1]) {
            self.patientId = patientId
            self.changes = changes
        }
    }

    public var running: String
    public var candidate: String
    /// Patients evaluated.
    public var patients: Int
    public var changed: [Patient]

    public init(running: String, candidate: String, patients: Int, changed: [Patient]) {
        self.running = running
        self.candidate = candidate
        self.patients = patients
        self.changed = changed
    }
}
