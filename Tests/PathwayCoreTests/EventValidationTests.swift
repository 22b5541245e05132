import PathwayAPI
import Testing

@testable import PathwayCore

@Suite("Events are validated fully, and every refusal names its field")
struct EventValidationTests {
    private func refusal(_ json: JSONValue) -> EventValidationError? {
        do {
            _ = try EventDecoder.decode(json)
            return nil
        } catch {
            return error
        }
    }

    @Test(
        "a well-formed event of every type is accepted",
        arguments: [
            (
                "demographics",
                ["birthDate": "1950-02-28", "sex": "female", "weightKg": 61.5, "childbearingPotential": false]
            ),
            (
                "diagnosis",
                [
                    "cancer": "pleural-mesothelioma", "histology": "biphasic", "histologyConfirmed": true,
                    "diagnosedAt": "2025-12-01",
                ]
            ),
            (
                "diagnosis",
                [
                    "cancer": "neuroendocrine-neoplasm", "neType": "minen", "neComponentPercent": 40,
                    "primarySite": "pancreas",
                ]
            ),
            (
                "staging",
                ["edition": "tnm9", "method": "pathological", "t": "T2", "n": "N1", "m": "M0", "stageGroup": "IIIA"]
            ),
            ("performance-status", ["scale": "who", "value": 2]),
            ("lab", ["test": "creatinine", "value": 88.4, "unit": "umol/L", "upperLimitOfNormal": 106]),
            ("condition", ["code": "hepatitis-b", "status": "resolved"]),
            ("medication", ["class": "nsaid", "status": "stopped"]),
            ("allergy", ["substance": "pemetrexed", "status": "absent"]),
            ("metastasis", ["site": "contralateral-pleura", "status": "present"]),
            (
                "treatment",
                [
                    "kind": "systemic", "agents": ["carboplatin", "pemetrexed"], "setting": "first-line", "cycles": 4,
                    "status": "completed",
                ]
            ),
            ("treatment", ["kind": "surgery", "procedure": "pleurectomy-decortication", "status": "completed"]),
            (
                "treatment",
                ["kind": "radiotherapy", "site": "thoracic", "prophylacticTract": true, "status": "started"]
            ),
            ("response", ["criteria": "mrecist", "category": "SD"]),
            ("progression", ["note": "new nodule"]),
            ("tumor-board", ["resectability": "unresectable"]),
            ("assessment", ["lifeExpectancyMonths": 6]),
            ("preference", ["declines": "surgery", "status": "present"]),
            ("retraction", ["eventId": "adt-1"]),
        ] as [(String, JSONValue)])
    func acceptsValidEvents(type: String, data: JSONValue) throws {
        let decoded = try EventDecoder.decode(event(type, data, at: "2026-03-01T10:00:00+01:00"))
        #expect(decoded.type == type)
        #expect(decoded.occurredAt == Instant(millisecondsSinceEpoch: 1_772_355_600_000))
    }

