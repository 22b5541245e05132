/// Every fact an event can establish, named `event-type.field` as contract §5 names missing facts.
///
/// The compiler resolves rule identifiers against this catalog (plus the facts the rules derive),
/// so an unknown or misspelt fact name is a compile error, never a silently unknown condition.
public enum FactCatalog {
    public static let types: [String: FactType] = {
        var types: [String: FactType] = [
            "demographics.birthDate": .instant,
            "demographics.sex": .word(Vocabulary.sex),
            "demographics.weightKg": .number,
            "demographics.childbearingPotential": .bool,
            "diagnosis.cancer": .word(Vocabulary.cancers),
            "diagnosis.histology": .word(Vocabulary.histologies),
            "diagnosis.histologyConfirmed": .bool,
            "diagnosis.neType": .word(Vocabulary.neTypes),
            "diagnosis.neComponentPercent": .number,
            "diagnosis.primarySite": .word(Vocabulary.primarySites),
            "diagnosis.metastaticAtDiagnosis": .bool,
            "diagnosis.diagnosedAt": .instant,
            "performance-status": .number,
            "performance-status.scale": .word(Vocabulary.performanceScales),
            "performance-status.karnofsky": .number,
            "response.criteria": .word(Vocabulary.responseCriteria),
            "response.category": .word(Vocabulary.responseCategories),
            "response.metastaticShrinkagePercent": .number,
            "progression": .instant,
            "tumor-board.resectability": .word(Vocabulary.resectability),
            "assessment.lifeExpectancyMonths": .number,
            "assessment.measurableDisease": .bool,
            "assessment.consentCapable": .bool,
        ]
        for prefix in ["staging", "staging.ajcc8", "staging.tnm9"] {
            types["\(prefix).t"] = .word(Vocabulary.tCategories)
            types["\(prefix).n"] = .word(Vocabulary.nCategories)
            types["\(prefix).m"] = .word(Vocabulary.mCategories)
            types["\(prefix).method"] = .word(Vocabulary.stagingMethods)
        }
        types["staging.edition"] = .word(Vocabulary.editions)
        types["staging.stageGroup"] = .word(Vocabulary.stageGroups)
        for field in Event.tumorBoardFlags { types["tumor-board.\(field)"] = .bool }
        for test in Vocabulary.labTests {
            types["lab.\(test)"] = .number
            types["lab.\(test).uln"] = .number
        }
        for code in Vocabulary.conditions { types["condition.\(code)"] = .word(Vocabulary.conditionStatuses) }
        for kind in Vocabulary.medicationClasses { types["medication.\(kind)"] = .word(Vocabulary.medicationStatuses) }
        for drug in Vocabulary.drugs { types["allergy.\(drug)"] = .word(Vocabulary.presence) }
        for site in Vocabulary.metastasisSites { types["metastasis.\(site)"] = .word(Vocabulary.presence) }
        for what in Vocabulary.declinable {
            types["preference.\(what)"] = .word(Vocabulary.preferenceStatuses + ["none"])
        }
        return types
    }()

    /// Facts that are closed-world like treatment history, with the value they take when no event
    /// set them: a patient declines something only when a `preference` event says so.
    public static let closedWorldDefaults: [String: FactValue] = Dictionary(
        uniqueKeysWithValues: Vocabulary.declinable.map { ("preference.\($0)", FactValue.word("none")) })

    /// Fields of one treatment line, readable inside `count(treatment where …)`.
    public static let treatmentFields: [String: FactType] = [
        "kind": .word(Vocabulary.treatmentKinds),
        "setting": .word(Vocabulary.treatmentSettings),
        "status": .word(Vocabulary.treatmentStatuses),
        "procedure": .word(Vocabulary.procedures),
        "site": .word(Vocabulary.radiotherapySites),
        "prophylacticTract": .bool,
        "cycles": .number,
        "progressed": .bool,
        "startedAt": .instant,
        "lastAt": .instant,
        "progressionAt": .instant,
    ]
}
