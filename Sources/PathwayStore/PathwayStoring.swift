import PathwayAPI
import PathwayCore

/// One audit record to append: what happened, for whom, with what input and output (canonical
/// JSON). The store links it into the chain.
public struct AuditEntry: Sendable {
    public var decisionId: String
    public var at: Instant
    public var actor: Caller
    public var action: AuditAction
    public var patientId: String?
    public var revision: String?
    public var input: String
    public var output: String
    public var subjects: [(subject: String, status: String)]

    public init(
        decisionId: String, at: Instant, actor: Caller, action: AuditAction, patientId: String?, revision: String?,
        input: String, output: String, subjects: [(subject: String, status: String)] = []
    ) {
        self.decisionId = decisionId
        self.at = at
        self.actor = actor
        self.action = action
        self.patientId = patientId
        self.revision = revision
        self.input = input
        self.output = output
        self.subjects = subjects
    }
}

/// What a tumor board did with a recommendation (contract §6), stored beside its audit record.
public struct FeedbackEntry: Sendable {
    public var about: String
    public var patientId: String
    public var pathway: String?
    public var optionId: String
    public var optionStatus: String
    public var outcome: String
    public var reasonCode: String?

    public init(
        about: String, patientId: String, pathway: String?, optionId: String, optionStatus: String, outcome: String,
        reasonCode: String?
    ) {
        self.about = about
        self.patientId = patientId
        self.pathway = pathway
        self.optionId = optionId
        self.optionStatus = optionStatus
        self.outcome = outcome
        self.reasonCode = reasonCode
    }
}

/// Everything the daemon asks of its storage. The routes and the service speak only this, so a
/// second implementation (PostgreSQL, for a network of daemons) can be added without touching
/// them or the engine. Every write is durable when it returns, and is audited in the same
/// transaction as the change it records; a write that cannot be committed throws
/// `StorageUnavailable` and leaves nothing behind.
public protocol PathwayStoring: Sendable {
    // Events and patients
    /// Stores events and the decision each causes (one result per event, in order).
    func ingest(_ items: [IncomingEvent], actor: Caller, settings: EvaluationSettings, receivedAt: Instant)
        async throws -> [Result<EventResultV1, Rejection>]
    /// A patient's stored events in arrival order, or nil for a patient never seen.
    func patientEvents(_ id: String) async throws -> (events: [Event], bodies: [String], lastDecisionId: String)?
    /// The bodies of a patient's first `count` stored events (replay of a v2 record).
    func eventBodies(patientId: String, count: Int) async throws -> [String]
    /// The stored events whose id is one of `prefixes` or continues it with `/` or `+` (the events
    /// made of one FHIR resource, all its versions): id, patient and time.
    func events(idPrefixes: [String]) async throws -> [StoredEventReference]
    func patientIds() async throws -> [String]

    // The audit trail
    /// Appends one record.
    func record(_ entry: AuditEntry) async throws
    /// Appends records and archives a rules revision, in one transaction.
    func record(_ entries: [AuditEntry], archiving rules: ArchivedRules) async throws
    /// Appends a feedback record and stores the feedback, in one transaction.
    func record(_ entry: AuditEntry, feedback: FeedbackEntry) async throws
    func audit(_ query: AuditQuery) async throws -> (records: [AuditRecord], next: String?)
    func auditRecord(_ decisionId: String) async throws -> AuditRecord?
    func records(afterSeq: Int64, since: Int64?, until: Int64?, limit: Int) async throws -> [AuditRecord]
    func verify(against checkpoint: ChainHead?, from: ChainHead?) async throws -> AuditVerificationV1
    var head: ChainHead { get async throws }
    func adherence(since: Int64?, until: Int64?) async throws -> [AdherenceReportV1.Row]

    // The rules archive
    func archivedRules(_ revision: String) async throws -> [RuleSource]?

    // Integrity and lifecycle
    func checkIntegrity() async throws -> IntegrityReport
    func restoreTriggers() async throws
    func recordCheckpoint(_ head: ChainHead, at: Int64, kind: String) async throws
    /// Commits what is queued and closes.
    func close() throws
}

extension Store: PathwayStoring {
    public func record(_ entry: AuditEntry) async throws {
        let output = try compressed(entry)
        try await write { transaction in try transaction.append(entry, output: output) }
    }

    public func record(_ entries: [AuditEntry], archiving rules: ArchivedRules) async throws {
        let outputs = try entries.map(compressed)
        try await write { transaction in
            try transaction.archive(rules: rules, at: entries.first?.at ?? Instant(millisecondsSinceEpoch: 0))
            for (entry, output) in zip(entries, outputs) { try transaction.append(entry, output: output) }
        }
        dictionaries.register(rules.dictionary)
    }

    public func record(_ entry: AuditEntry, feedback: FeedbackEntry) async throws {
        let output = try compressed(entry)
        try await write { transaction in
            try transaction.append(entry, output: output)
            try transaction.recordFeedback(
                decisionId: entry.decisionId, about: feedback.about, patientId: feedback.patientId, at: entry.at,
                pathway: feedback.pathway, optionId: feedback.optionId, optionStatus: feedback.optionStatus,
                outcome: feedback.outcome, reasonCode: feedback.reasonCode)
        }
    }
}

extension Store {
    /// An entry's output compressed, off the writer: against its revision's dictionary once that
    /// is stored (a what-if or a replay is an evaluation like any other), else alone.
    private func compressed(_ entry: AuditEntry) throws -> CompressedOutput {
        try CompressedOutput(entry.output, dictionary: entry.revision.flatMap(dictionaries.committed(forRevision:)))
    }
}

extension WriteTransaction {
    func append(_ entry: AuditEntry, output: CompressedOutput) throws {
        try appendAudit(
            decisionId: entry.decisionId, at: entry.at, actor: entry.actor, action: entry.action,
            patientId: entry.patientId, revision: entry.revision, input: entry.input, output: output,
            subjects: entry.subjects)
    }
}

/// A stored event by id, patient and time.
public struct StoredEventReference: Sendable, Hashable {
    public var id: String
    public var patientId: String
    public var occurredAt: Instant

    public init(id: String, patientId: String, occurredAt: Instant) {
        self.id = id
        self.patientId = patientId
        self.occurredAt = occurredAt
    }
}
