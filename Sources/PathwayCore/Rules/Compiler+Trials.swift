extension Compiler {
    static let recruitmentStatuses = [
        "recruiting", "not-yet-recruiting", "active-not-recruiting", "enrolling-by-invitation", "suspended",
        "terminated", "completed", "withdrawn", "unknown",
    ]

    mutating func compileTrials(_ node: YAMLNode) {
        guard case .sequence(let items, _) = node else {
            return sink.error(node.location, "invalid-value", "\"trials\" must be a list")
        }
        for item in items { if let trial = compileTrial(item) { trials.append(trial) } }
    }

    private mutating func compileTrial(_ node: YAMLNode) -> Trial? {
        guard var reader = MappingReader(node, what: "a trial", sink: &sink) else { return nil }
        defer { reader.finish(sink: &sink) }
        guard let id = reader.text("id", required: true, sink: &sink) else { return nil }
        if trials.contains(where: { $0.id == id.value }) {
            sink.error(id.at, "duplicate-trial-id", "trial \"\(id.value)\" is defined twice")
        }
        let title = reader.text("title", required: true, sink: &sink)?.value ?? id.value
        let cite = reader.text("cite", sink: &sink)?.value
        if cite == nil { sink.error(id.at, "missing-citation", "trial \"\(id.value)\" needs \"cite\"") }
        let recruitment = reader.text("recruitment", required: true, sink: &sink)
        if let recruitment, !Self.recruitmentStatuses.contains(recruitment.value) {
            sink.error(
                recruitment.at, "unknown-vocabulary",
                "recruitment \"\(recruitment.value)\" is not one of \(Self.recruitmentStatuses.joined(separator: ", "))"
            )
        }
        let population = reader.node("population").flatMap { compileCriterion($0) }
        var criteria: [Criterion] = []
        for item in reader.list("criteria", required: true, sink: &sink) {
            guard let criterion = compileCriterion(item) else { continue }
            if criteria.contains(where: { $0.id == criterion.id }) {
                sink.error(
                    item.location, "duplicate-criterion-id",
                    "criterion \"\(criterion.id)\" appears twice in trial \(id.value)")
            }
            criteria.append(criterion)
        }
        let reference = cite.flatMap { resolve(cite: $0, at: id.at) }
        return Trial(
            id: id.value, acronym: reader.text("acronym", sink: &sink)?.value, title: title,
            recruitment: recruitment?.value ?? "unknown", cite: cite ?? "", url: reference?.url,
            notes: reader.texts("notes", sink: &sink).map(\.value), population: population, criteria: criteria)
    }

    private mutating func compileCriterion(_ node: YAMLNode) -> Criterion? {
        guard var reader = MappingReader(node, what: "a criterion", sink: &sink) else { return nil }
        defer { reader.finish(sink: &sink) }
        _ = reader.node("notes")
        let id = reader.text("id", required: true, sink: &sink)
        let kindText = reader.text("kind", required: true, sink: &sink)
        let kind = kindText.flatMap { Criterion.Kind(rawValue: $0.value) }
        if let kindText, kind == nil {
            sink.error(
                kindText.at, "unknown-vocabulary",
                "criterion kind must be inclusion or exclusion, found \"\(kindText.value)\"")
        }
        let text = reader.text("text", required: true, sink: &sink)?.value
        let cite = reader.text("cite", sink: &sink)?.value
        if cite == nil {
            sink.error(reader.location, "missing-citation", "criterion \"\(id?.value ?? "?")\" needs \"cite\"")
        }
        let manual = reader.text("manual", sink: &sink)?.value
        let when = reader.node("when").flatMap { condition($0, what: "a criterion") }
        if let when { refuseUnknownAsPass(when) }
        if reader.node("when") == nil, manual == nil {
            sink.error(reader.location, "missing-key", "criterion \"\(id?.value ?? "?")\" needs \"when\" or \"manual\"")
        }
        guard let id, let kind, let text, let cite else { return nil }
        return Criterion(
            id: id.value, kind: kind, text: text, cite: cite, reference: resolve(cite: cite, at: reader.location),
            when: when, manual: manual)
    }

    mutating func compileAlerts(_ node: YAMLNode) {
        guard case .sequence(let items, _) = node else {
            return sink.error(node.location, "invalid-value", "\"alerts\" must be a list")
        }
        for item in items {
            guard var reader = MappingReader(item, what: "an alert", sink: &sink) else { continue }
            defer { reader.finish(sink: &sink) }
            _ = reader.node("notes")
            guard let id = reader.text("id", required: true, sink: &sink) else { continue }
            if alerts.contains(where: { $0.id == id.value }) {
                sink.error(id.at, "duplicate-alert-id", "alert \"\(id.value)\" is defined twice")
            }
            let severity = reader.text("severity", required: true, sink: &sink)
            if let severity, !["info", "warning", "critical"].contains(severity.value) {
                sink.error(severity.at, "unknown-vocabulary", "severity must be info, warning or critical")
            }
            let when = reader.node("when").flatMap { condition($0, what: "an alert") }
            if reader.node("when") == nil { sink.error(reader.location, "missing-key", "an alert needs \"when\"") }
            guard let text = reader.text("text", required: true, sink: &sink), let when else { continue }
            guard let template = template(text) else { continue }
            alerts.append(
                AlertRule(
                    id: id.value, severity: severity?.value ?? "warning", when: when, template: template,
                    cite: reader.text("cite", sink: &sink)?.value))
        }
    }

    /// Splits `Reported {staging.stageGroup} …` into literal text and fact slots.
    private mutating func template(_ text: Located<String>) -> [TemplatePart]? {
        var parts: [TemplatePart] = []
        var rest = Substring(text.value)
        while let open = rest.firstIndex(of: "{") {
            parts.append(.literal(String(rest[..<open])))
            guard let close = rest[open...].firstIndex(of: "}") else {
                sink.error(text.at, "invalid-value", "unclosed { in alert text")
                return nil
            }
            let name = String(rest[rest.index(after: open)..<close])
            guard let (expr, _) = resolveName(name, scope: .patient), case .slot(let slot) = expr else {
                sink.error(text.at, "unknown-fact", "unknown fact \"\(name)\" in alert text")
                return nil
            }
            parts.append(.slot(slot))
            rest = rest[rest.index(after: close)...]
        }
        parts.append(.literal(String(rest)))
        return parts
    }

    mutating func compileTerminology(_ node: YAMLNode) {
        guard case .sequence(let items, _) = node else {
            return sink.error(node.location, "invalid-value", "\"terminology\" must be a list")
        }
        for item in items {
            guard var reader = MappingReader(item, what: "a terminology entry", sink: &sink) else { continue }
            defer { reader.finish(sink: &sink) }
            _ = reader.node("notes")
            let system = reader.text("system", required: true, sink: &sink)?.value
            let code = reader.text("code", required: true, sink: &sink)?.value
            let display = reader.text("display", sink: &sink)?.value
            let fact = reader.text("fact", required: true, sink: &sink)
            let value = reader.text("value", sink: &sink)
            let method = reader.text("method", sink: &sink)
            let status = reader.text("status", required: true, sink: &sink)
            let cite = reader.text("cite", sink: &sink)?.value
            if cite == nil { sink.error(reader.location, "missing-citation", "a terminology entry needs \"cite\"") }
            if let status, !["verified", "unverified"].contains(status.value) {
                sink.error(status.at, "unknown-vocabulary", "status must be verified or unverified")
            }
            guard let fact else { continue }
            if let method, !Vocabulary.stagingMethods.contains(method.value) {
                sink.error(method.at, "unknown-vocabulary", "method must be clinical or pathological")
            }
            guard let type = FactCatalog.types[fact.value] ?? Self.terminologyTargets[fact.value] else {
                sink.error(fact.at, "unknown-fact", "unknown fact \"\(fact.value)\"")
                continue
            }
            if let value, case .word(let vocabulary) = type, !vocabulary.contains(value.value) {
                sink.error(value.at, "unknown-vocabulary", "\"\(value.value)\" is not a value of \(fact.value)")
            }
            guard let system, let code, let status, let cite else { continue }
            terminology.append(
                TerminologyEntry(
                    system: system, code: code, display: display, fact: fact.value, value: value?.value,
                    method: method?.value, status: status.value, cite: cite))
        }
    }

    /// What a terminology entry may name besides a fact: a drug (an allergy's substance) or a
    /// surgical procedure (a treatment's), each with its value from the vocabulary.
    static let terminologyTargets: [String: FactType] = [
        "drug": .word(Vocabulary.drugs), "procedure": .word(Vocabulary.procedures),
    ]
}
