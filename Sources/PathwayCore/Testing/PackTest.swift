/// A test case kept inside a rule pack: events in, expected verdicts out.
public struct PackTest: Sendable {
    public var name: String
    public var location: SourceLocation
    public var events: [Event]
    /// The evaluation time: `at` when given, else the latest event's `occurredAt`.
    public var now: Instant
    public var parameters: [String: String]
    var expect: Expectation
}

/// What a pack test expects. Lists of statuses mean "any of these".
struct Expectation: Sendable {
    struct OptionExpectation: Sendable {
        var statuses: [String] = []
        var rank: Int?
        var missingIncludes: [String] = []
        /// True for an option that must not be listed at all (another setting).
        var absent = false
    }

    struct TrialExpectation: Sendable {
        var statuses: [String] = []
        var recruitment: String?
        var noFailingCriterion = false
        var criteria: [(id: String, result: String)] = []
    }

    /// `.some(nil)` expects no pathway (or no setting).
    var pathway: String??
    var setting: String??
    var derived: [(fact: String, value: String)] = []
    var options: [(id: String, OptionExpectation)] = []
    var trials: [(id: String, TrialExpectation)] = []
    var alerts: [String] = []
    var noAlerts = false
    var missingData: [String] = []
}
