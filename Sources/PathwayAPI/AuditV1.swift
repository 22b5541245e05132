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
    /// An `AuditAction` raw value.
    public var action: String
    public var patientId: String?
    public var revision: String?
    /// `pathwayd-audit-v1` or `pathwayd-audit-v2` (docs/audit.md).
    public var format: String?
    /// The pathwayd version that wrote the record (v2 records).
    public var version: String?
    public var input: JSONValue?
    public var output: JSONValue?
    public var prevHash: String
    public var hash: String

    public init(
        seq: Int64, decisionId: String, at: String, actor: ActorV1, action: String, patientId: String?,
        revision: String?, format: String? = nil, version: String? = nil, input: JSONValue?, output: JSONValue?,
        prevHash: String, hash: String
    ) {
        self.format = format
        self.version = version
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
    /// How the documents were compared when the record was written by another pathwayd version:
    /// by content (options, trials, criteria and missing facts matched by id, fields added since
    /// that version not compared). Absent when compared byte for byte by path.
    public var comparison: String?

    public init(
        decisionId: String, revision: String, status: String, differences: [Difference], comparison: String? = nil
    ) {
        self.comparison = comparison
        self.decisionId = decisionId
        self.revision = revision
        self.status = status
        self.differences = differences
    }
}
