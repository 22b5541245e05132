/// A derived fact (or the facts of one staging or score declaration) waiting to be compiled.
struct DerivedDeclaration {
    enum State { case pending, compiling, done }
    var node: YAMLNode
    var isStaging: Bool
    var state: State = .pending
}

extension Compiler {
    /// Files a `derive:` entry under the fact names it will define.
    mutating func declareDerived(_ node: YAMLNode) {
        guard case .mapping(let pairs, let at) = node else {
            return sink.error(node.location, "invalid-value", "a derived fact must be a mapping, found \(node.shape)")
        }
        guard case .scalar(let fact, _, let factAt)? = pairs.first(where: { $0.key == "fact" })?.value else {
            return sink.error(at, "missing-key", "a derived fact needs \"fact\"")
        }
        var names = [fact]
        if case .mapping(let score, _)? = pairs.first(where: { $0.key == "score" })?.value {
            if case .scalar(let key, _, _)? = score.first(where: { $0.key == "classKey" })?.value {
                names.append("\(fact).\(key)")
            } else {
                names.append("\(fact).class")
            }
        }
        declare(names, node: node, isStaging: false, at: factAt)
    }

    /// Files the `staging:` section under `<output>.group`, `.edition` and `.from`.
    mutating func declareStaging(_ node: YAMLNode) {
        var output = "stage"
        if case .mapping(let pairs, _) = node,
            case .scalar(let name, _, _)? = pairs.first(where: { $0.key == "output" })?.value
        {
            output = name
        }
        declare(
            ["\(output).group", "\(output).edition", "\(output).from"], node: node, isStaging: true, at: node.location)
    }

    private mutating func declare(_ names: [String], node: YAMLNode, isStaging: Bool, at: SourceLocation) {
        for name in names where slots.index[name] != nil || derivedByFact[name] != nil {
            return sink.error(at, "duplicate-derived-fact", "fact \"\(name)\" is already defined")
        }
        derivedDeclarations.append(DerivedDeclaration(node: node, isStaging: isStaging))
        for name in names { derivedByFact[name] = derivedDeclarations.count - 1 }
    }

    /// Compiles one declaration (once), after the derived facts it reads.
    mutating func compileDerived(_ index: Int) {
        switch derivedDeclarations[index].state {
        case .done: return
        case .compiling:
            let at = derivedDeclarations[index].node.location
            return sink.error(at, "derivation-cycle", "this derived fact depends on itself")
        case .pending:
            derivedDeclarations[index].state = .compiling
            let node = derivedDeclarations[index].node
            if derivedDeclarations[index].isStaging { compileStaging(node) } else { compileDerivedFact(node) }
            derivedDeclarations[index].state = .done
        }
    }

    private mutating func compileDerivedFact(_ node: YAMLNode) {
        guard var reader = MappingReader(node, what: "a derived fact", sink: &sink) else { return }
        defer { reader.finish(sink: &sink) }
        _ = reader.node("notes")
        guard let fact = reader.text("fact", required: true, sink: &sink)?.value else { return }
        let cite = reader.text("cite", sink: &sink)?.value
        let outputKey = reader.text("output", sink: &sink)?.value ?? fact
        let unit = reader.text("unit", sink: &sink)?.value
        let method = reader.text("method", sink: &sink)?.value
        let round = reader.integer("round", in: 0...10, sink: &sink)?.value
        let applies = reader.node("applies").flatMap { condition($0, what: "\"applies\"") }
        let shownCaution = reader.node("caution").flatMap { self.caution($0)?.1 }
        let derivationCount = derivations.count
        let outputCount = outputs.count
        defer {
            // `applies` and `caution` belong to every fact this entry defines.
            for index in derivationCount..<derivations.count { derivations[index].applies = applies }
            for index in outputCount..<outputs.count { outputs[index].caution = shownCaution }
        }

        if let text = reader.text("expr", sink: &sink) {
            guard let (expr, type) = expression(text.value, at: text.at, expecting: nil) else { return }
            let slot = slots.add(fact, type)
            derivations.append(Derivation(slot: slot, kind: .expression(expr, round: round)))
            if outputKey != "false" {
                let shape: DerivedOutput.Shape = unit.map { .measured(slot, unit: $0, method: method) } ?? .plain(slot)
                outputs.append(DerivedOutput(key: outputKey, shape: shape))
            }
        } else if let cases = reader.node("cases") {
            guard cite != nil else {
                return sink.error(reader.location, "missing-citation", "derived fact \"\(fact)\" needs \"cite\"")
            }
            compileCases(fact, cases, otherwise: reader.text("otherwise", sink: &sink)?.value, output: outputKey)
        } else if let score = reader.node("score") {
            compileScore(fact, score, output: outputKey)
        } else {
            sink.error(
                reader.location, "missing-key", "derived fact \"\(fact)\" needs \"expr\", \"cases\" or \"score\"")
        }
    }

