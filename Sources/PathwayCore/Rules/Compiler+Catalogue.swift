import PathwayAPI

/// The catalogue of agents and procedures, the safety gates by option kind and modality, and what
/// every option inherits from them.
extension Compiler {
    /// Options of these kinds deliver anticancer treatment: each must name its regimen, and each
    /// kind must be covered by at least one safety gate.
    static let anticancerKinds: Set<String> = ["systemic", "surgery", "intracavitary", "trial-referral"]
    static let modalityIds = ["chemotherapy", "immunotherapy", "targeted", "surgery"]

    /// An entry of the catalogue before class closures are resolved.
    struct CatalogueDraft {
        var id: Located<String>
        var label: String
        var kind: CatalogueItem.Kind
        var parents: [Located<String>]
        var modality: String?
        var contraindications: [Contraindication]
        var cautions: [CautionV1]
    }

    mutating func declareCatalogue(_ node: YAMLNode, kind: CatalogueItem.Kind) {
        guard case .sequence(let items, _) = node else {
            return sink.error(node.location, "invalid-value", "the \(kind.rawValue) list must be a list")
        }
        for item in items {
            guard var reader = MappingReader(item, what: "a catalogue \(kind.rawValue)", sink: &sink) else { continue }
            defer { reader.finish(sink: &sink) }
            _ = reader.node("notes")
            guard let id = reader.text("id", required: true, sink: &sink) else { continue }
            if let first = catalogueDrafts.first(where: { $0.id.value == id.value }) {
                sink.error(
                    id.at, "duplicate-catalogue-id", "\"\(id.value)\" is already in the catalogue at \(first.id.at)")
                continue
            }
            if kind == .agent, !Vocabulary.drugs.contains(id.value) {
                sink.error(id.at, "unknown-vocabulary", "agent \"\(id.value)\" is not a drug id of the contract")
            }
            if reader.text("cite", sink: &sink) == nil {
                sink.error(id.at, "missing-citation", "\(kind.rawValue) \"\(id.value)\" needs \"cite\"")
            }
            let label = reader.text("label", required: true, sink: &sink)?.value ?? id.value
            let modality = reader.text("modality", sink: &sink)
            if let modality, !Self.modalityIds.contains(modality.value) {
                sink.error(
                    modality.at, "unknown-vocabulary",
                    "modality \"\(modality.value)\" is not one of \(Self.modalityIds.joined(separator: ", "))")
            }
            let parents = reader.node("classes").map { MappingReader.texts(of: $0, key: "classes", sink: &sink) } ?? []
            let contraindications = reader.list("contraindications", sink: &sink).compactMap {
                contraindication($0, origin: label)
            }
            let cautions = reader.list("cautions", sink: &sink).compactMap { caution($0)?.1 }
            catalogueDrafts.append(
                CatalogueDraft(
                    id: id, label: label, kind: kind, parents: parents, modality: modality?.value,
                    contraindications: contraindications, cautions: cautions))
        }
    }

