import PathwayAPI

extension Compiler {
    static let optionKinds = [
        "systemic", "surgery", "intracavitary", "radiotherapy", "local", "supportive", "trial-referral",
    ]

    mutating func compilePathway(_ node: YAMLNode) {
        guard var reader = MappingReader(node, what: "a pathway", sink: &sink) else { return }
        defer { reader.finish(sink: &sink) }
        _ = reader.node("notes")
        guard let id = reader.text("id", required: true, sink: &sink) else { return }
        if pathways.contains(where: { $0.id == id.value }) {
            sink.error(id.at, "duplicate-pathway-id", "pathway \"\(id.value)\" is defined twice")
        }
        let label = reader.text("label", sink: &sink)?.value ?? id.value
        let applies = reader.node("applies").flatMap { condition($0, what: "\"applies\"") }
        if reader.node("applies") == nil { sink.error(reader.location, "missing-key", "a pathway needs \"applies\"") }

        var settings: [Setting] = []
        for item in reader.list("settings", required: true, sink: &sink) {
            guard var setting = MappingReader(item, what: "a setting", sink: &sink) else { continue }
            _ = setting.node("notes")
            _ = setting.node("cite")
            let settingId = setting.text("id", required: true, sink: &sink)
            let settingLabel = setting.text("label", sink: &sink)?.value
            let when = setting.node("when").flatMap { condition($0, what: "a setting's \"when\"") }
            if setting.node("when") == nil { sink.error(setting.location, "missing-key", "a setting needs \"when\"") }
            setting.finish(sink: &sink)
            guard let settingId, let when else { continue }
            if settings.contains(where: { $0.id == settingId.value }) {
                sink.error(settingId.at, "duplicate-setting-id", "setting \"\(settingId.value)\" is defined twice")
            }
            settings.append(Setting(id: settingId.value, label: settingLabel ?? settingId.value, when: when))
        }

        var options: [Option] = []
        var placed: [String: SourceLocation] = [:]  // "setting/option" → first definition
        for item in reader.list("options", required: true, sink: &sink) {
            guard let (option, at) = compileOption(item, settings: settings) else { continue }
            for setting in option.settings ?? Set(settings.map(\.id)) {
                let key = "\(setting)/\(option.id)"
                if let first = placed[key] {
                    sink.error(
                        at, "duplicate-option-id",
                        "option \"\(option.id)\" is already defined for setting \(setting) at \(first)")
                }
                placed[key] = at
            }
            options.append(option)
        }
        guard let applies else { return }
        pathways.append(Pathway(id: id.value, label: label, applies: applies, settings: settings, options: options))
    }