    private mutating func compileCases(_ fact: String, _ node: YAMLNode, otherwise: String?, output: String) {
        guard case .sequence(let items, _) = node else {
            return sink.error(node.location, "invalid-value", "\"cases\" must be a list")
        }
        var cases: [(Condition, FactValue)] = []
        for item in items {
            guard var reader = MappingReader(item, what: "a case", sink: &sink) else { continue }
            _ = reader.node("cite")
            _ = reader.node("notes")
            let value = reader.text("value", required: true, sink: &sink)
            let when = reader.node("when").flatMap { condition($0, what: "a case") }
            if reader.node("when") == nil { sink.error(reader.location, "missing-key", "a case needs \"when\"") }
            reader.finish(sink: &sink)
            if let value, let when { cases.append((when, .word(value.value))) }
        }
        let words = cases.map(\.1.description) + (otherwise.map { [$0] } ?? [])
        let slot = slots.add(fact, .word(Array(Set(words)).sorted()))
        derivations.append(Derivation(slot: slot, kind: .cases(cases, otherwise: otherwise.map(FactValue.word))))
        if output != "false" { outputs.append(DerivedOutput(key: output, shape: .plain(slot))) }
    }

    private mutating func compileScore(_ fact: String, _ node: YAMLNode, output: String) {
        guard var reader = MappingReader(node, what: "a score", sink: &sink) else { return }
        defer { reader.finish(sink: &sink) }
        let classKey = reader.text("classKey", sink: &sink)?.value ?? "class"
        let threshold = reader.number("threshold", required: true, sink: &sink)?.value
        let above = reader.text("above", required: true, sink: &sink)?.value
        let atOrBelow = reader.text("atOrBelow", required: true, sink: &sink)?.value
        var terms: [ScoreTerm] = []
        for item in reader.list("terms", required: true, sink: &sink) {
            guard var term = MappingReader(item, what: "a score term", sink: &sink) else { continue }
            _ = term.node("notes")
            let weight = term.number("weight", required: true, sink: &sink)?.value
            let cite = term.text("cite", sink: &sink)?.value
            if cite == nil { sink.error(term.location, "missing-citation", "every score term needs \"cite\"") }
            let when = term.node("when").flatMap { condition($0, what: "a score term") }
            if term.node("when") == nil { sink.error(term.location, "missing-key", "a score term needs \"when\"") }
            term.finish(sink: &sink)
            if let weight, let cite, let when { terms.append(ScoreTerm(condition: when, weight: weight, cite: cite)) }
        }
        guard let threshold, let above, let atOrBelow else { return }
        let slot = slots.add(fact, .number)
        let classSlot = slots.add("\(fact).\(classKey)", .word([above, atOrBelow]))
        derivations.append(
            Derivation(
                slot: slot,
                kind: .score(
                    terms: terms, threshold: threshold, above: above, atOrBelow: atOrBelow, classSlot: classSlot)))
        if output != "false" {
            outputs.append(DerivedOutput(key: output, shape: .score(slot, classSlot: classSlot, classKey: classKey)))
        }
    }