    /// Resolves class membership transitively and freezes the catalogue.
    mutating func resolveCatalogue() {
        let byId = Dictionary(catalogueDrafts.map { ($0.id.value, $0) }, uniquingKeysWith: { a, _ in a })
        for draft in catalogueDrafts {
            for parent in draft.parents {
                guard let target = byId[parent.value] else {
                    sink.error(parent.at, "unknown-class", "\"\(parent.value)\" is not a class of the catalogue")
                    continue
                }
                if target.kind != .class {
                    sink.error(
                        parent.at, "unknown-class", "\"\(parent.value)\" is a \(target.kind.rawValue), not a class")
                }
            }
        }
        for draft in catalogueDrafts {
            var closure: [String] = [draft.id.value]
            var index = 0
            while index < closure.count {
                for parent in byId[closure[index]]?.parents ?? [] where byId[parent.value]?.kind == .class {
                    if parent.value == draft.id.value {
                        sink.error(parent.at, "class-cycle", "class \"\(draft.id.value)\" is its own ancestor")
                    } else if !closure.contains(parent.value) {
                        closure.append(parent.value)
                    }
                }
                index += 1
            }
            var seen: Set<String> = []
            let members = closure.compactMap { byId[$0] }
            let contraindications = members.flatMap(\.contraindications).filter { seen.insert($0.id).inserted }
            catalogue[draft.id.value] = CatalogueItem(
                id: draft.id.value, label: draft.label, kind: draft.kind, closure: Set(closure),
                modalities: Set(members.compactMap(\.modality)), contraindications: contraindications,
                cautions: members.flatMap(\.cautions))
        }
        var ids: [String: SourceLocation] = [:]
        for draft in catalogueDrafts {
            for item in draft.contraindications {
                if let first = ids[item.id] {
                    sink.error(
                        item.when.at, "duplicate-contraindication-id",
                        "contraindication \"\(item.id)\" is already declared at \(first)")
                }
                ids[item.id] = item.when.at
            }
        }
    }

    /// `{id, when, text, cite, unknown}`: what excludes when true, declared once.
    mutating func contraindication(_ node: YAMLNode, origin: String) -> Contraindication? {
        guard var reader = MappingReader(node, what: "a contraindication", sink: &sink) else { return nil }
        defer { reader.finish(sink: &sink) }
        _ = reader.node("notes")
        let id = reader.text("id", required: true, sink: &sink)
        let text = reader.text("text", required: true, sink: &sink)?.value
        let cite = reader.text("cite", sink: &sink)?.value
        if cite == nil {
            sink.error(reader.location, "missing-citation", "contraindication \"\(id?.value ?? "?")\" needs \"cite\"")
        }
        let whenUnknown = whenUnknown(&reader, default: nil)
        let when = reader.node("when").flatMap { condition($0, what: "a contraindication") }
        if reader.node("when") == nil {
            sink.error(reader.location, "missing-key", "a contraindication needs \"when\"")
        }
        if let when { refuseUnknownAsPass(when) }
        guard let id, let text, let cite, let when, let whenUnknown else { return nil }
        return Contraindication(
            id: id.value, when: when, text: text, cite: cite, whenUnknown: whenUnknown, origin: origin)
    }

    /// The `unknown` key: `needs-data` or `check-before-start`. Without a default it is required.
    mutating func whenUnknown(_ reader: inout MappingReader, default fallback: WhenUnknown?) -> WhenUnknown? {
        guard let text = reader.text("unknown", required: fallback == nil, sink: &sink) else { return fallback }
        guard let value = WhenUnknown(rawValue: text.value) else {
            sink.error(
                text.at, "unknown-vocabulary",
                "\"unknown\" must be needs-data or check-before-start, found \"\(text.value)\"")
            return nil
        }
        return value
    }

    /// `X is unknown` turns an unrecorded fact into `pass`. Requirements, criteria and
    /// contraindications say what an unrecorded fact means with `unknown:` instead.
    mutating func refuseUnknownAsPass(_ condition: Condition) {
        if condition.expr.containsIsUnknown {
            sink.error(
                condition.at, "unknown-as-pass",
                "\"\(condition.source)\" makes an unrecorded fact pass; write the condition without \"is unknown\" and say \"unknown: check-before-start\" where the source allows an offer before the fact is checked"
            )
        }
    }

    /// Gates first, then the catalogue's contraindications, each once.
    var declaredContraindications: [Contraindication] {
        var seen: Set<String> = []
        let all =
            kindGates.map(\.gate) + Self.modalityIds.flatMap { modalityGates[$0] ?? [] }
            + catalogueDrafts.flatMap(\.contraindications)
        return all.filter { seen.insert($0.id).inserted }
    }

    // MARK: Safety gates

