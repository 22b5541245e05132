import PathwayAPI
import PathwayCore

/// Each resource type read into its contract event (docs/fhir.md lists what is read).
extension Context {
    /// Patient → `demographics` (birth date, sex). The time is `meta.lastUpdated`, else the
    /// bundle's `timestamp`, else the birth date itself.
    mutating func patient(_ made: inout Made, id: String) throws(EntryProblem) {
        made.patientId = id
        let reader = made.reader
        guard let birthDate = try reader.string("birthDate") else {
            throw EntryProblem(element: "Patient.birthDate", message: "required for demographics")
        }
        guard birthDate.utf8.count == 10 else {
            throw EntryProblem(element: "Patient.birthDate", message: "\"\(birthDate)\" is not a full date")
        }
        guard let gender = try reader.code("gender"), Vocabulary.sex.contains(gender) else {
            throw EntryProblem(element: "Patient.gender", message: "required: male, female, other or unknown")
        }
        let at = try time(reader, [], fallback: birthDate)
        made.make("demographics", at: at, ["birthDate": .string(birthDate), "sex": .string(gender)])
    }

    /// Condition → `diagnosis` (ICD-10-CM / SNOMED code, ICD-O-3 morphology from mCODE's
    /// histology extension) or, for a comorbidity the terminology knows, `condition`.
    mutating func condition(_ made: inout Made) throws(EntryProblem) {
        let reader = made.reader
        made.patientId = try subject(reader, "subject")
        let verification = try reader.codings("verificationStatus").map(\.code)
        if let withdrawn = verification.first(where: { ["entered-in-error", "refuted"].contains($0) }) {
            made.issues.append(
                note("Condition.verificationStatus", "\(withdrawn): nothing recorded, earlier versions retracted"))
            return
        }
        let codings = try reader.codings("code")
        guard
            let (term, coding) = mapper.lookup(
                codings, where: { $0.fact == "diagnosis.cancer" || $0.fact.hasPrefix("condition.") })
        else {
            throw EntryProblem(element: "Condition.code", message: noEntry(codings))
        }
        made.flag(term, coding, element: "Condition.code")
        let at = try time(reader, ["onsetDateTime", "recordedDate"])
        if term.fact.hasPrefix("condition.") {
            let clinical = try reader.codings("clinicalStatus").first?.code
            let status =
                switch clinical {
                case "inactive", "remission", "resolved": "resolved"
                default: "present"  // active, recurrence, relapse, or not stated: it was recorded
                }
            made.make(
                "condition", at: at, ["code": .string(String(term.fact.dropFirst(10))), "status": .string(status)])
            return
        }
        var data: [String: JSONValue] = ["cancer": .string(term.value ?? "")]
        if let onset = try reader.string("onsetDateTime"), onset.utf8.count >= 10 {
            data["diagnosedAt"] = .string(String(onset.prefix(10)))
        }
        for (index, extensionObject) in try reader.objects("extension").enumerated()
        where (try? reader.string("url", in: extensionObject)) == FHIRMapper.histologyExtension {
            let element = "Condition.extension[\(index)].valueCodeableConcept"
            let morphology = try reader.codings("valueCodeableConcept", in: extensionObject, at: "extension[\(index)]")
            if let (term, coding) = mapper.lookup(morphology, where: { $0.fact == "diagnosis.histology" }) {
                made.flag(term, coding, element: element)
                data["histology"] = .string(term.value ?? "")
            } else {
                made.issues.append(unmapped(element, "histology not read: " + noEntry(morphology)))
            }
        }
        if reader.members["bodySite"] != nil {
            made.issues.append(note("Condition.bodySite", "not read: the site comes from the diagnosis code"))
        }
        made.make("diagnosis", at: at, data)
    }

