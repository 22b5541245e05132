/// CDS Hooks 2.0 wire types (contract §8): discovery, the hook request, cards, and feedback.
public enum CDSHooks {
    /// `GET /cds-services`.
    public struct Discovery: Codable, Sendable, Hashable {
        public var services: [Service]

        public init(services: [Service]) { self.services = services }
    }

    public struct Service: Codable, Sendable, Hashable {
        public var hook: String
        public var id: String
        public var title: String
        public var description: String
        public var prefetch: [String: String]
        public var usageRequirements: String?

        public init(
            hook: String, id: String, title: String, description: String, prefetch: [String: String],
            usageRequirements: String? = nil
        ) {
            self.hook = hook
            self.id = id
            self.title = title
            self.description = description
            self.prefetch = prefetch
            self.usageRequirements = usageRequirements
        }
    }

    /// `POST /cds-services/{id}`: what is read of the request (the rest is allowed and ignored).
    public struct Request: Codable, Sendable, Hashable {
        public struct Context: Codable, Sendable, Hashable {
            public var patientId: String
            public var userId: String?
            public var encounterId: String?
        }

        public var hook: String
        public var hookInstance: String
        public var context: Context
        /// Each template's answer: a resource, a searchset Bundle, or null (not available).
        public var prefetch: [String: JSONValue]?
        /// Where the client's FHIR server is and a token for it. pathwayd reads nothing from the
        /// FHIR server (the prefetch and the store are its facts), but a request whose members
        /// have the wrong shape is refused rather than half-read.
        public var fhirServer: String?
        public var fhirAuthorization: FHIRAuthorization?

        public struct FHIRAuthorization: Codable, Sendable, Hashable {
            public var accessToken: String
            public var tokenType: String
            public var expiresIn: Int
            public var scope: String
            public var subject: String
            public var patient: String?

            enum CodingKeys: String, CodingKey {
                case accessToken = "access_token", tokenType = "token_type", expiresIn = "expires_in", scope, subject,
                    patient
            }
        }
    }

    public struct Response: Codable, Sendable, Hashable {
        public var cards: [Card]

        public init(cards: [Card]) { self.cards = cards }
    }

    public struct Coding: Codable, Sendable, Hashable {
        public var system: String
        public var code: String
        public var display: String?

        public init(system: String, code: String, display: String? = nil) {
            self.system = system
            self.code = code
            self.display = display
        }
    }

    public struct Card: Codable, Sendable, Hashable {
        public struct Source: Codable, Sendable, Hashable {
            public var label: String
            public var url: String?
            public var topic: Coding?

            public init(label: String, url: String? = nil, topic: Coding? = nil) {
                self.label = label
                self.url = url
                self.topic = topic
            }
        }

        public struct Suggestion: Codable, Sendable, Hashable {
            public var label: String
            public var uuid: String
            public var isRecommended: Bool?

            public init(label: String, uuid: String, isRecommended: Bool? = nil) {
                self.label = label
                self.uuid = uuid
                self.isRecommended = isRecommended
            }
        }

        public struct Link: Codable, Sendable, Hashable {
            public var label: String
            public var url: String
            /// `absolute` (or `smart`).
            public var type: String

            public init(label: String, url: String, type: String = "absolute") {
                self.label = label
                self.url = url
                self.type = type
            }
        }

        public var uuid: String
        /// At most 140 characters.
        public var summary: String
        /// `info`, `warning` or `critical`.
        public var indicator: String
        /// GitHub-flavoured Markdown.
        public var detail: String?
        public var source: Source
        public var suggestions: [Suggestion]?
        public var selectionBehavior: String?
        public var overrideReasons: [Coding]?
        public var links: [Link]?

        public init(
            uuid: String, summary: String, indicator: String, detail: String?, source: Source,
            suggestions: [Suggestion]? = nil, selectionBehavior: String? = nil, overrideReasons: [Coding]? = nil,
            links: [Link]? = nil
        ) {
            self.uuid = uuid
            self.summary = summary
            self.indicator = indicator
            self.detail = detail
            self.source = source
            self.suggestions = suggestions
            self.selectionBehavior = selectionBehavior
            self.overrideReasons = overrideReasons
            self.links = links
        }
    }

    /// `POST /cds-services/{id}/feedback`.
    public struct Feedback: Codable, Sendable, Hashable {
        public struct Item: Codable, Sendable, Hashable {
            public struct AcceptedSuggestion: Codable, Sendable, Hashable {
                public var id: String
            }

            public struct OverrideReason: Codable, Sendable, Hashable {
                public var reason: Coding?
                public var userComment: String?
            }

            public var card: String
            /// `accepted` or `overridden`.
            public var outcome: String
            public var acceptedSuggestions: [AcceptedSuggestion]?
            public var overrideReason: OverrideReason?
            public var outcomeTimestamp: String
        }

        public var feedback: [Item]
    }
}
