import Crypto
import PathwayAPI

/// The outcome of compiling a rule set: the rules when there is no error, and every diagnostic.
public struct CompileResult: Sendable {
    public var rules: CompiledRules?
    /// Sorted by file, line and column.
    public var diagnostics: [Diagnostic]

    public var errors: [Diagnostic] { diagnostics.filter { $0.severity == .error } }
}

/// Compiles rule packs (YAML sources) into `CompiledRules`, reporting every problem at once.
public enum RuleCompiler {
    /// Compiles `sources`. Pure: the same sources always give the same rules and revision.
    public static func compile(_ sources: [RuleSource]) -> CompileResult {
        var compiler = Compiler()
        let rules = compiler.run(sources)
        // A YAML alias used in three places reports its problem once, not three times.
        return CompileResult(rules: rules, diagnostics: Array(Set(compiler.sink.diagnostics)).sorted())
    }

    /// `sha256:` over the sources in name order, each as its name and contents separated by NUL.
    public static func revision(of sources: [RuleSource]) -> String {
        var hasher = SHA256()
        for source in sources.sorted(by: { $0.name < $1.name }) {
            hasher.update(data: Array(source.name.utf8) + [0] + Array(source.contents.utf8) + [0])
        }
        return "sha256:"
            + hasher.finalize().map { byte in
                let hex = String(byte, radix: 16)
                return byte < 16 ? "0" + hex : hex
            }.joined()
    }
}

/// The state of one compilation. Sections are compiled in dependency order: declarations first
/// (so any pack may use what another declares), then derived facts on demand, trials, pathways,
/// alerts, terminology and finally the packs' own test cases.
struct Compiler {
    var sink = DiagnosticSink()
    var slots = SlotTable()
    var derivedDeclarations: [DerivedDeclaration] = []
    var derivedByFact: [String: Int] = [:]
    var derivations: [Derivation] = []
    var outputs: [DerivedOutput] = []
    var parameters: [Parameter] = []
    var trials: [Trial] = []
    var pathways: [Pathway] = []
    var alerts: [AlertRule] = []
    var terminology: [TerminologyEntry] = []
    var tests: [PackTest] = []
    var nowSlot = 0
    var catalogueDrafts: [CatalogueDraft] = []
    var catalogue: [String: CatalogueItem] = [:]
    var kindGates: [(kinds: Set<String>, gate: Contraindication)] = []
    var modalityGates: [String: [Contraindication]] = [:]
    var invariants: [Invariant] = []
    var references: [Reference] = []

    private var packs: [RulesInfoV1.Pack] = []
    private var sections: [(section: String, node: YAMLNode)] = []

    mutating func run(_ sources: [RuleSource]) -> CompiledRules? {
        for name in FactCatalog.types.keys.sorted() { slots.add(name, ValueType(FactCatalog.types[name]!)) }
        nowSlot = slots.add("now", .instant)

        var packLocations: [String: SourceLocation] = [:]
        for source in sources.sorted(by: { $0.name < $1.name }) {
            switch YAMLNode.parse(source) {
            case .failure(let diagnostic): sink.append(diagnostic)
            case .success(let root): readPack(root, file: source.name, seen: &packLocations)
            }
        }
        if packs.isEmpty, !sink.hasErrors {
            sink.error(SourceLocation(file: "<rules>", line: 1, column: 1), "no-packs", "the rule set holds no pack")
        }
        compileSections()
        guard !sink.hasErrors else { return nil }
        return CompiledRules(
            revision: RuleCompiler.revision(of: sources), packs: packs.sorted { $0.id < $1.id }, tests: tests,
            terminology: terminology, slots: slots, missingNames: MissingFactNames(slots),
            slotsAlone: slots.names.indices.map { [$0] }, nowSlot: nowSlot,
            closedWorldDefaults: FactCatalog.closedWorldDefaults.compactMap { name, value in
                slots.index[name].map { (slot: $0, value: value) }
            }.sorted { $0.slot < $1.slot },
            derivations: derivations, outputs: outputs,
            pathways: pathways, trials: trials, alerts: alerts, parameters: parameters, invariants: invariants,
            contraindications: declaredContraindications,
            contraindicationFacts: declaredContraindications.reduce(into: Set<Int>()) {
                $0.formUnion($1.when.expr.slotsRead)
            }.filter { slot in
                if case .word(let words) = slots.types[slot] {
                    return words.contains("present") && words.contains("absent")
                }
                return false
            }.sorted { slots.names[$0] < slots.names[$1] })
    }

