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
    /// The facts a clinician scans first (an addition to contract §5; absent in documents written
    /// before pathwayd 0.5).
    public var summary: SummaryV1?

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
    /// A PDQ level of evidence: a letter A–D and a digit 1–3 (`A1`, `C2`). Packs written before
    /// the references table put other grading in `level`; views print only a real level.
    public static func isLevel(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return bytes.count == 2 && (UInt8(ascii: "A")...UInt8(ascii: "D")).contains(bytes[0])
            && (UInt8(ascii: "1")...UInt8(ascii: "3")).contains(bytes[1])
    }

    /// What the evidence is: a trial name, a guideline.
    public var source: String
    public var nct: String?
    /// The evidence level as the source grades it (e.g. PDQ `A1`, ASCO strength).
    public var level: String?
    /// Where it is written: seed file and section, or the guideline reference.
    public var cite: String
    public var note: String?
    /// The cited document's title as a reader knows it, from the packs' `references` table.
    public var title: String?
    /// Where to read it: the trial registry for an NCT id, the guideline's DOI, the PDQ summary.
    public var url: String?

    public init(
        source: String, nct: String? = nil, level: String? = nil, cite: String, note: String? = nil,
        title: String? = nil, url: String? = nil
    ) {
        self.source = source
        self.nct = nct
        self.level = level
        self.cite = cite
        self.note = note
        self.title = title
        self.url = url
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
    /// `true` when the patient is outside the trial's population (another disease): the trial is
    /// kept under its status but human views leave it out unless asked. Absent otherwise.
    public var outsidePopulation: Bool?
    /// The registry page of an NCT id.
    public var url: String?

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
    /// The cited document, resolved from the packs' `references` table.
    public var reference: ReferenceV1?

    public init(
        id: String, kind: String, text: String, result: String, reason: String, cite: String,
        values: [FactValueV1]? = nil, reference: ReferenceV1? = nil
    ) {
        self.reference = reference
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
    /// How many options and trials it would decide; `missingData[]` lists the facts that decide the
    /// pathway or setting first, then by this count.
    public var decides: Int?

    public init(fact: String, neededBy: [String], decides: Int? = nil) {
        self.fact = fact
        self.neededBy = neededBy
        self.decides = decides
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

/// A cited document: `{"title", "url"}`.
public struct ReferenceV1: Codable, Sendable, Hashable {
    public var title: String
    public var url: String?

    public init(title: String, url: String? = nil) {
        self.title = title
        self.url = url
    }
}

/// What a clinician scans first: diagnosis, stage, performance status, treatment so far and the
/// contraindications known present, absent or not yet recorded. Unknown facts are `null`.
public struct SummaryV1: Codable, Sendable, Hashable {
    public struct Diagnosis: Codable, Sendable, Hashable {
        public var cancer: String?
        public var histology: String?
        public var histologyConfirmed: Bool?
        public var diagnosedAt: String?
        public init(cancer: String?, histology: String?, histologyConfirmed: Bool?, diagnosedAt: String?) {
            self.cancer = cancer
            self.histology = histology
            self.histologyConfirmed = histologyConfirmed
            self.diagnosedAt = diagnosedAt
        }
    }

    public struct Stage: Codable, Sendable, Hashable {
        /// The stage group, `null` when T, N and M do not decide it.
        public var group: String?
        public var edition: String
        /// `T2 N0 M0`, as recorded.
        public var from: String
        public init(group: String?, edition: String, from: String) {
            self.group = group
            self.edition = edition
            self.from = from
        }
    }

    public struct PerformanceStatus: Codable, Sendable, Hashable {
        /// ECOG 0–4 (Karnofsky and WHO are mapped on arrival).
        public var ecog: Int?
        /// The scale it was recorded on: `ecog`, `who` or `karnofsky`.
        public var scale: String?
        public init(ecog: Int?, scale: String?) {
            self.ecog = ecog
            self.scale = scale
        }
    }

    public struct Line: Codable, Sendable, Hashable {
        public var kind: String
        /// Agents, or the procedure or site of a local treatment.
        public var what: String
        public var setting: String?
        public var status: String
        public var startedAt: String
        public var progressionAt: String?
        public init(
            kind: String, what: String, setting: String?, status: String, startedAt: String, progressionAt: String?
        ) {
            self.kind = kind
            self.what = what
            self.setting = setting
            self.status = status
            self.startedAt = startedAt
            self.progressionAt = progressionAt
        }
    }

    public struct Contraindications: Codable, Sendable, Hashable {
        /// Facts an agent contraindication or a safety gate reads, by what is recorded.
        public var present: [String]
        public var absent: [String]
        public var unknown: [String]
        public init(present: [String], absent: [String], unknown: [String]) {
            self.present = present
            self.absent = absent
            self.unknown = unknown
        }
    }

    public var diagnosis: Diagnosis
    public var stage: Stage?
    public var performanceStatus: PerformanceStatus
    /// Systemic lines recorded.
    public var priorSystemicLines: Int
    /// Whether any recorded line progressed.
    public var progressed: Bool
    public var treatments: [Line]
    public var contraindications: Contraindications

    public init(
        diagnosis: Diagnosis, stage: Stage?, performanceStatus: PerformanceStatus, priorSystemicLines: Int,
        progressed: Bool, treatments: [Line], contraindications: Contraindications
    ) {
        self.diagnosis = diagnosis
        self.stage = stage
        self.performanceStatus = performanceStatus
        self.priorSystemicLines = priorSystemicLines
        self.progressed = progressed
        self.treatments = treatments
        self.contraindications = contraindications
    }
}
