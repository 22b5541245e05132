import Foundation
import PathwayAPI
import PathwayCore
import PathwayFHIR
import PathwayRulesIO
import PathwayTestSupport
import Testing

@Suite("FHIR R4 / mCODE bundles into contract events")
struct FHIRMapperTests {
    static let rules: CompiledRules = {
        let sources = try! RuleDirectory.load(repositoryRoot.appendingPathComponent("Rules").path)
        return RuleCompiler.compile(sources).rules!
    }()
    static let mapper = FHIRMapper(terminology: rules.terminology)

    static func example(_ name: String) throws -> JSONValue {
        let url = repositoryRoot.appendingPathComponent("docs/examples/fhir/\(name)")
        return try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: url))
    }

    /// The bundle with `change` applied to the resource of entry `index`.
    static func editing(_ bundle: JSONValue, entry index: Int, _ change: (inout [String: JSONValue]) -> Void)
        -> JSONValue
    {
        guard case .object(var root) = bundle, case .array(var entries)? = root["entry"],
            case .object(var entry) = entries[index], case .object(var resource)? = entry["resource"]
        else { return bundle }
        change(&resource)
        entry["resource"] = .object(resource)
        entries[index] = .object(entry)
        root["entry"] = .array(entries)
        return .object(root)
    }

    func events(_ mapping: FHIRMapping) -> [String: JSONValue] {
        Dictionary(uniqueKeysWithValues: mapping.entries.flatMap(\.events).map { ($0.id, $0.json) })
    }

    @Test("the mesothelioma example becomes the events a tumor board needs, each accepted by the event decoder")
    func mesotheliomaBundle() throws {
        let mapping = try Self.mapper.map(try Self.example("mesothelioma-bundle.json"))
        let events = events(mapping)
        #expect(
            events["fhir:Patient/meso-1/_history/1"]?.at("data")
                == ["birthDate": "1958-04-12", "sex": "male"])
        #expect(events["fhir:Patient/meso-1/_history/1"]?.at("occurredAt") == "2026-02-20T09:00:00Z")
        #expect(
            events["fhir:Condition/meso-1-dx/_history/1"]?.at("data")
                == ["cancer": "pleural-mesothelioma", "histology": "epithelioid", "diagnosedAt": "2026-02-10"])
        let staging = try #require(mapping.entries[2].events.first)
        #expect(staging.id.hasPrefix("fhir:Observation/meso-1-stage/_history/1+"))
        #expect(
            staging.json.at("data")
                == ["edition": "ajcc8", "method": "clinical", "t": "T3", "n": "N1", "m": "M0", "stageGroup": "IIIA"])
        for member in 3...5 {
            #expect(mapping.entries[member].events.isEmpty)
            #expect(
                mapping.entries[member].issues.contains { $0.message == "combined into the staging event of entry 2" })
        }
        #expect(events["fhir:Observation/meso-1-ecog/_history/1"]?.at("data") == ["scale": "ecog", "value": 1])
        #expect(
            events["fhir:Observation/meso-1-anc/_history/1"]?.at("data")
                == ["test": "anc", "value": 4.1, "unit": "10^9/L"])
        #expect(
            events["fhir:Observation/meso-1-bili/_history/1"]?.at("data")
                == ["test": "bilirubin-total", "value": 0.6, "unit": "mg/dL", "upperLimitOfNormal": 1.2])
        #expect(
            events["fhir:AllergyIntolerance/meso-1-allergy/_history/1"]?.at("data")
                == ["substance": "cisplatin", "status": "present"])
        // Lab LOINCs and RxNorm codes are unverified in the reference: mapped, and flagged.
        #expect(mapping.entries[7].issues.map(\.severity) == ["unverified"])
        #expect(mapping.entries[12].issues.map(\.severity) == ["unverified"])
        // The local formulary code is reported, not dropped.
        let medication = mapping.entries[13]
        #expect(medication.events.isEmpty)
        #expect(medication.issues.first?.severity == "unmapped")
        #expect(medication.issues.first?.element == "MedicationStatement.medicationCodeableConcept")
        #expect(medication.issues.first?.message.contains("http://example.org/local-formulary|ATORVA-20") == true)
        for event in mapping.entries.flatMap(\.events) {
            #expect(throws: Never.self) { try EventDecoder.decode(event.json) }
        }
    }

    @Test("the example evaluates as the pack says: first line, advanced; cisplatin out for the recorded allergy")
    func mesotheliomaEvaluation() throws {
        let mapping = try Self.mapper.map(try Self.example("mesothelioma-bundle.json"))
        let events = try mapping.entries.flatMap(\.events).map { try EventDecoder.decode($0.json) }
        let now = try Instant.parse("2026-02-21T09:00:00Z")
        let evaluation = Self.rules.evaluate(
            PatientFacts(events: events, asOf: now),
            context: EvaluationContext(now: now, decisionId: "d", patientId: "meso-1"))
        #expect(evaluation.pathway == "pleural-mesothelioma")
        #expect(evaluation.setting == "first-line-advanced")
        let status = Dictionary(uniqueKeysWithValues: evaluation.options.map { ($0.id, $0.status) })
        #expect(status["cisplatin-pemetrexed"] == "not-eligible")
        #expect(status["carboplatin-pemetrexed"] == "recommended")
        // The reported stage group agrees with the one the daemon derives: no disagreement alert.
        #expect(evaluation.alerts.isEmpty)
    }

    @Test("the mCODE example (breast cancer): demographics and ECOG mapped, every other entry says why not")
    func mcodeExample() throws {
        let mapping = try Self.mapper.map(try Self.example("Bundle-mcode-patient-bundle-jenny-m-subset.json"))
        #expect(mapping.entries.count == 5)
        #expect(mapping.entries[0].events.map(\.type) == ["demographics"])
        #expect(mapping.entries[0].events.first?.json.at("data.sex") == "female")
        #expect(mapping.entries[4].events.map(\.type) == ["performance-status"])
        let condition = mapping.entries[1]
        #expect(condition.events.isEmpty)
        #expect(condition.issues.contains { $0.severity == "unmapped" && $0.element == "Condition.code" })
        for entry in mapping.entries[2...3] {
            #expect(entry.events.isEmpty)
            #expect(entry.issues.contains { $0.severity == "unmapped" })
        }
        for entry in mapping.entries {
            #expect(!entry.events.isEmpty || !entry.issues.isEmpty, "entry \(entry.index) vanished silently")
        }
    }

    @Test("mapping is deterministic: the same bundle gives the same event ids and bodies")
    func deterministic() throws {
        let bundle = try Self.example("mesothelioma-bundle.json")
        let first = try Self.mapper.map(bundle).entries.flatMap(\.events).map { ($0.id, try encode($0.json)) }
        let second = try Self.mapper.map(bundle).entries.flatMap(\.events).map { ($0.id, try encode($0.json)) }
        #expect(first.map(\.0) == second.map(\.0))
        #expect(first.map(\.1) == second.map(\.1))
    }

    @Test("a changed member gives the combined staging event a new id (never the same id with new content)")
    func stagingIdFollowsMembers() throws {
        let bundle = try Self.example("mesothelioma-bundle.json")
        let changed = Self.editing(bundle, entry: 4) { $0["meta"] = ["versionId": "2"] }
        let before = try #require(try Self.mapper.map(bundle).entries[2].events.first?.id)
        let after = try #require(try Self.mapper.map(changed).entries[2].events.first?.id)
        #expect(before != after)
        #expect(before.hasPrefix("fhir:Observation/meso-1-stage/_history/1+"))
        #expect(after.hasPrefix("fhir:Observation/meso-1-stage/_history/1+"))
    }

    static let notBundles: [(JSONValue, String)] = [
        (.array([]), "Bundle"),
        (["resourceType": "Patient"], "resourceType"),
        (["resourceType": "Bundle", "type": "document", "entry": []], "Bundle.type"),
        (["resourceType": "Bundle", "type": "collection"], "Bundle.entry"),
        (["resourceType": "Bundle", "type": "collection", "entry": [5]], "Bundle.entry[0]"),
        (
            ["resourceType": "Bundle", "type": "batch", "entry": [["resource": ["id": "x"]]]],
            "Bundle.entry[0].resource"
        ),
    ]

    @Test("not FHIR R4 bundle JSON: an error naming the element", arguments: notBundles)
    func notABundle(bundle: JSONValue, element: String) throws {
        let error = #expect(throws: FHIRBundleError.self) { try Self.mapper.map(bundle) }
        #expect(error?.element == element)
    }

    @Test("what cannot be read is reported per entry with the element, and the other entries still map")
    func perEntryProblems() throws {
        let bundle = try Self.example("mesothelioma-bundle.json")
        let cases: [(Int, (inout [String: JSONValue]) -> Void, String)] = [
            (6, { $0["status"] = "preliminary" }, "Observation.status"),
            (6, { $0["effectiveDateTime"] = "2026-02" }, "Observation.effectiveDateTime"),
            (6, { $0["valueInteger"] = "one" }, "Observation.valueInteger"),
            (7, { $0["valueQuantity"] = ["value": 4.1] }, "Observation.valueQuantity.unit"),
            (1, { $0["subject"] = ["reference": "Group/7"] }, "Condition.subject.reference"),
            (0, { $0["birthDate"] = "1958" }, "Patient.birthDate"),
            (0, { $0["id"] = nil }, "Patient.id"),
            (12, { $0["code"] = ["coding": .string("x")] }, "AllergyIntolerance.code.coding"),
        ]
        for (index, change, element) in cases {
            let mapping = try Self.mapper.map(Self.editing(bundle, entry: index, change))
            let entry = mapping.entries[index]
            #expect(entry.events.isEmpty, "\(element)")
            #expect(entry.issues.contains { $0.severity == "unmapped" && $0.element == element }, "\(entry.issues)")
            #expect(mapping.entries.flatMap(\.events).count >= 8)
        }
    }

    @Test("a Condition's bodySite (an array in FHIR) is noted as not read; the diagnosis is still made")
    func bodySite() throws {
        let bundle = Self.editing(try Self.example("mesothelioma-bundle.json"), entry: 1) {
            $0["bodySite"] = [["text": "left pleura"]]
        }
        let entry = try Self.mapper.map(bundle).entries[1]
        #expect(entry.events.map(\.type) == ["diagnosis"])
        #expect(entry.issues.contains { $0.severity == "note" && $0.element == "Condition.bodySite" })
    }

    @Test("an entered-in-error resource makes no event and names its resource for retraction")
    func enteredInError() throws {
        let bundle = Self.editing(try Self.example("mesothelioma-bundle.json"), entry: 6) {
            $0["status"] = "entered-in-error"
            $0["meta"] = ["versionId": "2"]
        }
        let entry = try Self.mapper.map(bundle).entries[6]
        #expect(entry.events.isEmpty)
        #expect(entry.supersedes == "fhir:Observation/meso-1-ecog")
        #expect(entry.resource == "Observation/meso-1-ecog/_history/2")
    }

    @Test("a staging without its edition is not guessed: every part says what is missing")
    func stagingNeedsEdition() throws {
        var bundle = try Self.example("mesothelioma-bundle.json")
        for index in 2...5 { bundle = Self.editing(bundle, entry: index) { $0["method"] = nil } }
        let mapping = try Self.mapper.map(bundle)
        for index in 2...5 {
            #expect(mapping.entries[index].events.isEmpty)
            #expect(mapping.entries[index].issues.contains { $0.element == "Observation.method" })
        }
    }

    @Test("T, N and M sent without a stage group are combined by patient, time and method")
    func looseStaging() throws {
        var bundle = try Self.example("mesothelioma-bundle.json")
        bundle = Self.editing(bundle, entry: 2) { $0["status"] = "cancelled" }
        bundle = Self.editing(bundle, entry: 4) {
            $0["valueCodeableConcept"] = ["coding": [["system": "http://cancerstaging.org", "code": "cN1a"]]]
        }
        let mapping = try Self.mapper.map(bundle)
        let staging = try #require(mapping.entries[3].events.first)
        #expect(staging.json.at("data") == ["edition": "ajcc8", "method": "clinical", "t": "T3", "n": "N1", "m": "M0"])
        #expect(mapping.entries[4].issues.contains { $0.message == "cN1a read as its category N1" })
    }

    @Test("a DELETE in a transaction names the resource whose events are retracted")
    func deletion() throws {
        let bundle: JSONValue = [
            "resourceType": "Bundle", "type": "transaction",
            "entry": [["request": ["method": "DELETE", "url": "Observation/meso-1-ecog"]]],
        ]
        let entry = try Self.mapper.map(bundle).entries[0]
        #expect(entry.supersedes == "fhir:Observation/meso-1-ecog")
        #expect(entry.events.isEmpty)
    }

    @Test("no resource shape crashes the mapper, and no entry vanishes: each has events or says why not")
    func everyElementRemoved() throws {
        let bundle = try Self.example("mesothelioma-bundle.json")
        guard case .array(let entries)? = bundle.at("entry") else { Issue.record("no entries"); return }
        var checked = 0
        for (index, entry) in entries.enumerated() {
            guard case .object(let resource)? = entry.at("resource") else { continue }
            for key in resource.keys {
                for replacement: JSONValue? in [nil, .null, 7, "text", .array([]), .object([:])] {
                    let edited = Self.editing(bundle, entry: index) { $0[key] = replacement }
                    let mapping: FHIRMapping
                    do { mapping = try Self.mapper.map(edited) } catch {
                        // Only a resource without a resourceType is not a bundle entry at all.
                        #expect(
                            key == "resourceType"
                                && error.element == "Bundle.entry[\(index)].resource")
                        continue
                    }
                    for entry in mapping.entries {
                        #expect(!entry.events.isEmpty || !entry.issues.isEmpty || entry.supersedes != nil)
                    }
                    checked += 1
                }
            }
        }
        #expect(checked > 300)
    }

    @Test("terminology entries: `drug` and `procedure` name vocabulary words; `method` is clinical or pathological")
    func terminologyTargets() throws {
        func compile(_ entry: String) -> [String] {
            let source = RuleSource(name: "t.yaml", contents: "pack: t\nversion: \"1\"\nterminology:\n  - \(entry)\n")
            return RuleCompiler.compile([source]).errors.map(\.code)
        }
        let base = #"{ system: "http://x", code: "1", status: unverified, cite: "test""#
        let refusals: Set<String> = ["unknown-vocabulary", "unknown-fact"]
        for good in [
            ", fact: drug, value: nivolumab }", ", fact: procedure, value: nephrectomy }",
            ", fact: staging.t, method: clinical }",
        ] {
            #expect(refusals.isDisjoint(with: compile(base + good)), "\(good)")
        }
        for bad in [
            ", fact: drug, value: aspirin }", ", fact: procedure, value: appendectomy }",
            ", fact: staging.t, method: surgical }",
        ] {
            #expect(compile(base + bad).contains("unknown-vocabulary"), "\(bad)")
        }
    }
}
