/// `GET /v1/health` (contract §11).
public struct HealthV1: Codable, Sendable, Hashable {
    public struct Rules: Codable, Sendable, Hashable {
        public var revision: String
        public init(revision: String) { self.revision = revision }
    }

    public var status: String
    public var rules: Rules
    public var uptimeSeconds: Int
    /// pathwayd's version (absent from daemons before 0.4.0).
    public var version: String?

    public init(status: String, rules: Rules, uptimeSeconds: Int, version: String? = PathwayVersion.current) {
        self.version = version
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
    /// pathwayd's version.
    public var version: String?

    public init(
        revision: String, packs: [RulesInfoV1.Pack], counts: [String: Int], loadedAt: String, directory: String,
        parameters: [String: String], files: [String], version: String? = PathwayVersion.current
    ) {
        self.version = version
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
    /// The candidate's failing pack tests and broken safety invariants: it could not be loaded as
    /// it is, but its impact is shown (absent when there are none).
    public var problems: [String]?

    public init(running: String, candidate: String, patients: Int, changed: [Patient], problems: [String]? = nil) {
        self.problems = problems
        self.running = running
        self.candidate = candidate
        self.patients = patients
        self.changed = changed
    }
}
