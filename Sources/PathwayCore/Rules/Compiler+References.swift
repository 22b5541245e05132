import PathwayAPI

/// One entry of the packs' `references` table: a document the packs cite, its title and link.
struct Reference: Sendable {
    let id: String
    /// The first word of a `cite` that names this document (`001_b0bd000805831fe3.txt`, `000`,
    /// `clinical.md`).
    let cites: [String]
    let title: String
    let url: String?
}

extension Compiler {
    /// `references: [{id, cites: [...], title, url}]`: declared while packs are read, so that every
    /// section compiled after may resolve its citations.
    mutating func declareReference(_ node: YAMLNode) {
        guard var reader = MappingReader(node, what: "a reference", sink: &sink) else { return }
        defer { reader.finish(sink: &sink) }
        _ = reader.node("notes")
        guard let id = reader.text("id", required: true, sink: &sink),
            let title = reader.text("title", required: true, sink: &sink)
        else { return }
        if references.contains(where: { $0.id == id.value }) {
            sink.error(id.at, "duplicate-reference-id", "reference \"\(id.value)\" is defined twice")
        }
        let url = reader.text("url", sink: &sink)
        if let url, !url.value.hasPrefix("https://") {
            sink.error(url.at, "invalid-value", "a reference's url must be an https:// address, found \"\(url.value)\"")
        }
        let cites = reader.texts("cites", sink: &sink)
        for cite in cites where references.contains(where: { $0.cites.contains(cite.value) }) {
            sink.error(cite.at, "duplicate-reference-id", "\"\(cite.value)\" already names another reference")
        }
        references.append(Reference(id: id.value, cites: cites.map(\.value), title: title.value, url: url?.value))
    }

    /// The document a `cite` names, by its first word: `001_….txt — Section` becomes the PDQ's
    /// title followed by the section. Without a references table (a revision archived before it
    /// existed) nothing is resolved; with one, a citation it cannot resolve is an error.
    mutating func resolve(cite: String, at location: SourceLocation) -> ReferenceV1? {
        guard !references.isEmpty else { return nil }
        let token = cite.prefix { $0 != " " && $0 != ";" && $0 != "," }
        guard let reference = references.first(where: { $0.cites.contains(String(token)) }) else {
            sink.error(
                location, "unresolved-citation",
                "cite \"\(cite)\" names no document of the references table (its first word \"\(token)\" is not listed under any reference's cites)"
            )
            return nil
        }
        var rest = cite.dropFirst(token.count).drop { $0 == " " }
        if rest.hasPrefix("—") { rest = rest.dropFirst().drop { $0 == " " } }
        return ReferenceV1(title: rest.isEmpty ? reference.title : reference.title + " — " + rest, url: reference.url)
    }

    /// A reference named by id (`ref:` of an evidence entry: a guideline cited through a summary).
    mutating func reference(named id: String, at location: SourceLocation) -> Reference? {
        guard let reference = references.first(where: { $0.id == id }) else {
            sink.error(location, "unknown-reference", "no reference \"\(id)\" in the references table")
            return nil
        }
        return reference
    }
}

/// The registry page of an NCT id.
func registryURL(_ nct: String) -> String { "https://clinicaltrials.gov/study/" + nct }
