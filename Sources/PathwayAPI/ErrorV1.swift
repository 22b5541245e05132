/// The body of every non-2xx answer (contract §10).
public struct ErrorResponseV1: Codable, Sendable, Hashable {
    public struct Detail: Codable, Sendable, Hashable {
        /// A stable kebab-case code such as `invalid-event` or `unknown-vocabulary`.
        public var code: String
        public var message: String
        /// The offending field as a dotted path (`data.value`), when one is to blame.
        public var field: String?
        /// Every problem, when there are several (e.g. each diagnostic of a refused rules set).
        public var details: [String]?

        public init(code: String, message: String, field: String? = nil, details: [String]? = nil) {
            self.code = code
            self.message = message
            self.field = field
            self.details = details
        }
    }

    public var error: Detail

    public init(code: String, message: String, field: String? = nil, details: [String]? = nil) {
        self.error = Detail(code: code, message: message, field: field, details: details)
    }
}
