import PathwayAPI

/// Turns one JSON event (contract §3) into a validated `Event`, or refuses it with an error that
/// names the field. Nothing about a refused event is kept by anyone.
public enum EventDecoder {
    /// Decodes the envelope and the `data` of its type.
    public static func decode(_ json: JSONValue) throws(EventValidationError) -> Event {
        var envelope = try FieldReader(json, path: "")
        let id = try envelope.string("id")!
        guard (1...128).contains(id.utf8.count), id.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw envelope.invalid("id", "must be 1–128 printable ASCII characters without spaces")
        }
        let patientId = try envelope.string("patientId")!
        guard (1...64).contains(patientId.utf8.count), patientId.utf8.allSatisfy(isPatientIdByte) else {
            throw envelope.invalid("patientId", "must be 1–64 characters of A-Z a-z 0-9 . _ : -")
        }
        let type = try envelope.string("type")!
        guard Vocabulary.eventTypes.contains(type) else {
            throw envelope.invalid("type", "unknown event type \"\(type)\"", code: "unknown-event-type")
        }
        let occurredText = try envelope.string("occurredAt")!
        let occurredAt: Instant
        do { occurredAt = try Instant.parse(occurredText) } catch {
            throw envelope.invalid("occurredAt", error.message)
        }
        let source = try envelope.string("source", required: false)
        let data = envelope.raw("data") ?? .object([:])
        try envelope.finish()

