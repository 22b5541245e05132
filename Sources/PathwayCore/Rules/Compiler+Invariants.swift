extension Compiler {
    static let invariantChecks = ["offered-without-failing-reason", "trial-status-matches-criteria"]

    /// `invariants: [{id, text, cite, options: {kinds|containing|modality|pathway}, never}]` or
    /// `{id, text, cite, check}` for the built-in checks of evaluation documents.
    mutating func compileInvariants(_ node: YAMLNode) {
        guard case .sequence(let items, _) = node else {
            return sink.error(node.location, "invalid-value", "\"invariants\" must be a list")
        }
        for item in items {
            guard var reader = MappingReader(item, what: "an invariant", sink: &sink) else { continue }
            defer { reader.finish(sink: &sink) }
            _ = reader.node("notes")
            guard let id = reader.text("id", required: true, sink: &sink) else { continue }
            if invariants.contains(where: { $0.id == id.value }) {
                sink.error(id.at, "duplicate-invariant-id", "invariant \"\(id.value)\" is defined twice")
            }
            let text = reader.text("text", required: true, sink: &sink)?.value
            let cite = reader.text("cite", sink: &sink)?.value
            if cite == nil { sink.error(id.at, "missing-citation", "invariant \"\(id.value)\" needs \"cite\"") }
            let check: Invariant.Check?
            if let name = reader.text("check", sink: &sink) {
                switch name.value {
                case "offered-without-failing-reason": check = .offeredWithoutFailingReason
                case "trial-status-matches-criteria": check = .trialStatusMatchesCriteria
                default:
                    sink.error(
                        name.at, "unknown-vocabulary",
                        "check \"\(name.value)\" is not one of \(Self.invariantChecks.joined(separator: ", "))")
                    check = nil
                }
            } else {
                check = neverCheck(&reader, id: id)
            }
            guard let text, let cite, let check else { continue }
            invariants.append(Invariant(id: id.value, text: text, cite: cite, check: check, at: id.at))
        }
    }

    private mutating func neverCheck(_ reader: inout MappingReader, id: Located<String>) -> Invariant.Check? {
        guard let never = reader.text("never", required: true, sink: &sink),
            var options = reader.node("options").flatMap({
                MappingReader($0, what: "an invariant's options", sink: &sink)
            })
        else {
            if reader.node("options") == nil {
                sink.error(id.at, "missing-key", "invariant \"\(id.value)\" needs \"options\" or \"check\"")
            }
            return nil
        }
        defer { options.finish(sink: &sink) }
        if let containing = options.text("containing", sink: &sink) {
            guard containing.value == "each" else {
                if catalogue[containing.value] == nil {
                    sink.error(containing.at, "unknown-agent", "\"\(containing.value)\" is not in the catalogue")
                }
                return condition(never).map { .never(.containing(containing.value), $0) }
            }
            // `{item}` stands for each agent or class whose id is a drug id (allergy.{item}).
            if !never.value.contains("{item}") {
                sink.error(never.at, "invalid-value", "with \"containing: each\", \"never\" must use {item}")
            }
            let items = catalogue.keys.filter { Vocabulary.drugs.contains($0) }.sorted()
            return .neverForEach(
                items.compactMap { item -> (item: String, condition: Condition)? in
                    condition(Located(never.value.replacingOccurrences(of: "{item}", with: item), never.at)).map {
                        (item, $0)
                    }
                })
        } else if let modality = options.text("modality", sink: &sink) {
            if !Self.modalityIds.contains(modality.value) {
                sink.error(
                    modality.at, "unknown-vocabulary",
                    "modality \"\(modality.value)\" is not one of \(Self.modalityIds.joined(separator: ", "))")
            }
            return condition(never).map { .never(.modality(modality.value), $0) }
        } else if let pathway = options.text("pathway", sink: &sink) {
            return condition(never).map { .never(.pathway(pathway.value), $0) }
        } else if let kinds = options.node("kinds") {
            let names = MappingReader.texts(of: kinds, key: "kinds", sink: &sink)
            for kind in names where !Self.optionKinds.contains(kind.value) {
                sink.error(
                    kind.at, "unknown-vocabulary",
                    "option kind \"\(kind.value)\" is not one of \(Self.optionKinds.joined(separator: ", "))")
            }
            return condition(never).map { .never(.kinds(Set(names.map(\.value))), $0) }
        }
        sink.error(
            options.location, "missing-key", "an invariant's options need kinds, containing, modality or pathway")
        return nil
    }

    private mutating func condition(_ never: Located<String>) -> Condition? {
        guard let (expr, _) = expression(never.value, at: never.at, expecting: .bool) else { return nil }
        return Condition(expr: expr, source: never.value, text: nil, at: never.at)
    }
}