    private mutating func compileOption(_ node: YAMLNode, settings: [Setting]) -> (Option, SourceLocation)? {
        guard var reader = MappingReader(node, what: "an option", sink: &sink) else { return nil }
        defer { reader.finish(sink: &sink) }
        _ = reader.node("notes")
        var option: OptionDraft
        var idAt = reader.location
        if let trialId = reader.text("trial", sink: &sink) {
            guard let index = trials.firstIndex(where: { $0.id == trialId.value }) else {
                sink.error(trialId.at, "unknown-trial", "no trial \"\(trialId.value)\" is defined")
                return nil
            }
            let trial = trials[index]
            let name = trial.acronym.map { "\($0) (\(trial.id))" } ?? trial.id
            // With a references table the listing is the title and link; a PDQ level it has not.
            let listing = resolve(cite: trial.cite, at: trialId.at)
            option = OptionDraft(
                id: "trial:\(trial.id)", label: reader.text("label", sink: &sink)?.value ?? "Refer to trial \(name)",
                kind: "trial-referral", settings: nil, strength: .consider,
                evidence: [
                    EvidenceV1(
                        source: name, nct: trial.id.hasPrefix("NCT") ? trial.id : nil,
                        level: references.isEmpty ? "clinical trial" : nil, cite: trial.cite,
                        note: references.isEmpty ? nil : "Clinical trial", title: listing?.title, url: trial.url)
                ],
                trial: index)
            idAt = trialId.at
        } else {
            guard let id = reader.text("id", required: true, sink: &sink) else { return nil }
            idAt = id.at
            let label = reader.text("label", required: true, sink: &sink)?.value ?? id.value
            let kind = reader.text("kind", required: true, sink: &sink)
            if let kind, !Self.optionKinds.contains(kind.value) {
                sink.error(
                    kind.at, "unknown-vocabulary",
                    "option kind \"\(kind.value)\" is not one of \(Self.optionKinds.joined(separator: ", "))")
            }
            var strength = Option.Strength.recommended
            if let text = reader.text("strength", required: true, sink: &sink) {
                if let value = Option.Strength(rawValue: text.value) {
                    strength = value
                } else {
                    sink.error(
                        text.at, "unknown-vocabulary",
                        "strength must be recommended or consider, found \"\(text.value)\"")
                }
            }
            let evidence = reader.list("evidence", sink: &sink).compactMap { evidenceEntry($0) }
            if evidence.isEmpty { sink.error(id.at, "missing-citation", "option \"\(id.value)\" cites no evidence") }
            option = OptionDraft(
                id: id.value, label: label, kind: kind?.value ?? "systemic", settings: nil, strength: strength,
                evidence: evidence, trial: nil)
        }
        if let settingNode = reader.node("settings") {
            let ids = MappingReader.texts(of: settingNode, key: "settings", sink: &sink)
            if ids.map(\.value) != ["all"] {
                for id in ids where !settings.contains(where: { $0.id == id.value }) {
                    sink.error(
                        id.at, "unknown-setting",
                        "option \"\(option.id)\" names setting \"\(id.value)\", which the pathway does not define")
                }
                option.settings = Set(ids.map(\.value))
                if ids.isEmpty {
                    sink.error(idAt, "unreachable-option", "option \"\(option.id)\" belongs to no setting")
                }
            }
        } else {
            sink.error(
                idAt, "missing-key", "option \"\(option.id)\" needs \"settings\" (a list of setting ids, or all)")
        }
        option.requires = flattened(reader.list("requires", sink: &sink)).compactMap { requirement($0) }
        option.considerIf = reader.list("considerIf", sink: &sink).compactMap { cautionedCondition($0) }
        option.cautions = reader.list("cautions", sink: &sink).compactMap { caution($0) }
        option.priority = priorities(reader.node("priority"))
        if let node = reader.node("regimen") { option.regimen = regimen(node) }
        if Self.anticancerKinds.contains(option.kind), reader.node("regimen") == nil {
            sink.error(
                idAt, "missing-regimen",
                "option \"\(option.id)\" is \(option.kind) and must name its regimen (agents or procedures of the catalogue), so that it inherits their contraindications"
            )
        }
        if Self.anticancerKinds.contains(option.kind), !kindGates.contains(where: { $0.kinds.contains(option.kind) }) {
            sink.error(
                idAt, "missing-safety-gate",
                "no safety gate covers options of kind \(option.kind): declare one under \"gates\" (performance status at least)"
            )
        }
        if !Self.anticancerKinds.contains(option.kind), !option.regimen.isEmpty {
            sink.error(
                idAt, "invalid-value",
                "option \"\(option.id)\" is \(option.kind); only anticancer options name a regimen")
        }
        let inherited = inherited(kind: option.kind, regimen: option.regimen)
        option.requires += inherited.requirements
        option.cautions += inherited.cautions.map { (nil, $0) }
        return (Option(option), idAt)
    }

    /// A requirement: a condition (`needs-data` while unknown), or a mapping with `unknown:
    /// check-before-start` where the source allows an offer before the fact is checked.
    private mutating func requirement(_ node: YAMLNode) -> Requirement? {
        var whenUnknown = WhenUnknown.needsData
        var node = node
        if case .mapping(let pairs, let at) = node, let entry = pairs.first(where: { $0.key == "unknown" }) {
            guard case .scalar(let text, _, _) = entry.value, let value = WhenUnknown(rawValue: text) else {
                sink.error(
                    entry.value.location, "unknown-vocabulary", "\"unknown\" must be needs-data or check-before-start")
                return nil
            }
            whenUnknown = value
            node = .mapping(pairs.filter { $0.key != "unknown" }, at)
        }
        guard let condition = condition(node, what: "a requirement") else { return nil }
        refuseUnknownAsPass(condition)
        return Requirement(condition, whenUnknown: whenUnknown)
    }

    /// Splices nested lists, so that a shared list (a YAML alias) can stand among other requirements.
    private func flattened(_ items: [YAMLNode]) -> [YAMLNode] {
        items.flatMap { item -> [YAMLNode] in
            if case .sequence(let inner, _) = item { return flattened(inner) }
            return [item]
        }
    }

