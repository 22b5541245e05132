import PathwayAPI

extension EvaluationRun {
    /// The facts a clinician scans first, read from the evaluation's own environment: what the
    /// options were decided on, not a second reading of the events.
    /// Contraindications are those of the options still in play (recommended, consider,
    /// needs-data), which the safety gates and agent contraindications make them inherit.
    func summary(_ facts: PatientFacts, pathway: String?, options: [OptionV1]) -> SummaryV1 {
        let environment = evaluator.environment
        func value(_ name: String) -> FactValue? { rules.slots.index[name].flatMap { environment.values[$0] } }
        func word(_ name: String) -> String? {
            if case .word(let word)? = value(name) { return word }
            return nil
        }
        var confirmed: Bool?
        if case .bool(let flag)? = value("diagnosis.histologyConfirmed") { confirmed = flag }
        var diagnosedAt: String?
        if case .instant(let instant)? = value("diagnosis.diagnosedAt") { diagnosedAt = instant.description }
        var ecog: Int?
        if case .number(let number)? = value("ecog") ?? value("performance-status") { ecog = Int(number) }

        var stage: SummaryV1.Stage?
        for output in rules.outputs {
            guard case .stage(let group, let edition, let from) = output.shape,
                case .word(let editionWord)? = environment.values[edition],
                case .word(let fromWord)? = environment.values[from]
            else { continue }
            var groupWord: String?
            if case .word(let word)? = environment.values[group] { groupWord = word }
            stage = SummaryV1.Stage(group: groupWord, edition: editionWord, from: fromWord)
        }

        var inPlay: Set<Int> = []
        if let compiled = rules.pathways.first(where: { $0.id == pathway }) {
            for option in options where option.status != "not-eligible" {
                if let source = compiled.options.first(where: { $0.id == option.id }) {
                    inPlay.formUnion(source.inheritedFacts)
                }
            }
        }
        var present: [String] = []
        var absent: [String] = []
        var unknown: [String] = []
        for slot in rules.contraindicationFacts where inPlay.contains(slot) {
            let name = rules.slots.names[slot]
            switch environment.values[slot] {
            case .word("present")?: present.append(name)
            case nil: unknown.append(name)
            default: absent.append(name)
            }
        }
        let lines = facts.treatments.map { line in
            SummaryV1.Line(
                kind: line.kind,
                what: line.agents.isEmpty
                    ? (line.procedure ?? line.site ?? line.kind) : line.agents.joined(separator: " + "),
                setting: line.setting, status: line.status, startedAt: line.startedAt.description,
                progressionAt: line.progressionAt?.description)
        }
        return SummaryV1(
            diagnosis: .init(
                cancer: word("diagnosis.cancer"), histology: word("diagnosis.histology"), histologyConfirmed: confirmed,
                diagnosedAt: diagnosedAt),
            stage: stage, performanceStatus: .init(ecog: ecog, scale: word("performance-status.scale")),
            priorSystemicLines: facts.treatments.reduce(0) { $0 + ($1.kind == "systemic" ? 1 : 0) },
            progressed: facts.treatments.contains { $0.progressionAt != nil }, treatments: lines,
            contraindications: .init(present: present, absent: absent, unknown: unknown))
    }
}
