/// The evaluation document of contract §5: what a tumor board reads.
public struct EvaluationV1: Codable, Sendable, Hashable {
    public var decisionId: String
    public var patientId: String?
    public var evaluatedAt: String
    public var rules: RulesInfoV1
    /// Facts the rules derived (age, ECOG, stage, scores, clearance …), by name.
    public var derived: [String: JSONValue]
    /// The pathway that applies, or `nil` when none does or it cannot be decided.
    public var pathway: String?
    /// The setting within the pathway, or `nil` when it cannot be decided (see `missingData`).
    public var setting: String?
    public var options: [OptionV1]
    public var trials: [TrialV1]
    public var missingData: [MissingFactV1]
    public var alerts: [AlertV1]
    /// Events dated after `evaluatedAt`, which this evaluation did not count (absent when none).
    public var future: [FutureEventV1]?

    public init(
        decisionId: String, patientId: String?, evaluatedAt: String, rules: RulesInfoV1,
        derived: [String: JSONValue], pathway: String?, setting: String?, options: [OptionV1],
        trials: [TrialV1], missingData: [MissingFactV1], alerts: [AlertV1]
    ) {
        self.decisionId = decisionId
        self.patientId = patientId
        self.evaluatedAt = evaluatedAt
        self.rules = rules
        self.derived = derived
        self.pathway = pathway
        self.setting = setting
        self.options = options
        self.trials = trials
        self.missingData = missingData
        self.alerts = alerts
    }
}

public struct FutureEventV1: Codable, Sendable, Hashable {
    public var eventId: String
    public var type: String
    public var occurredAt: String

    public init(eventId: String, type: String, occurredAt: String) {
        self.eventId = eventId
        self.type = type
        self.occurredAt = occurredAt
    }
}

public struct RulesInfoV1: Codable, Sendable, Hashable {
    public struct Pack: Codable, Sendable, Hashable {
        public var id: String
        public var version: String
        public init(id: String, version: String) {
            self.id = id
            self.version = version
        }
    }

    /// `sha256:` over the canonical rule sources.
    public var revision: String
    public var packs: [Pack]

    public init(revision: String, packs: [Pack]) {
        self.revision = revision
        self.packs = packs
    }
}

/// One treatment option with its verdict and everything that explains it.
public struct OptionV1: Codable, Sendable, Hashable {
    public var id: String
    public var label: String
    /// `systemic`, `surgery`, `radiotherapy`, `local`, `supportive` or `trial-referral`.
    public var kind: String
    /// `recommended`, `consider`, `needs-data` or `not-eligible`.
    public var status: String
    /// Order among the `recommended` and `consider` options, 1 first; absent otherwise.
    public var rank: Int?
    public var reasons: [ReasonV1]
    /// Facts that would decide a `needs-data` option, named `event-type.field`.
    public var missing: [String]
    public var evidence: [EvidenceV1]
    public var cautions: [CautionV1]

    public init(
        id: String, label: String, kind: String, status: String, rank: Int?, reasons: [ReasonV1],
        missing: [String], evidence: [EvidenceV1], cautions: [CautionV1]
    ) {
        self.id = id
        self.label = label
        self.kind = kind
        self.status = status
        self.rank = rank
        self.reasons = reasons
        self.missing = missing
        self.evidence = evidence
        self.cautions = cautions
    }
}

/// One condition that was tested, its result and the fact values that decided it.
public struct ReasonV1: Codable, Sendable, Hashable {
    public var text: String
    /// `pass`, `fail` or `unknown`.
    public var result: String
    /// The rule condition as written in the pack.
    public var condition: String?
    /// The fact values read while testing the condition, in the order they were read; unknown facts are `null`.
    public var values: [FactValueV1]?

    public init(text: String, result: String, condition: String? = nil, values: [FactValueV1]? = nil) {
        self.text = text
        self.result = result
        self.condition = condition
        self.values = values
    }
}

/// One fact as a reason read it: `{"fact": "ecog", "value": 1}`; `value` is `null` when unknown.
public struct FactValueV1: Codable, Sendable, Hashable {
    public var fact: String
    public var value: JSONValue

    public init(fact: String, value: JSONValue) {
        self.fact = fact
        self.value = value
    }
}

public struct EvidenceV1: Codable, Sendable, Hashable {
    /// What the evidence is: a trial name, a guideline.
    public var source: String
    public var nct: String?
    /// The evidence level as the source grades it (e.g. PDQ `A1`, ASCO strength).
    public var level: String?
    /// Where it is written: seed file and section, or the guideline reference.
    public var cite: String
    public var note: String?

    public init(source: String, nct: String? = nil, level: String? = nil, cite: String, note: String? = nil) {
        self.source = source
        self.nct = nct
        self.level = level
        self.cite = cite
        self.note = note
    }
}

public struct CautionV1: Codable, Sendable, Hashable {
    public var text: String
    public var cite: String?

    public init(text: String, cite: String? = nil) {
        self.text = text
        self.cite = cite
    }
}

public struct TrialV1: Codable, Sendable, Hashable {
    public var id: String
    public var acronym: String?
    public var title: String
    /// `recruiting`, `not-yet-recruiting`, `active-not-recruiting`, `completed`, `unknown` …
    public var recruitment: String
    /// `eligible`, `potentially-eligible` or `ineligible`.
    public var status: String
    public var criteria: [CriterionV1]
    public var cite: String
    /// What is uncertain about the listing itself (e.g. an unconfirmed NCT identification).
    public var notes: [String]

    public init(
        id: String, acronym: String?, title: String, recruitment: String, status: String,
        criteria: [CriterionV1], cite: String, notes: [String]
    ) {
        self.id = id
        self.acronym = acronym
        self.title = title
        self.recruitment = recruitment
        self.status = status
        self.criteria = criteria
        self.cite = cite
        self.notes = notes
    }
}

public struct CriterionV1: Codable, Sendable, Hashable {
    public var id: String
    /// `inclusion` or `exclusion`.
    public var kind: String
    /// The listing's words (or a faithful paraphrase).
    public var text: String
    /// From the patient's side: `pass` means the patient satisfies it.
    public var result: String
    public var reason: String
    public var cite: String
    public var values: [FactValueV1]?

    public init(
        id: String, kind: String, text: String, result: String, reason: String, cite: String,
        values: [FactValueV1]? = nil
    ) {
        self.id = id
        self.kind = kind
        self.text = text
        self.result = result
        self.reason = reason
        self.cite = cite
        self.values = values
    }
}

public struct MissingFactV1: Codable, Sendable, Hashable {
    /// `event-type.field`, e.g. `tumor-board.resectability`.
    public var fact: String
    /// Option ids, `trial:<id>` and `setting` that this fact would decide.
    public var neededBy: [String]

    public init(fact: String, neededBy: [String]) {
        self.fact = fact
        self.neededBy = neededBy
    }
}

public struct AlertV1: Codable, Sendable, Hashable {
    public var id: String
    /// `info`, `warning` or `critical`.
    public var severity: String
    public var text: String
    public var cite: String?

    public init(id: String, severity: String, text: String, cite: String? = nil) {
        self.id = id
        self.severity = severity
        self.text = text
        self.cite = cite
    }
}
