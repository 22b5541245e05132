import PathwayAPI

extension CompiledRules {
    /// Evaluates one patient: the evaluation document of contract §5.
    ///
    /// Pure and deterministic: the same facts, revision and context give the same document (encode
    /// it with sorted keys for the same bytes). Never throws: what cannot be decided is `unknown`,
    /// and listed.
    public func evaluate(_ facts: PatientFacts, context: EvaluationContext) -> EvaluationV1 {
        var run = EvaluationRun(
            rules: self, evaluator: ExpressionEvaluator(environment: environment(facts, context: context)))
        var document = run.document(context)
        document.summary = run.summary(facts, pathway: document.pathway, options: document.options)
        if !facts.future.isEmpty {
            document.future = facts.future.map {
                FutureEventV1(eventId: $0.eventId, type: $0.type, occurredAt: $0.occurredAt.description)
            }
        }
        return document
    }
}

/// The state of building one evaluation document.
struct EvaluationRun {
    let rules: CompiledRules
    var evaluator: ExpressionEvaluator
    /// Missing fact (the rank of its name) → what it would decide, with repeats.
    var missingData: [Int: [String]] = [:]

    mutating func document(_ context: EvaluationContext) -> EvaluationV1 {
        let trialResults = rules.trials.map { evaluateTrial($0) }
        var pathwayId: String?
        var settingId: String?
        var options: [OptionV1] = []
        if let pathway = selectPathway() {
            pathwayId = pathway.id
            let (setting, candidates) = selectSetting(pathway)
            settingId = setting?.id
            var listed: Set<String> = []
            for candidate in candidates {
                let settingReason = setting == nil ? candidate : nil
                for option in pathway.options where option.settings?.contains(candidate.id) ?? true {
                    guard listed.insert(option.id).inserted else { continue }
                    options.append(evaluateOption(option, settingReason: settingReason, trials: trialResults))
                }
            }
        }
        rank(&options)
        // Best first: recommended and consider by rank, then needs-data, then not-eligible, each in pack order.
        options = options.indices.map { (order(options[$0].status), options[$0].rank ?? 0, $0) }
            .sorted { $0 < $1 }.map { options[$0.2] }
        // By status; a trial for another population goes after the others of its status.
        let trialKeys = trialResults.map {
            (order($0.document.status), $0.document.outsidePopulation == true ? 1 : 0, $0.document.id)
        }
        let trials = trialResults.indices.sorted { trialKeys[$0] < trialKeys[$1] }.map { trialResults[$0].document }
        return EvaluationV1(
            decisionId: context.decisionId, patientId: context.patientId, evaluatedAt: context.now.description,
            rules: RulesInfoV1(revision: rules.revision, packs: rules.packs), derived: derivedDocument(),
            pathway: pathwayId, setting: settingId, options: options, trials: trials,
            missingData: missingDataDocument(), alerts: alerts())
    }

    /// Missing facts by what they would decide: the pathway or setting first (every option waits
    /// on them), then by how many options and trials each decides, then by name.
    private func missingDataDocument() -> [MissingFactV1] {
        missingData.map { rank, repeated in
            var neededBy: [String] = []
            for item in repeated.sorted() where item != neededBy.last { neededBy.append(item) }
            let selection = neededBy.contains("pathway") || neededBy.contains("setting")
            let decides =
                neededBy.count - (neededBy.contains("pathway") ? 1 : 0) - (neededBy.contains("setting") ? 1 : 0)
            return (
                key: (selection ? 0 : 1, -decides, rank),
                fact: MissingFactV1(fact: rules.missingNames.sorted[rank], neededBy: neededBy, decides: decides)
            )
        }.sorted { $0.key < $1.key }.map(\.fact)
    }

    // MARK: Pathway and setting

    /// The first pathway that applies. An undecidable `applies` before it leaves the pathway open.
    private mutating func selectPathway() -> Pathway? {
        for pathway in rules.pathways {
            let outcome = evaluator.evaluate(pathway.applies.expr)
            if outcome.bool == true { return pathway }
            if case .unknown(let missing) = outcome {
                note(missing, neededBy: "pathway")
                return nil
            }
        }
        return nil
    }