    @Test(
        "refusals carry the contract's code and the field",
        arguments: [
            (event("performance-status", ["scale": "ecog", "value": 7]), "invalid-event", "data.value"),
            (event("performance-status", ["scale": "ecog", "value": 1.5]), "invalid-event", "data.value"),
            (event("performance-status", ["scale": "karnofsky", "value": 75]), "invalid-event", "data.value"),
            (event("performance-status", ["scale": "ecog", "value": "1"]), "invalid-event", "data.value"),
            (event("performance-status", ["scale": "lansky", "value": 1]), "unknown-vocabulary", "data.scale"),
            (event("staging", ["edition": "ajcc8", "t": "T9", "n": "N0", "m": "M0"]), "unknown-vocabulary", "data.t"),
            (
                event("staging", ["edition": "ajcc7", "t": "T1", "n": "N0", "m": "M0"]), "unknown-vocabulary",
                "data.edition"
            ),
            (event("staging", ["edition": "ajcc8", "t": "T1", "n": "N3", "m": "M0"]), "unknown-vocabulary", "data.n"),
            (event("staging", ["edition": "ajcc8", "t": "T1", "m": "M0"]), "invalid-event", "data.n"),
            (event("demographics", ["birthDate": "1960-13-01", "sex": "male"]), "invalid-event", "data.birthDate"),
            (event("demographics", ["birthDate": "1961-02-29", "sex": "male"]), "invalid-event", "data.birthDate"),
            (event("demographics", ["birthDate": "2030-01-01", "sex": "male"]), "invalid-event", "data.birthDate"),
            (event("demographics", ["birthDate": "1960-01-01", "sex": "M"]), "unknown-vocabulary", "data.sex"),
            (
                event("demographics", ["birthDate": "1960-01-01", "sex": "male", "weightKg": -3]), "invalid-event",
                "data.weightKg"
            ),
            (event("diagnosis", ["cancer": "lung-adenocarcinoma"]), "unknown-vocabulary", "data.cancer"),
            (
                event("diagnosis", ["cancer": "pleural-mesothelioma", "histolgy": "epithelioid"]), "invalid-event",
                "data.histolgy"
            ),
            (
                event("diagnosis", ["cancer": "renal-cell-carcinoma", "histology": "epithelioid"]), "invalid-event",
                "data.histology"
            ),
            (event("lab", ["test": "platelets", "value": 85, "unit": "U/L"]), "invalid-unit", "data.unit"),
            (event("lab", ["test": "hemoglobin", "value": 12, "unit": "mg/dL"]), "invalid-unit", "data.unit"),
            (event("lab", ["test": "hemoglobin", "value": 95, "unit": "g/dL"]), "invalid-event", "data.value"),
            (event("lab", ["test": "anc", "value": -1, "unit": "10^9/L"]), "invalid-event", "data.value"),
            (event("lab", ["test": "ferritin", "value": 1, "unit": "ug/L"]), "unknown-vocabulary", "data.test"),
            (
                event("condition", ["code": "autoimmune-disease", "status": "maybe"]), "unknown-vocabulary",
                "data.status"
            ),
            (
                event("treatment", ["kind": "systemic", "agents": ["aspirin"], "status": "started"]),
                "unknown-vocabulary", "data.agents[0]"
            ),
            (
                event("treatment", ["kind": "systemic", "agents": [], "status": "started"]), "invalid-event",
                "data.agents"
            ),
            (event("treatment", ["kind": "surgery", "status": "completed"]), "invalid-event", "data.procedure"),
            (
                event("response", ["criteria": "recist-1.1", "category": "PR", "metastaticShrinkagePercent": 120]),
                "invalid-event", "data.metastaticShrinkagePercent"
            ),
            (event("tumor-board", [:]), "invalid-event", "data.resectability"),
            (event("retraction", [:]), "invalid-event", "data.eventId"),
            (event("vital-signs", [:]), "unknown-event-type", "type"),
            (event("lab", "not an object"), "invalid-event", "data"),
            (event("progression", [:], id: "has space"), "invalid-event", "id"),
            (event("progression", [:], patient: "MRN/4711"), "invalid-event", "patientId"),
            (event("progression", [:], at: "2026-03-01T10:00:00"), "invalid-event", "occurredAt"),
            (event("progression", [:], at: "2026-02-30T10:00:00Z"), "invalid-event", "occurredAt"),
            (event("progression", [:], at: "2026-03-01T25:00:00Z"), "invalid-event", "occurredAt"),
            (
                ["id": "x", "patientId": "P", "type": "progression", "occurredAt": "2026-01-01T00:00:00Z", "extra": 1],
                "invalid-event", "extra"
            ),
            (["patientId": "P", "type": "progression", "occurredAt": "2026-01-01T00:00:00Z"], "invalid-event", "id"),
        ] as [(JSONValue, String, String)])
    func refusesInvalidEvents(json: JSONValue, code: String, field: String) {
        let error = refusal(json)
        #expect(error?.code == code)
        #expect(error?.field == field)
        #expect(error?.response.error.message.hasPrefix(field) == true)
    }