    /// `gates: [{id, kinds, when, text, cite, unknown}]`: contraindications by kind of option.
    mutating func declareGates(_ node: YAMLNode) {
        guard case .sequence(let items, _) = node else {
            return sink.error(node.location, "invalid-value", "\"gates\" must be a list")
        }
        for item in items {
            guard case .mapping(let pairs, let at) = item else {
                sink.error(item.location, "invalid-value", "a gate must be a mapping, found \(item.shape)")
                continue
            }
            guard let kindsNode = pairs.first(where: { $0.key == "kinds" })?.value else {
                sink.error(at, "missing-key", "a gate needs \"kinds\" (the option kinds it applies to)")
                continue
            }
            let kinds = MappingReader.texts(of: kindsNode, key: "kinds", sink: &sink)
            for kind in kinds where !Self.optionKinds.contains(kind.value) {
                sink.error(
                    kind.at, "unknown-vocabulary",
                    "option kind \"\(kind.value)\" is not one of \(Self.optionKinds.joined(separator: ", "))")
            }
            let rest = YAMLNode.mapping(pairs.filter { $0.key != "kinds" }, at)
            guard let gate = contraindication(rest, origin: "safety gate") else { continue }
            kindGates.append((Set(kinds.map(\.value)), gate))
        }
    }

    /// `modalities: [{id, label, gates: [...]}]`: what a refusal or an unfit verdict excludes.
    mutating func declareModalities(_ node: YAMLNode) {
        guard case .sequence(let items, _) = node else {
            return sink.error(node.location, "invalid-value", "\"modalities\" must be a list")
        }
        for item in items {
            guard var reader = MappingReader(item, what: "a modality", sink: &sink) else { continue }
            defer { reader.finish(sink: &sink) }
            guard let id = reader.text("id", required: true, sink: &sink) else { continue }
            if !Self.modalityIds.contains(id.value) {
                sink.error(
                    id.at, "unknown-vocabulary",
                    "modality \"\(id.value)\" is not one of \(Self.modalityIds.joined(separator: ", "))")
            }
            let label = reader.text("label", sink: &sink)?.value ?? id.value
            let gates = reader.list("gates", required: true, sink: &sink).compactMap {
                contraindication($0, origin: label)
            }
            modalityGates[id.value, default: []] += gates
        }
    }

    // MARK: Regimens

    /// `regimen: [pembrolizumab, {anyOf: [cisplatin, carboplatin]}, pemetrexed]`.
    mutating func regimen(_ node: YAMLNode) -> [RegimenGroup] {
        guard case .sequence(let items, _) = node else {
            sink.error(node.location, "invalid-value", "\"regimen\" must be a list of catalogue ids")
            return []
        }
        return items.compactMap { item -> RegimenGroup? in
            var ids: [Located<String>]
            if case .mapping = item {
                guard var reader = MappingReader(item, what: "a regimen alternative", sink: &sink) else { return nil }
                defer { reader.finish(sink: &sink) }
                ids = reader.node("anyOf").map { MappingReader.texts(of: $0, key: "anyOf", sink: &sink) } ?? []
                if ids.count < 2 {
                    sink.error(reader.location, "invalid-value", "\"anyOf\" needs at least two catalogue ids")
                }
            } else {
                ids = MappingReader.texts(of: item, key: "regimen", sink: &sink)
            }
            let group = ids.compactMap { id -> CatalogueItem? in
                guard let found = catalogue[id.value] else {
                    sink.error(id.at, "unknown-agent", "\"\(id.value)\" is not an agent or procedure of the catalogue")
                    return nil
                }
                if found.kind == .class {
                    sink.error(
                        id.at, "unknown-agent", "\"\(id.value)\" is a class; name its agents (anyOf for alternatives)")
                }
                return found
            }
            return group.count == ids.count && !group.isEmpty ? group : nil
        }
    }