    private mutating func evidenceEntry(_ node: YAMLNode) -> EvidenceV1? {
        guard var reader = MappingReader(node, what: "an evidence entry", sink: &sink) else { return nil }
        defer { reader.finish(sink: &sink) }
        let source = reader.text("source", required: true, sink: &sink)?.value
        let cite = reader.text("cite", sink: &sink)?.value
        if cite == nil { sink.error(reader.location, "missing-citation", "an evidence entry needs \"cite\"") }
        let nct = reader.text("nct", sink: &sink)
        if let nct, !isNCTId(nct.value) {
            sink.error(nct.at, "invalid-value", "\"\(nct.value)\" is not an NCT id (NCT and 8 digits)")
        }
        let levelText = reader.text("level", sink: &sink)
        // With a references table (rule sets written since it exists), a level is a PDQ level of
        // evidence; a recommendation's wording or a study design goes in `note`.
        if let levelText, !references.isEmpty, !EvidenceV1.isLevel(levelText.value) {
            sink.error(
                levelText.at, "invalid-value",
                "evidence level \"\(levelText.value)\" is not a PDQ level of evidence (A1 … D3); put other grading in \"note\""
            )
        }
        let level = levelText?.value
        let note = reader.text("note", sink: &sink)?.value
        let ref = reader.text("ref", sink: &sink).flatMap { reference(named: $0.value, at: $0.at) }
        guard let source, let cite else { return nil }
        // The link: the guideline named by `ref`, else the trial's registry page, else the cited document.
        let cited = resolve(cite: cite, at: reader.location)
        return EvidenceV1(
            source: source, nct: nct?.value, level: level, cite: cite, note: note, title: ref?.title ?? cited?.title,
            url: ref?.url ?? nct.map { registryURL($0.value) } ?? cited?.url)
    }

    /// `{when, text, cite}`: a condition with the caution shown when it holds.
    private mutating func cautionedCondition(_ node: YAMLNode) -> (Condition, CautionV1)? {
        guard var reader = MappingReader(node, what: "a considerIf entry", sink: &sink) else { return nil }
        defer { reader.finish(sink: &sink) }
        let text = reader.text("text", required: true, sink: &sink)?.value
        let cite = reader.text("cite", sink: &sink)?.value
        let when = reader.node("when").flatMap { condition($0, what: "a considerIf entry") }
        if reader.node("when") == nil {
            sink.error(reader.location, "missing-key", "a considerIf entry needs \"when\"")
        }
        guard let text, let when else { return nil }
        return (when, CautionV1(text: text, cite: cite))
    }

    /// `{text, cite, when?}`: a caution, shown always or when its condition holds.
    mutating func caution(_ node: YAMLNode) -> (Condition?, CautionV1)? {
        guard var reader = MappingReader(node, what: "a caution", sink: &sink) else { return nil }
        defer { reader.finish(sink: &sink) }
        let text = reader.text("text", required: true, sink: &sink)?.value
        let cite = reader.text("cite", sink: &sink)?.value
        if cite == nil { sink.error(reader.location, "missing-citation", "a caution needs \"cite\"") }
        let when = reader.node("when").flatMap { condition($0, what: "a caution's \"when\"") }
        guard let text else { return nil }
        return (when, CautionV1(text: text, cite: cite))
    }

    /// `priority: 2`, or a list of `{when, value}` ending with an unconditional `{value}`.
    private mutating func priorities(_ node: YAMLNode?) -> [(Condition?, Int)] {
        guard let node else { return [] }
        if case .scalar(let text, _, let at) = node {
            guard let value = Int(text), (0...10_000).contains(value) else {
                sink.error(at, "type-mismatch", "priority must be a whole number 0–10000, found \"\(text)\"")
                return []
            }
            return [(nil, value)]
        }
        guard case .sequence(let items, _) = node else {
            sink.error(node.location, "invalid-value", "priority must be a number or a list of {when, value}")
            return []
        }
        return items.compactMap { item in
            guard var reader = MappingReader(item, what: "a priority entry", sink: &sink) else { return nil }
            defer { reader.finish(sink: &sink) }
            guard let value = reader.integer("value", in: 0...10_000, required: true, sink: &sink) else { return nil }
            let when = reader.node("when").flatMap { condition($0, what: "a priority entry") }
            return (when, value.value)
        }
    }
}

func isNCTId(_ text: String) -> Bool {
    text.count == 11 && text.hasPrefix("NCT") && text.dropFirst(3).allSatisfy(\.isNumber)
}