    @Test(
        "units are normalised to the canonical unit of each test",
        arguments: [
            ("hemoglobin", 131.0, "g/L", 13.1),
            ("hemoglobin", 8.0, "mmol/L", 12.891),
            ("creatinine", 88.42, "umol/L", 1.0),
            ("creatinine", 176.84, "µmol/L", 2.0),
            ("bilirubin-total", 17.104, "umol/L", 1.0),
            ("platelets", 150.0, "10^3/uL", 150.0),
        ])
    func normalisesUnits(test: String, value: Double, unit: String, canonical: Double) throws {
        let decoded = try EventDecoder.decode(
            event(
                "lab",
                [
                    "test": .string(test), "value": .number(value), "unit": .string(unit),
                    "upperLimitOfNormal": .number(value),
                ]))
        guard case .facts(let facts, _) = decoded.effect, case .number(let normalised)? = facts["lab.\(test)"],
            case .number(let uln)? = facts["lab.\(test).uln"]
        else { Issue.record("no lab fact"); return }
        #expect(abs(normalised - canonical) < 0.001)
        #expect(abs(uln - canonical) < 0.001)
    }

    @Test(
        "Karnofsky maps to ECOG",
        arguments: [(100, 0), (90, 0), (80, 1), (70, 1), (60, 2), (50, 2), (40, 3), (30, 3), (20, 4), (10, 4), (0, 5)])
    func karnofskyToEcog(kps: Int, ecog: Int) throws {
        let decoded = try EventDecoder.decode(
            event("performance-status", ["scale": "karnofsky", "value": .number(Double(kps))]))
        guard case .facts(let facts, _) = decoded.effect else { Issue.record("no facts"); return }
        #expect(facts["performance-status"] == .number(Double(ecog)))
        #expect(facts["performance-status.karnofsky"] == .number(Double(kps)))
    }

    @Test("RFC 3339 offsets and fractions are read exactly")
    func timestamps() throws {
        #expect(try Instant.parse("1970-01-01T00:00:00Z").millisecondsSinceEpoch == 0)
        #expect(try Instant.parse("1970-01-01T01:00:00.250+01:00").millisecondsSinceEpoch == 250)
        #expect(try Instant.parse("2024-02-29T12:00:00-05:30").description == "2024-02-29T17:30:00Z")
        #expect(throws: TimeParseError.self) { try Instant.parse("2023-02-29T12:00:00Z") }
        #expect(try CivilDate.parse("2000-02-29").completedYears(until: CivilDate(year: 2026, month: 2, day: 28)) == 25)
    }
}

@Suite("Numbers of any magnitude are refused by range, never converted blindly")
struct NumericEdgeTests {
    static let edges: [Double] = [
        9_007_199_254_740_992, -9_007_199_254_740_992, 9.223372036854775807e18, -9.223372036854775808e18,
        1e19, -1e19, 1e300, -1e300, 1.7976931348623157e308, 4.5, -1,
    ]

    @Test("integer fields answer invalid-event naming the field", arguments: edges)
    func integerFields(value: Double) {
        let cases: [(String, JSONValue, String)] = [
            ("performance-status", ["scale": "ecog", "value": .number(value)], "data.value"),
            ("performance-status", ["scale": "karnofsky", "value": .number(value)], "data.value"),
            (
                "treatment",
                ["kind": "systemic", "agents": ["cisplatin"], "cycles": .number(value), "status": "started"],
                "data.cycles"
            ),
        ]
        for (type, data, field) in cases {
            #expect(throws: EventValidationError.self) { try EventDecoder.decode(event(type, data)) }
            do {
                _ = try EventDecoder.decode(event(type, data))
            } catch {
                #expect(error.code == "invalid-event")
                #expect(error.field == field)
            }
        }
    }

    @Test(
        "a rule's whole numbers are range-checked: priority, rank and round", arguments: ["1e300", "-1e19", "9.3e18"])
    func ruleIntegers(value: String) {
        let yaml = """
            pack: p
            version: "1"
            derive:
              - { fact: x, expr: "1", round: \(value) }
            """
        #expect(diagnostics(yaml).contains { $0.code == "invalid-value" })
    }
}
