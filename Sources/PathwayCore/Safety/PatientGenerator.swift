import PathwayAPI

/// A small, seeded pseudo-random generator (SplitMix64): the same seed gives the same patients on
/// every machine, so a failing seed can be replayed.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.upperBound - range.lowerBound + 1))
    }

    mutating func chance(_ probability: Double) -> Bool {
        Double(next() >> 11) / Double(1 << 53) < probability
    }

    mutating func pick<T>(_ items: [T]) -> T { items[int(0...(items.count - 1))] }
}

/// Generates random but valid patients as contract events: every event type and vocabulary value,
/// ECOG, WHO and Karnofsky, both staging editions, conflicting and out-of-order reports,
/// retractions, treatment lines with progressions, and facts left unrecorded.
struct PatientGenerator {
    var random: SplitMix64
    private var events: [JSONValue] = []
    private var counter = 0

    /// Events happen between these instants; evaluations are made at `now`.
    static let start = Instant(millisecondsSinceEpoch: 1_735_689_600_000)  // 2025-01-01
    static let now = Instant(millisecondsSinceEpoch: 1_780_272_000_000)  // 2026-06-01

    init(seed: UInt64) { random = SplitMix64(seed: seed) }

    /// Half the patients are sparse (a few random facts); half are worked up the way a tumor board
    /// prepares a case — every condition, medication, allergy and site recorded, mostly absent — so
    /// that an option is often offered and one contraindication among many is present: the class of
    /// patient a forgotten contraindication hurts.
    mutating func patient() -> [JSONValue] {
        events = []
        counter = 0
        let workedUp = random.chance(0.5)
        if random.chance(0.9) { demographics() }
        for _ in 0..<random.int(workedUp ? 1...2 : 0...2) { diagnosis() }
        for _ in 0..<random.int(workedUp ? 1...2 : 0...3) { staging() }
        for _ in 0..<random.int(workedUp ? 1...2 : 0...3) { performanceStatus(favourable: workedUp) }
        for _ in 0..<random.int(0...4) { lab() }
        if workedUp {
            record(
                "condition", "code", Vocabulary.conditions, "status",
                [("absent", 0.88), ("present", 0.07), ("resolved", 0.05)])
            record(
                "medication", "class", Vocabulary.medicationClasses, "status",
                [("absent", 0.85), ("active", 0.1), ("stopped", 0.05)])
            record("allergy", "substance", Vocabulary.drugs, "status", [("absent", 0.95), ("present", 0.05)])
            record("metastasis", "site", Vocabulary.metastasisSites, "status", [("absent", 0.9), ("present", 0.1)])
        } else {
            for _ in 0..<random.int(0...8) {
                add("condition", ["code": word(Vocabulary.conditions), "status": word(Vocabulary.conditionStatuses)])
            }
            for _ in 0..<random.int(0...4) {
                add(
                    "medication",
                    ["class": word(Vocabulary.medicationClasses), "status": word(Vocabulary.medicationStatuses)])
            }
            for _ in 0..<random.int(0...4) {
                add("allergy", ["substance": word(Vocabulary.drugs), "status": word(Vocabulary.presence)])
            }
            for _ in 0..<random.int(0...4) {
                add("metastasis", ["site": word(Vocabulary.metastasisSites), "status": word(Vocabulary.presence)])
            }
        }
        for _ in 0..<random.int(0...3) { treatment() }
        if random.chance(0.3) {
            add(
                "response",
                ["criteria": word(Vocabulary.responseCriteria), "category": word(Vocabulary.responseCategories)])
        }
        for _ in 0..<random.int(0...2) { add("progression", [:]) }
        if workedUp { tumorBoard(favourable: true) }
        for _ in 0..<random.int(0...2) { tumorBoard(favourable: false) }
        if random.chance(0.4) { assessment() }
        for _ in 0..<random.int(0...3) {
            add("preference", ["declines": word(Vocabulary.declinable), "status": word(Vocabulary.preferenceStatuses)])
        }
        for _ in 0..<random.int(0...2) where !events.isEmpty {
            guard case .object(let target) = random.pick(events), let id = target["id"] else { continue }
            add("retraction", ["eventId": id])
        }
        // Arrival order says nothing: shuffle.
        for index in events.indices.reversed() where index > 0 { events.swapAt(index, random.int(0...index)) }
        return events
    }