    /// Observation → `performance-status` (ECOG, Karnofsky), `lab` (by LOINC, UCUM units), a
    /// fact the terminology names with a boolean value (`metastasis.*`, `condition.*`), or a part
    /// of a staging event (T, N, M, stage group: combined once every entry is read).
    mutating func observation(_ made: inout Made, index: Int, id: String) throws(EntryProblem) {
        let reader = made.reader
        made.patientId = try subject(reader, "subject")
        let status = try reader.code("status")
        switch status {
        case "final", "amended", "corrected": break
        case "entered-in-error", "cancelled":
            made.issues.append(note("Observation.status", "\(status!): nothing recorded, earlier versions retracted"))
            return
        default:
            throw EntryProblem(
                element: "Observation.status",
                message: "\(status ?? "absent"): only final, amended or corrected results are used")
        }
        let codings = try reader.codings("code")
        guard let (term, coding) = mapper.lookup(codings) else {
            throw EntryProblem(element: "Observation.code", message: noEntry(codings))
        }
        made.flag(term, coding, element: "Observation.code")
        let at = try time(reader, ["effectiveDateTime", "effectiveInstant", "issued"], period: "effectivePeriod")
        switch term.fact {
        case "performance-status", "performance-status.karnofsky":
            var score = try reader.number("valueInteger")
            if score == nil, let quantity = try reader.object("valueQuantity") {
                score = try reader.number("value", in: quantity, at: "valueQuantity")
            }
            guard let value = score, value == value.rounded() else {
                throw EntryProblem(element: "Observation.valueInteger", message: "the score is needed as an integer")
            }
            let scale = term.fact == "performance-status" ? "ecog" : "karnofsky"
            made.make("performance-status", at: at, ["scale": .string(scale), "value": .number(value)])
        case let fact where fact.hasPrefix("lab."):
            try lab(&made, test: String(fact.dropFirst(4)), at: at)
        case "staging.t", "staging.n", "staging.m", "staging.stageGroup":
            staging.append(
                StagingPart(
                    index: index, id: id, eventId: made.eventId, patientId: made.patientId, at: at, term: term,
                    reader: reader))
            made.deferred = true
        case let fact where fact.hasPrefix("metastasis.") || fact.hasPrefix("condition."):
            guard case .bool(let present)? = reader.members["valueBoolean"] else {
                throw EntryProblem(element: "Observation.valueBoolean", message: "present or absent is needed")
            }
            let dot = fact.firstIndex(of: ".")!
            let kind = String(fact[..<dot])
            let what = String(fact[fact.index(after: dot)...])
            made.make(
                kind, at: at,
                [
                    kind == "metastasis" ? "site" : "code": .string(what),
                    "status": .string(present ? "present" : "absent"),
                ])
        default:
            throw EntryProblem(
                element: "Observation.code",
                message: "\(coding.text) names \(term.fact), which an Observation does not carry")
        }
    }

    mutating func lab(_ made: inout Made, test: String, at: String) throws(EntryProblem) {
        let reader = made.reader
        guard let quantity = try reader.object("valueQuantity"),
            let value = try reader.number("value", in: quantity, at: "valueQuantity")
        else {
            throw EntryProblem(element: "Observation.valueQuantity", message: "a lab result needs a value with a unit")
        }
        let system = try reader.string("system", in: quantity, at: "valueQuantity")
        var unit: String?
        if system == FHIRMapper.ucum { unit = try reader.string("code", in: quantity, at: "valueQuantity") }
        if unit == nil { unit = try reader.string("unit", in: quantity, at: "valueQuantity") }
        guard let unit else {
            throw EntryProblem(element: "Observation.valueQuantity.unit", message: "a lab result needs its unit")
        }
        var data: [String: JSONValue] = [
            "test": .string(test), "value": .number(value), "unit": .string(Self.unit(unit)),
        ]
        if let range = try reader.objects("referenceRange").first,
            let high = try reader.object("high", in: range, at: "referenceRange[0]"),
            let limit = try reader.number("value", in: high, at: "referenceRange[0].high")
        {
            var highUnit = try reader.string("code", in: high, at: "referenceRange[0].high")
            if highUnit == nil { highUnit = try reader.string("unit", in: high, at: "referenceRange[0].high") }
            if highUnit.map(Self.unit) == Self.unit(unit) {
                data["upperLimitOfNormal"] = .number(limit)
            } else {
                made.issues.append(
                    note("Observation.referenceRange[0].high", "not read: its unit differs from the value's"))
            }
        }
        made.make("lab", at: at, data)
    }

    /// UCUM codes → the contract's unit spellings (the same units: 10*9/L is 10^9/L).
    static func unit(_ ucum: String) -> String {
        switch ucum {
        case "10*9/L": "10^9/L"
        case "10*3/uL": "10^3/uL"
        case "[iU]/L": "IU/L"
        default: ucum
        }
    }

