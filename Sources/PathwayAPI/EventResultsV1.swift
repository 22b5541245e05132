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
    /// Rejected lines beyond the first `maxListedRejections`, counted in `rejected` but not listed
    /// (absent when every line is listed): the answer stays bounded whatever the body holds.
    public var unlistedRejections: Int?

    public static let maxListedRejections = 100

    public init(results: [Line]) {
        accepted = results.count { $0.status == "accepted" }
        duplicates = results.count { $0.status == "duplicate" }
        rejected = results.count { $0.status == "rejected" }
        var listed = 0
        self.results = results.filter { line in
            guard line.status == "rejected" else { return true }
            listed += 1
            return listed <= Self.maxListedRejections
        }
        unlistedRejections = rejected > Self.maxListedRejections ? rejected - Self.maxListedRejections : nil
    }
}

/// The per-event answer is part of every event's audit record: written directly, as
/// `JSONEncoder` with sorted keys would (`CanonicalJSONWriterTests` compares the two).
extension EventResultV1: CanonicalJSONWritable {
    public func write(to w: inout CanonicalJSONWriter) {
        w.beginObject()
        w.member("changes", changes)
        w.member("decisionId", decisionId)
        w.member("eventId", eventId)
        w.member("status", status)
        w.endObject()
    }
}

extension ChangeV1: CanonicalJSONWritable {
    public func write(to w: inout CanonicalJSONWriter) {
        // As `encode(to:)`: an absent end is null.
        w.beginObject()
        w.key("from")
        if let from { w.string(from) } else { w.raw("null") }
        w.member("id", id)
        w.key("to")
        if let to { w.string(to) } else { w.raw("null") }
        w.endObject()
    }
}