    private mutating func compileStaging(_ node: YAMLNode) {
        guard var reader = MappingReader(node, what: "the staging section", sink: &sink) else { return }
        defer { reader.finish(sink: &sink) }
        _ = reader.node("notes")
        let output = reader.text("output", sink: &sink)?.value ?? "stage"
        var tables: [StagingTable] = []
        for item in reader.list("tables", required: true, sink: &sink) {
            if let table = stagingTable(item, seen: tables.map(\.edition)) { tables.append(table) }
        }
        let group = slots.add("\(output).group", .word(Vocabulary.stageGroups))
        let edition = slots.add("\(output).edition", .word(Vocabulary.editions))
        let from = slots.add("\(output).from", .word([]))
        derivations.append(
            Derivation(slot: group, kind: .staging(tables: tables, editionSlot: edition, fromSlot: from)))
        outputs.append(
            DerivedOutput(key: output, shape: .stage(groupSlot: group, editionSlot: edition, fromSlot: from)))
    }

    private mutating func stagingTable(_ node: YAMLNode, seen: [String]) -> StagingTable? {
        guard var reader = MappingReader(node, what: "a staging table", sink: &sink) else { return nil }
        defer { reader.finish(sink: &sink) }
        _ = reader.node("notes")
        guard let edition = reader.text("edition", required: true, sink: &sink) else { return nil }
        guard Vocabulary.editions.contains(edition.value) else {
            sink.error(
                edition.at, "unknown-vocabulary",
                "edition \"\(edition.value)\" is not one of \(Vocabulary.editions.joined(separator: ", "))")
            return nil
        }
        if seen.contains(edition.value) {
            sink.error(edition.at, "duplicate-staging-table", "edition \(edition.value) has two tables")
        }
        let cite = reader.text("cite", sink: &sink)?.value
        if cite == nil {
            sink.error(reader.location, "missing-citation", "staging table \(edition.value) needs \"cite\"")
        }
        var rows: [StagingTable.Row] = []
        var cells: [String: SourceLocation] = [:]
        for item in reader.list("rows", required: true, sink: &sink) {
            guard var row = MappingReader(item, what: "a staging row", sink: &sink) else { continue }
            _ = row.node("cite")
            let group = row.text("group", required: true, sink: &sink)
            if let group, !Vocabulary.stageGroups.contains(group.value) {
                sink.error(
                    group.at, "unknown-vocabulary",
                    "stage group \"\(group.value)\" is not one of \(Vocabulary.stageGroups.joined(separator: ", "))")
            }
            let t = categories(&row, "t", Vocabulary.tCategories)
            let n = categories(&row, "n", Vocabulary.nCategories)
            let m = categories(&row, "m", Vocabulary.mCategories)
            row.finish(sink: &sink)
            guard let group else { continue }
            for cell in t.flatMap({ t in n.flatMap { n in m.map { "\(t) \(n) \($0)" } } }) {
                if let first = cells[cell] {
                    sink.error(row.location, "staging-overlap", "\(cell) is already staged by the row at \(first)")
                } else {
                    cells[cell] = row.location
                }
            }
            rows.append(.init(group: group.value, t: t, n: n, m: m))
        }
        return StagingTable(edition: edition.value, cite: cite ?? "", rows: rows)
    }

    /// A row's T, N or M: one category, a list, or `any`.
    private mutating func categories(_ row: inout MappingReader, _ key: String, _ vocabulary: [String]) -> [String] {
        let values = row.texts(key, sink: &sink)
        if values.isEmpty { sink.error(row.location, "missing-key", "a staging row needs \"\(key)\"") }
        if values.map(\.value) == ["any"] { return vocabulary }
        for value in values where !vocabulary.contains(value.value) {
            sink.error(
                value.at, "unknown-vocabulary",
                "\"\(value.value)\" is not one of \(vocabulary.joined(separator: ", ")) or any")
        }
        return values.map(\.value)
    }
}
