/// One event as an EHR integration posts it (contract §3). Validation happens in `PathwayCore`;
/// this type only carries the envelope.
public struct EventV1: Codable, Sendable, Hashable {
    public var id: String
    public var patientId: String
    public var type: String
    public var occurredAt: String
    public var source: String?
    public var data: JSONValue

    public init(
        id: String, patientId: String, type: String, occurredAt: String, source: String? = nil,
        data: JSONValue
    ) {
        self.id = id
        self.patientId = patientId
        self.type = type
        self.occurredAt = occurredAt
        self.source = source
        self.data = data
    }
}