    /// Reads a pack's header and files its sections for later; declares parameters and derived facts.
    private mutating func readPack(_ root: YAMLNode, file: String, seen: inout [String: SourceLocation]) {
        if case .null = root { return sink.error(root.location, "invalid-value", "\(file) is empty") }
        guard var pack = MappingReader(root, what: "a pack", sink: &sink) else { return }
        if let id = pack.text("pack", required: true, sink: &sink) {
            if let first = seen[id.value] {
                sink.error(id.at, "duplicate-pack-id", "pack \"\(id.value)\" is already defined at \(first)")
            } else {
                seen[id.value] = id.at
                let version = pack.text("version", required: true, sink: &sink)?.value ?? "?"
                packs.append(.init(id: id.value, version: version))
            }
        }
        _ = pack.node("title")
        _ = pack.node("notes")
        _ = pack.node("sources")
        _ = pack.node("fixtures")  // YAML anchors shared by the pack's tests
        for item in pack.list("references", sink: &sink) { declareReference(item) }
        for item in pack.list("parameters", sink: &sink) { declareParameter(item) }
        for item in pack.list("derive", sink: &sink) { declareDerived(item) }
        if let staging = pack.node("staging") { declareStaging(staging) }
        for key in [
            "classes", "agents", "procedures", "gates", "modalities", "pathway", "trials", "invariants", "alerts",
            "terminology", "tests",
        ] {
            if let node = pack.node(key) { sections.append((key, node)) }
        }
        pack.finish(sink: &sink)
    }

    private mutating func compileSections() {
        for index in derivedDeclarations.indices { compileDerived(index) }
        // The catalogue and the gates before pathways: options inherit from them.
        for (section, node) in sections {
            switch section {
            case "classes": declareCatalogue(node, kind: .class)
            case "agents": declareCatalogue(node, kind: .agent)
            case "procedures": declareCatalogue(node, kind: .procedure)
            case "gates": declareGates(node)
            case "modalities": declareModalities(node)
            default: break
            }
        }
        resolveCatalogue()
        // Trials before pathways: options refer to trials by id.
        for (section, node) in sections where section == "trials" { compileTrials(node) }
        for (section, node) in sections where section == "pathway" { compilePathway(node) }
        for (section, node) in sections where section == "invariants" { compileInvariants(node) }
        for (section, node) in sections where section == "alerts" { compileAlerts(node) }
        for (section, node) in sections where section == "terminology" { compileTerminology(node) }
        for (section, node) in sections where section == "tests" { compileTests(node) }
    }

    private mutating func declareParameter(_ node: YAMLNode) {
        guard var reader = MappingReader(node, what: "a parameter", sink: &sink) else { return }
        defer { reader.finish(sink: &sink) }
        _ = reader.node("notes")
        _ = reader.node("cite")
        guard let id = reader.text("id", required: true, sink: &sink) else { return }
        let values = reader.texts("values", sink: &sink).map(\.value)
        guard let defaultValue = reader.text("default", required: true, sink: &sink) else { return }
        if values.isEmpty {
            return sink.error(reader.location, "missing-key", "parameter \"\(id.value)\" needs \"values\"")
        }
        guard values.contains(defaultValue.value) else {
            return sink.error(
                defaultValue.at, "unknown-vocabulary",
                "default \"\(defaultValue.value)\" is not one of \(values.joined(separator: ", "))")
        }
        let name = "param.\(id.value)"
        guard slots.index[name] == nil else {
            return sink.error(id.at, "duplicate-parameter", "parameter \"\(id.value)\" is declared twice")
        }
        parameters.append(
            Parameter(
                id: id.value, slot: slots.add(name, .word(values)), values: values, defaultValue: defaultValue.value))
    }
}