    private mutating func word(_ vocabulary: [String]) -> JSONValue { .string(random.pick(vocabulary)) }

    /// One event per word of `vocabulary`, with a status drawn from `statuses` (value, probability).
    private mutating func record(
        _ type: String, _ key: String, _ vocabulary: [String], _ statusKey: String, _ statuses: [(String, Double)]
    ) {
        for item in vocabulary {
            var draw = Double(random.next() >> 11) / Double(1 << 53)
            let status =
                statuses.first {
                    draw -= $0.1; return draw < 0
                }?.0 ?? statuses[0].0
            add(type, [key: .string(item), statusKey: .string(status)])
        }
    }

    private mutating func time() -> String {
        let span = PatientGenerator.now.millisecondsSinceEpoch - PatientGenerator.start.millisecondsSinceEpoch
        // Whole hours, so that equal times (ties broken by id) happen too.
        let hours = Int(span / 3_600_000)
        let at = PatientGenerator.start.millisecondsSinceEpoch + Int64(random.int(0...(hours - 1))) * 3_600_000
        return Instant(millisecondsSinceEpoch: at).description
    }

    private mutating func add(_ type: String, _ data: [String: JSONValue]) {
        counter += 1
        events.append(
            .object([
                "id": .string("g\(counter)"), "patientId": "GEN", "type": .string(type), "occurredAt": .string(time()),
                "data": .object(data),
            ]))
    }

    private mutating func demographics() {
        var data: [String: JSONValue] = [
            "birthDate": .string("\(random.int(1925...2008))-0\(random.int(1...9))-1\(random.int(0...9))"),
            "sex": word(Vocabulary.sex),
        ]
        if random.chance(0.6) { data["weightKg"] = .number(Double(random.int(35...140))) }
        if random.chance(0.4) { data["childbearingPotential"] = .bool(random.chance(0.5)) }
        add("demographics", data)
    }

    private mutating func diagnosis() {
        let cancer =
            random.chance(0.8)
            ? random.pick(["pleural-mesothelioma", "peritoneal-mesothelioma"]) : random.pick(Vocabulary.cancers)
        var data: [String: JSONValue] = ["cancer": .string(cancer)]
        if cancer.hasSuffix("mesothelioma") {
            if random.chance(0.85) { data["histology"] = word(Vocabulary.histologies) }
            if random.chance(0.6) { data["histologyConfirmed"] = .bool(random.chance(0.8)) }
        } else if cancer == "neuroendocrine-neoplasm" {
            if random.chance(0.7) { data["neType"] = word(Vocabulary.neTypes) }
            if random.chance(0.5) { data["primarySite"] = word(Vocabulary.primarySites) }
        }
        if random.chance(0.3) { data["metastaticAtDiagnosis"] = .bool(random.chance(0.3)) }
        add("diagnosis", data)
    }

    private mutating func staging() {
        var data: [String: JSONValue] = [
            "edition": word(Vocabulary.editions), "t": word(Vocabulary.tCategories), "n": word(Vocabulary.nCategories),
            "m": random.chance(0.75) ? "M0" : "M1",
        ]
        if random.chance(0.5) { data["method"] = word(Vocabulary.stagingMethods) }
        if random.chance(0.3) { data["stageGroup"] = word(Vocabulary.stageGroups) }
        add("staging", data)
    }

