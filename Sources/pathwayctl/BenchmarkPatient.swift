import PathwayAPI
import PathwayCore

/// The benchmark's inputs: a patient with every kind of fact recorded, and generated packs that
/// grow the rule set the way a real deployment grows (other pathways and trials that do not apply).
enum BenchmarkPatient {
    static let events: [Event] = {
        var documents: [(String, JSONValue)] = [
            (
                "demographics",
                ["birthDate": "1956-04-02", "sex": "male", "weightKg": 78, "childbearingPotential": false]
            ),
            ("diagnosis", ["cancer": "pleural-mesothelioma", "histology": "biphasic", "histologyConfirmed": true]),
            ("staging", ["edition": "ajcc8", "t": "T3", "n": "N1", "m": "M0", "stageGroup": "IIIA"]),
            ("performance-status", ["scale": "ecog", "value": 1]),
            (
                "tumor-board",
                ["resectability": "unresectable", "fitForSystemicTherapy": true, "fitForImmunotherapy": true]
            ),
            ("assessment", ["lifeExpectancyMonths": 12, "measurableDisease": true, "consentCapable": true]),
        ]
        for (test, value, unit) in [
            ("wbc", 9.1, "10^9/L"), ("anc", 5.2, "10^9/L"), ("platelets", 310, "10^9/L"), ("hemoglobin", 131, "g/L"),
            ("creatinine", 80, "umol/L"), ("bilirubin-total", 0.6, "mg/dL"), ("alt", 22, "U/L"), ("ast", 25, "U/L"),
        ] as [(String, Double, String)] {
            documents.append(
                (
                    "lab",
                    [
                        "test": .string(test), "value": .number(value), "unit": .string(unit),
                        "upperLimitOfNormal": .number(value * 2),
                    ]
                ))
        }
        for code in Vocabulary.conditions {
            documents.append(("condition", ["code": .string(code), "status": "absent"]))
        }
        for kind in Vocabulary.medicationClasses {
            documents.append(("medication", ["class": .string(kind), "status": "absent"]))
        }
        for site in Vocabulary.metastasisSites {
            documents.append(("metastasis", ["site": .string(site), "status": "absent"]))
        }
        for drug in ["platinum", "pemetrexed", "nivolumab", "ipilimumab"] {
            documents.append(("allergy", ["substance": .string(drug), "status": "absent"]))
        }
        return documents.enumerated().map { index, document in
            let json: JSONValue = .object([
                "id": .string("bench-\(index)"), "patientId": "BENCH", "type": .string(document.0),
                "occurredAt": .string("2026-02-\(index % 27 + 1 < 10 ? "0" : "")\(index % 27 + 1)T09:00:00Z"),
                "data": document.1,
            ])
            return try! EventDecoder.decode(json)
        }
    }()

    /// `count` generated packs, each about the size of the shipped set, gated off for this patient by a parameter.
    static func generatedPacks(count: Int, like sources: [RuleSource]) -> [RuleSource] {
        guard count > 0, let shipped = RuleCompiler.compile(sources).rules else { return [] }
        let options = max(shipped.counts["options"]!, 1)
        let trials = max(shipped.counts["trials"]!, 1)
        let criteria = max(shipped.counts["criteria"]! / trials, 1)
        return (1...count).map { k in
            var yaml = """
                pack: generated-\(k)
                version: "1"
                parameters:
                  - { id: generated-\(k), values: ["off", "on"], default: "off" }
                references:
                  - { id: generated-\(k), cites: ["generated-\(k)"], title: "Generated for the 10× benchmark" }
                pathway:
                  id: generated-\(k)
                  applies: param.generated-\(k) == on and diagnosis.cancer == pleural-mesothelioma
                  settings:
                    - { id: first, when: "performance-status <= 1" }
                    - { id: second, when: "performance-status >= 2" }
                  options:

                """
            for o in 0..<options {
                yaml += """
                      - id: option-\(o)
                        label: Option \(o)
                        kind: systemic
                        regimen: [\(["cisplatin", "carboplatin", "pemetrexed", "gemcitabine", "vinorelbine"][o % 5])]
                        settings: all
                        strength: recommended
                        requires: ["performance-status <= \(o % 3)", "condition.autoimmune-disease != present", "age <= 75"]
                        evidence: [{ source: generated, cite: generated-\(k) }]

                    """
            }
            yaml += "trials:\n"
            for t in 0..<trials {
                yaml += """
                      - id: GEN-\(k)-\(t)
                        title: Generated trial
                        recruitment: recruiting
                        cite: generated-\(k)
                        population: { id: gen-\(k)-\(t)-population, kind: inclusion, text: population, cite: generated-\(k), when: "param.generated-\(k) == on" }
                        criteria:

                    """
                for c in 0..<criteria {
                    yaml +=
                        "      - { id: gen-\(k)-\(t)-\(c), kind: inclusion, text: criterion, cite: generated-\(k), when: \"lab.platelets >= \(c)\" }\n"
                }
            }
            return RuleSource(name: "generated/generated-\(k).yaml", contents: yaml)
        }
    }
}
