import PathwayAPI

/// What an unrecorded fact means for a requirement.
enum WhenUnknown: String, Sendable {
    /// The option cannot be offered until the fact is recorded: `needs-data`.
    case needsData = "needs-data"
    /// The option may be offered, with the requirement shown as `unknown`, a caution to check it
    /// before starting, and the fact listed as missing. Never `pass`.
    case checkBeforeStart = "check-before-start"
}

/// A requirement of an option, as the tumor board reads it.
final class Requirement: Sendable {
    let condition: Condition
    let whenUnknown: WhenUnknown
    let cite: String?
    /// What to check, in a "check before starting" caution.
    let summary: String
    /// The contraindications or gates it was inherited from (none for the option's own requirements).
    let inheritedFrom: [String]

    init(
        _ condition: Condition, whenUnknown: WhenUnknown = .needsData, cite: String? = nil, summary: String? = nil,
        inheritedFrom: [String] = []
    ) {
        self.inheritedFrom = inheritedFrom
        self.condition = condition
        self.whenUnknown = whenUnknown
        self.cite = cite
        self.summary = summary ?? condition.text ?? condition.source
    }
}

/// Something that must not be present for an item (or an option kind, or a modality) to be given:
/// declared once, added by the compiler to every option it concerns.
final class Contraindication: Sendable {
    let id: String
    /// What excludes, when true.
    let when: Condition
    let text: String
    let cite: String
    let whenUnknown: WhenUnknown
    /// The label of the item, gate or modality that declares it.
    let origin: String

    init(id: String, when: Condition, text: String, cite: String, whenUnknown: WhenUnknown, origin: String) {
        self.id = id
        self.when = when
        self.text = text
        self.cite = cite
        self.whenUnknown = whenUnknown
        self.origin = origin
    }

    /// The requirement an option inherits: the contraindication is not present.
    var requirement: Requirement {
        let condition = Condition(
            expr: .not(when.expr), source: "not (\(when.source))", text: "Excluded if: \(text) (\(origin))", at: when.at
        )
        return Requirement(
            condition, whenUnknown: whenUnknown, cite: cite, summary: "\(text) (\(origin))", inheritedFrom: [id])
    }
}

/// An agent, procedure or class of the catalogue (`Rules/agents.yaml`).
final class CatalogueItem: Sendable {
    enum Kind: String, Sendable { case agent, procedure, `class` }

    let id: String
    let label: String
    let kind: Kind
    /// The item's id and the ids of every class it belongs to, directly or through other classes.
    let closure: Set<String>
    /// The modalities of the item and its classes (chemotherapy, immunotherapy, targeted, surgery).
    let modalities: Set<String>
    /// Its own contraindications and those of every class in its closure, without repeats.
    let contraindications: [Contraindication]
    let cautions: [CautionV1]

    init(
        id: String, label: String, kind: Kind, closure: Set<String>, modalities: Set<String>,
        contraindications: [Contraindication], cautions: [CautionV1]
    ) {
        self.id = id
        self.label = label
        self.kind = kind
        self.closure = closure
        self.modalities = modalities
        self.contraindications = contraindications
        self.cautions = cautions
    }
}

/// One part of a regimen: an item, or alternatives of which one is given (cisplatin or carboplatin).
typealias RegimenGroup = [CatalogueItem]

/// A property no rule set may break, checked on generated patients (`Rules/safety.yaml`).
final class Invariant: Sendable {
    enum Selector: Sendable {
        /// Options of these kinds.
        case kinds(Set<String>)
        /// Options whose regimen certainly contains the item or class.
        case containing(String)
        /// Options whose regimen certainly contains an item of this modality.
        case modality(String)
        /// Options of this pathway.
        case pathway(String)
    }

    enum Check: Sendable {
        /// No selected option is offered while `never` holds.
        case never(Selector, Condition)
        /// `never` written per catalogue item: `{item}` replaced by each item for which it compiles.
        case neverForEach([(item: String, condition: Condition)])
        /// An offered option has no failing reason.
        case offeredWithoutFailingReason
        /// An eligible trial has only passing criteria, a potentially eligible one no failing criterion.
        case trialStatusMatchesCriteria
    }

    let id: String
    let text: String
    let cite: String
    let check: Check
    let at: SourceLocation

    init(id: String, text: String, cite: String, check: Check, at: SourceLocation) {
        self.id = id
        self.text = text
        self.cite = cite
        self.check = check
        self.at = at
    }
}