        var reader = try FieldReader(data, path: "data")
        let effect = try decodeData(type: type, &reader, occurredAt: occurredAt)
        try reader.finish()
        return Event(
            id: id, patientId: patientId, type: type, occurredAt: occurredAt, source: source, data: data,
            effect: effect)
    }

    /// A byte a patient id may hold (contract §3): `A-Z a-z 0-9 . _ : -`.
    public static func isPatientIdByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: ":"),
            UInt8(ascii: "-"):
            true
        default: false
        }
    }

    private static func decodeData(
        type: String, _ r: inout FieldReader, occurredAt: Instant
    ) throws(EventValidationError) -> Event.Effect {
        var facts: [String: FactValue] = [:]
        var cleared: [String] = []
        func set(_ name: String, _ value: FactValue?) { if let value { facts[name] = value } }
        switch type {
        case "demographics":
            let birth = try r.date("birthDate")!
            guard Instant(birth) <= occurredAt else { throw r.invalid("birthDate", "lies after occurredAt") }
            set("demographics.birthDate", .instant(Instant(birth)))
            set("demographics.sex", try r.word("sex", in: Vocabulary.sex).map(FactValue.word))
            set("demographics.weightKg", try r.number("weightKg", in: 0.5...700, required: false).map(FactValue.number))
            set("demographics.childbearingPotential", try r.bool("childbearingPotential").map(FactValue.bool))
        case "diagnosis":
            try decodeDiagnosis(&r, into: &facts)
        case "staging":
            let edition = try r.word("edition", in: Vocabulary.editions)!
            let method = try r.word("method", in: Vocabulary.stagingMethods, required: false) ?? "clinical"
            let t = try r.word("t", in: Vocabulary.tCategories)!
            let n = try r.word("n", in: Vocabulary.nCategories)!
            let m = try r.word("m", in: Vocabulary.mCategories)!
            for prefix in ["staging", "staging.\(edition)"] {
                set("\(prefix).t", .word(t))
                set("\(prefix).n", .word(n))
                set("\(prefix).m", .word(m))
                set("\(prefix).method", .word(method))
            }
            // M (and N2) mean the same in both editions: the newest report decides them whatever
            // edition it came in, so an older TNM 9 M0 cannot outlive a newer AJCC 8 M1.
            for other in Vocabulary.editions where other != edition {
                set("staging.\(other).m", .word(m))
                if n == "N2" { set("staging.\(other).n", .word(n)) }
            }
            set("staging.edition", .word(edition))
            // A reported stage group belongs to the staging it came with: a staging without one
            // clears an older report, which must not linger next to newer T/N/M.
            if let group = try r.word("stageGroup", in: Vocabulary.stageGroups, required: false) {
                set("staging.stageGroup", .word(group))
            } else {
                cleared.append("staging.stageGroup")
            }
        case "performance-status":
            let scale = try r.word("scale", in: Vocabulary.performanceScales)!
            set("performance-status.scale", .word(scale))
            if scale == "karnofsky" {
                let kps = try r.integer("value", in: 0...100)!
                guard kps % 10 == 0 else { throw r.invalid("value", "Karnofsky must be a multiple of 10, got \(kps)") }
                set("performance-status.karnofsky", .number(Double(kps)))
                set("performance-status", .number(Double(ecog(fromKarnofsky: kps))))
            } else {
                let value = try r.integer("value", in: 0...5)!
                set("performance-status", .number(Double(value)))
            }
        case "lab":
            try decodeLab(&r, into: &facts)
        case "condition":
            let code = try r.word("code", in: Vocabulary.conditions)!
            set("condition.\(code)", try r.word("status", in: Vocabulary.conditionStatuses).map(FactValue.word))
        case "medication":
            let kind = try r.word("class", in: Vocabulary.medicationClasses)!
            set("medication.\(kind)", try r.word("status", in: Vocabulary.medicationStatuses).map(FactValue.word))
        case "allergy":
            let substance = try r.word("substance", in: Vocabulary.drugs)!
            set("allergy.\(substance)", try r.word("status", in: Vocabulary.presence).map(FactValue.word))
        case "metastasis":
            let site = try r.word("site", in: Vocabulary.metastasisSites)!
            set("metastasis.\(site)", try r.word("status", in: Vocabulary.presence).map(FactValue.word))
        case "treatment":
            return .treatment(try decodeTreatment(&r))
        case "response":
            set("response.criteria", try r.word("criteria", in: Vocabulary.responseCriteria).map(FactValue.word))
            set("response.category", try r.word("category", in: Vocabulary.responseCategories).map(FactValue.word))
            let shrinkage = try r.number("metastaticShrinkagePercent", in: 0...100, required: false)
            set("response.metastaticShrinkagePercent", shrinkage.map(FactValue.number))
        case "progression":
            _ = try r.string("note", required: false)
            return .progression
        case "tumor-board":
            set(
                "tumor-board.resectability",
                try r.word("resectability", in: Vocabulary.resectability, required: false).map(FactValue.word))
            for flag in Event.tumorBoardFlags { set("tumor-board.\(flag)", try r.bool(flag).map(FactValue.bool)) }
            guard !facts.isEmpty else {
                throw r.invalid("resectability", "a tumor-board event needs at least one verdict")
            }
        case "assessment":
            set(
                "assessment.lifeExpectancyMonths",
                try r.number("lifeExpectancyMonths", in: 0...600, required: false).map(FactValue.number))
            set("assessment.measurableDisease", try r.bool("measurableDisease").map(FactValue.bool))
            set("assessment.consentCapable", try r.bool("consentCapable").map(FactValue.bool))
            guard !facts.isEmpty else {
                throw r.invalid("lifeExpectancyMonths", "an assessment event needs at least one finding")
            }
        case "preference":
            let what = try r.word("declines", in: Vocabulary.declinable)!
            set("preference.\(what)", try r.word("status", in: Vocabulary.preferenceStatuses).map(FactValue.word))
        default:  // "retraction"; the type was checked against the vocabulary before.
            let target = try r.string("eventId")!
            guard !target.isEmpty else { throw r.invalid("eventId", "must name an event") }
            return .retraction(eventId: target)
        }
        return .facts(facts, cleared: cleared)
    }

    /// Karnofsky → ECOG by the commonly used bands 100–90 → 0, 80–70 → 1, 60–50 → 2, 40–30 → 3,
    /// 20–10 → 4, 0 → 5. The raw score is kept as `performance-status.karnofsky` for rules that
    /// need it; see docs/events.md for the source and its uncertainty.
    static func ecog(fromKarnofsky kps: Int) -> Int {
        kps == 0 ? 5 : (109 - kps) / 20
    }

    private static func decodeDiagnosis(_ r: inout FieldReader, into facts: inout [String: FactValue])
        throws(EventValidationError)
    {
        let cancer = try r.word("cancer", in: Vocabulary.cancers)!
        facts["diagnosis.cancer"] = .word(cancer)
        let mesothelioma = cancer.hasSuffix("mesothelioma")
        let neuroendocrine = cancer == "neuroendocrine-neoplasm"
        for key in ["histology", "histologyConfirmed"] where !mesothelioma && r.members[key] != nil {
            throw r.invalid(key, "applies to mesothelioma only, not \(cancer)")
        }
        for key in ["neType", "neComponentPercent", "primarySite"] where !neuroendocrine && r.members[key] != nil {
            throw r.invalid(key, "applies to neuroendocrine neoplasms only, not \(cancer)")
        }
        if let histology = try r.word("histology", in: Vocabulary.histologies, required: false) {
            facts["diagnosis.histology"] = .word(histology)
        }
        if let confirmed = try r.bool("histologyConfirmed") { facts["diagnosis.histologyConfirmed"] = .bool(confirmed) }
        if let neType = try r.word("neType", in: Vocabulary.neTypes, required: false) {
            facts["diagnosis.neType"] = .word(neType)
        }
        if let percent = try r.number("neComponentPercent", in: 0...100, required: false) {
            facts["diagnosis.neComponentPercent"] = .number(percent)
        }
        if let site = try r.word("primarySite", in: Vocabulary.primarySites, required: false) {
            facts["diagnosis.primarySite"] = .word(site)
        }
        if let metastatic = try r.bool("metastaticAtDiagnosis") {
            facts["diagnosis.metastaticAtDiagnosis"] = .bool(metastatic)
        }
        if let diagnosedAt = try r.date("diagnosedAt", required: false) {
            facts["diagnosis.diagnosedAt"] = .instant(Instant(diagnosedAt))
        }
    }

    private static func decodeLab(_ r: inout FieldReader, into facts: inout [String: FactValue])
        throws(EventValidationError)
    {
        let test = try r.word("test", in: Vocabulary.labTests)!
        let value = try r.number("value")!
        let unit = try r.string("unit")!
        let units = Vocabulary.labUnits[test] ?? []
        guard let factor = units.first(where: { $0.unit == unit })?.factor else {
            throw r.invalid(
                "unit", "\"\(unit)\" is not a unit for \(test); use \(units.map(\.unit).joined(separator: ", "))",
                code: "invalid-unit")
        }
        guard value >= 0 else { throw r.invalid("value", "a \(test) result cannot be negative") }
        let canonical = value * factor
        if let ceiling = Vocabulary.labCeilings[test], canonical > ceiling {
            throw r.invalid("value", "\(formatNumber(value)) \(unit) is not a possible \(test) result")
        }
        facts["lab.\(test)"] = .number(canonical)
        if let uln = try r.number("upperLimitOfNormal", required: false) {
            guard uln > 0 else { throw r.invalid("upperLimitOfNormal", "must be greater than 0") }
            facts["lab.\(test).uln"] = .number(uln * factor)
        }
    }

    private static func decodeTreatment(_ r: inout FieldReader) throws(EventValidationError) -> TreatmentRecord {
        let kind = try r.word("kind", in: Vocabulary.treatmentKinds)!
        let status = try r.word("status", in: Vocabulary.treatmentStatuses)!
        let lineId = try r.string("lineId", required: false)
        var record = TreatmentRecord(kind: kind, agents: [], status: status, lineId: lineId)
        switch kind {
        case "systemic":
            record.agents = try r.words("agents", in: Vocabulary.drugs)
            record.setting = try r.word("setting", in: Vocabulary.treatmentSettings, required: false)
            record.cycles = try r.integer("cycles", in: 0...200, required: false)
        case "surgery":
            record.procedure = try r.word("procedure", in: Vocabulary.procedures)
        default:
            record.site = try r.word("site", in: Vocabulary.radiotherapySites)
            record.prophylacticTract = try r.bool("prophylacticTract")
        }
        return record
    }
}