    /// The first setting whose condition holds; when one before it is undecidable, the setting is
    /// open and the options of every setting still possible are listed (as `needs-data`).
    private mutating func selectSetting(_ pathway: Pathway) -> (Setting?, [Setting]) {
        var candidates: [Setting] = []
        for setting in pathway.settings {
            let outcome = evaluator.evaluate(setting.when.expr)
            if outcome.bool == true {
                return candidates.isEmpty ? (setting, [setting]) : (nil, candidates + [setting])
            }
            if case .unknown(let missing) = outcome {
                note(missing, neededBy: "setting")
                candidates.append(setting)
            }
        }
        return (nil, candidates)
    }

    // MARK: Options

    private mutating func evaluateOption(_ option: Option, settingReason: Setting?, trials: [TrialResult]) -> OptionV1 {
        var reasons: [ReasonV1] = []
        var outcomes: [Outcome] = []
        reasons.reserveCapacity(option.requires.count + 1)
        outcomes.reserveCapacity(option.requires.count + 2)
        if let setting = settingReason {
            let (outcome, reason) = check(setting.when, text: "Setting: \(setting.label)")
            outcomes.append(outcome)
            reasons.append(reason)
        }
        var cautions: [CautionV1] = []
        if let index = option.trial {
            let trial = trials[index]
            outcomes.append(trial.asRequirement)
            reasons.append(contentsOf: trial.reasons)
        }
        // Unknown check-before-start requirements do not block an offer, but are never `pass`.
        var unchecked: [Int] = []
        var uncheckedTexts: [String] = []
        for requirement in option.requires {
            let condition = requirement.condition
            let (outcome, reason) = check(condition, text: condition.text ?? condition.source)
            reasons.append(reason)
            if requirement.whenUnknown == .checkBeforeStart, case .unknown(let facts) = outcome {
                unchecked += facts
                uncheckedTexts.append(requirement.summary)
            } else {
                outcomes.append(outcome)
            }
        }
        let verdict = Outcome.all(outcomes)
        var status: String
        var missing: [String] = []
        switch verdict.bool {
        case false?: status = "not-eligible"
        case nil:
            status = "needs-data"
            missing = note(verdict.missing + unchecked, neededBy: option.id)
        case true?:
            status = option.strength.rawValue
            missing = note(unchecked, neededBy: option.id)
            if !uncheckedTexts.isEmpty {
                cautions.append(
                    CautionV1(
                        text: "Not yet recorded — check before starting: " + uncheckedTexts.joined(separator: "; "),
                        cite: "safety gates and agent contraindications (Rules/agents.yaml, Rules/safety.yaml)"))
            }
            for (condition, caution) in option.considerIf {
                switch evaluator.evaluate(condition.expr).bool {
                case true?:
                    status = "consider"
                    cautions.append(caution)
                case nil:
                    status = "consider"
                    cautions.append(CautionV1(text: "Not yet checked: \(caution.text)", cite: caution.cite))
                case false?: break
                }
            }
        }
        for (condition, caution) in option.cautions
        where condition.map({ evaluator.evaluate($0.expr).bool == true }) ?? true {
            cautions.append(caution)
        }
        return OptionV1(
            id: option.id, label: option.label, kind: option.kind, status: status, rank: priority(option),
            reasons: reasons, missing: missing, evidence: option.evidence, cautions: cautions)
    }

    /// The option's priority, kept in `rank` until `rank(_:)` turns priorities into ranks.
    private mutating func priority(_ option: Option) -> Int {
        for (condition, value) in option.priority
        where condition.map({ evaluator.evaluate($0.expr).bool == true }) ?? true {
            return value
        }
        return 50
    }

    /// Ranks `recommended` before `consider`, then by priority, then in pack order; others get no rank.
    private func rank(_ options: inout [OptionV1]) {
        let ranked = options.indices
            .filter { options[$0].status == "recommended" || options[$0].status == "consider" }
            .map { (order(options[$0].status), options[$0].rank ?? 50, $0) }
            .sorted { $0 < $1 }.map(\.2)
        for index in options.indices { options[index].rank = nil }
        for (position, index) in ranked.enumerated() { options[index].rank = position + 1 }
    }

    // MARK: Conditions

    /// Evaluates one condition into its outcome and the reason a tumor board reads.
    mutating func check(_ condition: Condition, text: String) -> (Outcome, ReasonV1) {
        evaluator.trace.removeAll(keepingCapacity: true)
        let outcome = evaluator.evaluate(condition.expr)
        return (
            outcome, ReasonV1(text: text, result: outcome.result, condition: condition.source, values: traceValues())
        )
    }