    /// Everything an option inherits: gates of its kind, gates of its regimen's modalities, and the
    /// contraindications and cautions of every item. Alternatives are excluded only together.
    func inherited(kind: String, regimen: [RegimenGroup]) -> (requirements: [Requirement], cautions: [CautionV1]) {
        var seen: Set<String> = []
        var requirements: [Requirement] = []
        func add(_ contraindication: Contraindication) {
            if seen.insert(contraindication.id).inserted { requirements.append(contraindication.requirement) }
        }
        for (kinds, gate) in kindGates where kinds.contains(kind) { add(gate) }
        let modalities = regimen.reduce(into: Set<String>()) { set, group in
            for item in group { set.formUnion(item.modalities) }
        }
        for modality in Self.modalityIds where modalities.contains(modality) {
            for gate in modalityGates[modality] ?? [] { add(gate) }
        }
        var cautions: [CautionV1] = []
        for group in regimen {
            for item in group { cautions += item.cautions.filter { !cautions.contains($0) } }
            guard group.count > 1 else {
                group.first?.contraindications.forEach(add)
                continue
            }
            // Shared contraindications apply as they are; the rest only when every alternative has one.
            let sharedIds = group.dropFirst().reduce(Set(group[0].contraindications.map(\.id))) {
                $0.intersection($1.contraindications.map(\.id))
            }
            group[0].contraindications.filter { sharedIds.contains($0.id) }.forEach(add)
            let remainders = group.map { $0.contraindications.filter { !sharedIds.contains($0.id) } }
            if let combined = alternatives(group, remainders) { requirements.append(combined) }
        }
        return (requirements, cautions)
    }

    /// One requirement for a group of alternatives: at least one of them has none of its own
    /// contraindications.
    private func alternatives(_ group: RegimenGroup, _ remainders: [[Contraindication]]) -> Requirement? {
        guard remainders.allSatisfy({ !$0.isEmpty }) else { return nil }
        let branches = remainders.map { items in
            items.dropFirst().reduce(Expr.not(items[0].when.expr)) { .binary(.and, $0, .not($1.when.expr)) }
        }
        let expr = branches.dropFirst().reduce(branches[0]) { .binary(.or, $0, $1) }
        let source = remainders.map { items in items.map { "not (\($0.when.source))" }.joined(separator: " and ") }
            .map { "(\($0))" }.joined(separator: " or ")
        let names = group.map(\.label).joined(separator: " or ")
        let text =
            "At least one of \(names) without its own contraindication (excluded if: "
            + remainders.flatMap { $0.map(\.text) }.joined(separator: "; ") + ")"
        let strict = remainders.joined().contains { $0.whenUnknown == .needsData }
        let cites = Set(remainders.joined().map(\.cite)).sorted().joined(separator: "; ")
        return Requirement(
            Condition(expr: expr, source: source, text: text, at: remainders[0][0].when.at),
            whenUnknown: strict ? .needsData : .checkBeforeStart, cite: cites,
            inheritedFrom: remainders.joined().map(\.id))
    }
}

extension Expr {
    /// Whether the expression can turn an unknown into true: `X is unknown`, or `not (X is known)`.
    var containsIsUnknown: Bool {
        switch self {
        case .isKnown(_, let negated): negated
        case .not(.isKnown(_, false)): true
        case .not(let inner), .negate(let inner): inner.containsIsUnknown
        case .binary(_, let lhs, let rhs): lhs.containsIsUnknown || rhs.containsIsUnknown
        case .conditional(let a, let b, let c): a.containsIsUnknown || b.containsIsUnknown || c.containsIsUnknown
        case .aggregate(_, let inner): inner.containsIsUnknown
        case .call(_, let arguments, _): arguments.contains { $0.containsIsUnknown }
        case .inList(let lhs, let items, _): lhs.containsIsUnknown || items.contains { $0.containsIsUnknown }
        case .between(let a, let b, let c): a.containsIsUnknown || b.containsIsUnknown || c.containsIsUnknown
        case .has(let lhs, let items, _): lhs.containsIsUnknown || items.contains { $0.containsIsUnknown }
        case .name, .literal, .slot, .field: false
        }
    }
}