    private mutating func performanceStatus(favourable: Bool) {
        let scale = random.pick(Vocabulary.performanceScales)
        let ecog = favourable && random.chance(0.7) ? random.int(0...2) : random.int(0...5)
        let value =
            scale == "karnofsky"
            ? [100, 90, 80, 70, 60, 50, 40, 30, 20, 10, 0][min(ecog * 2 + random.int(0...1), 10)] : ecog
        add("performance-status", ["scale": .string(scale), "value": .number(Double(value))])
    }

    private mutating func lab() {
        let test = random.pick(Vocabulary.labTests)
        let units = Vocabulary.labUnits[test] ?? [("U/L", 1)]
        let unit = random.pick(units)
        let canonical: Double =
            switch test {
            case "hemoglobin": Double(random.int(60...170)) / 10
            case "platelets": Double(random.int(20...600))
            case "wbc", "anc": Double(random.int(5...300)) / 10
            case "creatinine": Double(random.int(4...40)) / 10
            case "bilirubin-total": Double(random.int(2...60)) / 10
            case "creatinine-clearance": Double(random.int(10...140))
            default: Double(random.int(5...900))
            }
        var data: [String: JSONValue] = [
            "test": .string(test), "value": .number(canonical / unit.factor), "unit": .string(unit.unit),
        ]
        if random.chance(0.5) {
            let uln: Double = test == "creatinine" ? 1.2 : test == "bilirubin-total" ? 1.2 : 40
            data["upperLimitOfNormal"] = .number(uln / unit.factor)
        }
        add("lab", data)
    }

    private mutating func treatment() {
        let kind = random.chance(0.7) ? "systemic" : random.pick(Vocabulary.treatmentKinds)
        let lineId = "line-\(counter)"
        var data: [String: JSONValue] = ["kind": .string(kind), "lineId": .string(lineId)]
        switch kind {
        case "systemic":
            let regimens: [[String]] = [
                ["cisplatin", "pemetrexed"], ["carboplatin", "pemetrexed"], ["nivolumab", "ipilimumab"],
                ["cisplatin", "pemetrexed", "bevacizumab"], ["nivolumab"], ["gemcitabine"], ["vinorelbine"],
                ["pembrolizumab", "carboplatin", "pemetrexed"],
            ]
            let agents = random.chance(0.8) ? random.pick(regimens) : [random.pick(Vocabulary.drugs)]
            data["agents"] = .array(agents.map(JSONValue.string))
            if random.chance(0.6) { data["setting"] = word(Vocabulary.treatmentSettings) }
            if random.chance(0.6) { data["cycles"] = .number(Double(random.int(1...8))) }
        case "surgery":
            data["procedure"] = word(Vocabulary.procedures)
        default:
            data["site"] = word(Vocabulary.radiotherapySites)
            if random.chance(0.5) { data["prophylacticTract"] = .bool(random.chance(0.5)) }
        }
        data["status"] = "started"
        add("treatment", data)
        if random.chance(0.6) {
            data["status"] = .string(random.pick(["completed", "stopped"]))
            add("treatment", data)
        }
    }

    private mutating func tumorBoard(favourable: Bool) {
        var data: [String: JSONValue] = [:]
        if random.chance(0.5) { data["resectability"] = word(Vocabulary.resectability) }
        for flag in Event.tumorBoardFlags where favourable || random.chance(0.4) {
            // extraperitonealDisease is the one flag whose `true` is unfavourable.
            let value = random.chance(favourable ? 0.85 : 0.6)
            data[flag] = .bool(flag == "extraperitonealDisease" ? !value : value)
        }
        if data.isEmpty { data["fitForSystemicTherapy"] = .bool(random.chance(0.6)) }
        add("tumor-board", data)
    }

    private mutating func assessment() {
        var data: [String: JSONValue] = ["consentCapable": .bool(random.chance(0.9))]
        if random.chance(0.5) { data["lifeExpectancyMonths"] = .number(Double(random.int(1...60))) }
        if random.chance(0.5) { data["measurableDisease"] = .bool(random.chance(0.7)) }
        add("assessment", data)
    }
}