    /// AllergyIntolerance → `allergy` of a drug the terminology knows (`drug` or `allergy.*`).
    mutating func allergy(_ made: inout Made) throws(EntryProblem) {
        let reader = made.reader
        made.patientId = try subject(reader, "patient")
        let verification = try reader.codings("verificationStatus").map(\.code)
        if verification.contains("entered-in-error") {
            made.issues.append(
                note(
                    "AllergyIntolerance.verificationStatus",
                    "entered-in-error: nothing recorded, earlier versions retracted"))
            return
        }
        let codings = try reader.codings("code")
        guard let (term, coding) = mapper.lookup(codings, where: { $0.fact == "drug" || $0.fact.hasPrefix("allergy.") })
        else {
            throw EntryProblem(element: "AllergyIntolerance.code", message: noEntry(codings))
        }
        made.flag(term, coding, element: "AllergyIntolerance.code")
        let substance = term.fact == "drug" ? term.value ?? "" : String(term.fact.dropFirst(8))
        let clinical = try reader.codings("clinicalStatus").first?.code
        // Refuted, or no longer there: an explicit "no". Unconfirmed counts as present.
        let absent = verification.contains("refuted") || clinical == "inactive" || clinical == "resolved"
        let at = try time(reader, ["recordedDate", "onsetDateTime"])
        made.make(
            "allergy", at: at, ["substance": .string(substance), "status": .string(absent ? "absent" : "present")])
    }

    /// MedicationStatement / MedicationRequest → `medication` of a class the terminology knows.
    mutating func medication(_ made: inout Made) throws(EntryProblem) {
        let reader = made.reader
        let type = reader.type
        made.patientId = try subject(reader, "subject")
        let status = try reader.code("status")
        if status == "entered-in-error" {
            made.issues.append(note("\(type).status", "entered-in-error: nothing recorded, earlier versions retracted"))
            return
        }
        let codings = try reader.codings("medicationCodeableConcept")
        guard let (term, coding) = mapper.lookup(codings, where: { $0.fact.hasPrefix("medication.") }) else {
            if let (drug, _) = mapper.lookup(codings, where: { $0.fact == "drug" }) {
                throw EntryProblem(
                    element: "\(type).medicationCodeableConcept",
                    message:
                        "\(drug.value ?? "an anticancer drug") is treatment history, not a concomitant medication; send a `treatment` event per line (treatment history is closed-world)"
                )
            }
            throw EntryProblem(element: "\(type).medicationCodeableConcept", message: noEntry(codings))
        }
        made.flag(term, coding, element: "\(type).medicationCodeableConcept")
        let mapped: String? =
            switch (type, status) {
            case ("MedicationStatement", "active"), ("MedicationStatement", "intended"),
                ("MedicationRequest", "active"):
                "active"
            case ("MedicationStatement", "completed"), ("MedicationStatement", "stopped"),
                ("MedicationRequest", "completed"), ("MedicationRequest", "stopped"),
                ("MedicationRequest", "cancelled"):
                "stopped"
            case ("MedicationStatement", "not-taken"): "absent"
            default: nil
            }
        guard let mapped else {
            throw EntryProblem(
                element: "\(type).status", message: "\(status ?? "absent"): whether it is taken is not known")
        }
        let at =
            try type == "MedicationRequest"
            ? time(reader, ["authoredOn"])
            : time(reader, ["effectiveDateTime", "dateAsserted"], period: "effectivePeriod")
        made.make(
            "medication", at: at, ["class": .string(String(term.fact.dropFirst(11))), "status": .string(mapped)])
    }

    /// Procedure → `treatment` of kind surgery, for a procedure the terminology knows.
    mutating func procedure(_ made: inout Made) throws(EntryProblem) {
        let reader = made.reader
        made.patientId = try subject(reader, "subject")
        let status = try reader.code("status")
        if status == "entered-in-error" || status == "not-done" {
            made.issues.append(note("Procedure.status", "\(status!): nothing recorded, earlier versions retracted"))
            return
        }
        let codings = try reader.codings("code")
        guard let (term, coding) = mapper.lookup(codings, where: { $0.fact == "procedure" }) else {
            throw EntryProblem(
                element: "Procedure.code",
                message: noEntry(codings) + " (treatment history is closed-world: this procedure is not counted)")
        }
        made.flag(term, coding, element: "Procedure.code")
        let mapped: String? =
            switch status {
            case "completed": "completed"
            case "in-progress": "started"
            case "stopped": "stopped"
            default: nil
            }
        guard let mapped else {
            throw EntryProblem(
                element: "Procedure.status", message: "\(status ?? "absent"): not a procedure that took place")
        }
        let at = try time(reader, ["performedDateTime"], period: "performedPeriod")
        made.make(
            "treatment", at: at,
            ["kind": "surgery", "procedure": .string(term.value ?? ""), "status": .string(mapped)])
    }
}