    /// The facts the last condition read, each once, in reading order (`now` left out).
    func traceValues() -> [FactValueV1]? {
        let trace = evaluator.trace
        guard trace.contains(where: { $0 != rules.nowSlot }) else { return nil }
        var values: [FactValueV1] = []
        values.reserveCapacity(trace.count)
        for (index, slot) in trace.enumerated() where slot != rules.nowSlot && !trace[..<index].contains(slot) {
            values.append(
                FactValueV1(fact: rules.slots.names[slot], value: evaluator.environment.values[slot]?.json ?? .null))
        }
        return values.isEmpty ? nil : values
    }

    /// Names missing facts, without repeats, in name order.
    func names(_ missing: [Int]) -> [String] {
        rules.missingNames.ranks(missing).map { rules.missingNames.sorted[$0] }
    }

    /// Notes what missing facts would decide; their names, without repeats, in name order.
    @discardableResult
    mutating func note(_ missing: [Int], neededBy: String) -> [String] {
        let ranks = rules.missingNames.ranks(missing)
        for rank in ranks { missingData[rank, default: []].append(neededBy) }
        return ranks.map { rules.missingNames.sorted[$0] }
    }

    // MARK: Derived facts and alerts

    private func derivedDocument() -> [String: JSONValue] {
        let values = evaluator.environment.values
        var document: [String: JSONValue] = [:]
        for output in rules.outputs {
            defer {
                if let caution = output.caution, case .object(var object)? = document[output.key] {
                    object["caution"] = .object([
                        "text": .string(caution.text), "cite": caution.cite.map(JSONValue.string) ?? .null,
                    ])
                    document[output.key] = .object(object)
                }
            }
            switch output.shape {
            case .plain(let slot):
                document[output.key] = values[slot]?.json ?? .null
            case .measured(let slot, let unit, let method):
                guard let value = values[slot] else { document[output.key] = .null; continue }
                var object: [String: JSONValue] = ["value": value.json, "unit": .string(unit)]
                if let method { object["method"] = .string(method) }
                document[output.key] = .object(object)
            case .score(let slot, let classSlot, let classKey):
                var object: [String: JSONValue] = [
                    classKey: values[classSlot]?.json ?? .null, "value": values[slot]?.json ?? .null,
                ]
                if evaluator.environment.notApplicable.contains(slot) {
                    object["applies"] = .bool(false)
                } else if values[slot] == nil, let range = evaluator.environment.scoreRanges[slot] {
                    object["range"] = .array([.number(scoreDecimals(range.low)), .number(scoreDecimals(range.high))])
                    object["missing"] = .array(
                        names(evaluator.environment.missingBehind[slot] ?? []).map(JSONValue.string))
                }
                document[output.key] = .object(object)
            case .stage(let group, let edition, let from):
                guard values[edition] != nil else { document[output.key] = .null; continue }
                document[output.key] = .object([
                    "group": values[group]?.json ?? .null, "edition": values[edition]!.json,
                    "from": values[from]?.json ?? .null,
                ])
            }
        }
        return document
    }

    private mutating func alerts() -> [AlertV1] {
        rules.alerts.compactMap { alert in
            guard evaluator.evaluate(alert.when.expr).bool == true else { return nil }
            let text = alert.template.map { part -> String in
                switch part {
                case .literal(let text): text
                case .slot(let slot): evaluator.environment.values[slot]?.description ?? "unknown"
                }
            }.joined()
            return AlertV1(id: alert.id, severity: alert.severity, text: text, cite: alert.cite)
        }
    }
}

/// A sum of score weights at the precision weights are written in (0.55 + 0.6 + 0.52 + … is
/// 1.7400000000000002 in binary floating point; shown, and compared, as 1.74).
func scoreDecimals(_ value: Double) -> Double { (value * 1e6).rounded() / 1e6 }

/// Orders statuses best first, for ranking and for listing trials.
func order(_ status: String) -> Int {
    switch status {
    case "recommended", "eligible": 0
    case "consider", "potentially-eligible": 1
    case "needs-data": 2
    default: 3
    }
}

extension FactValue {
    /// The value as the document shows it. A number at 12 significant digits, the precision rules
    /// compare at: a lab ratio computed as 1.5000000000000002 is written 1.5.
    public var json: JSONValue {
        switch self {
        case .number(let value): .number(ExpressionEvaluator.decimal(value))
        case .word(let value): .string(value)
        case .bool(let value): .bool(value)
        case .instant(let value): .string(value.description)
        }
    }
}
