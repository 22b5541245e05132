extension CompiledRules {
    /// The safety matrix as Markdown: every gate and contraindication with its source, then which of
    /// them each option inherits. Generated from the compiled rules, so it cannot drift from them.
    public var safetyMatrix: String {
        func cell(_ text: String) -> String { text.replacingOccurrences(of: "|", with: "\\|") }
        var lines = [
            "### Gates and contraindications (declared once)", "",
            "| id | excludes when | unrecorded | declared by | source |", "| --- | --- | --- | --- | --- |",
        ]
        for item in contraindications {
            lines.append(
                "| \(item.id) | `\(cell(item.when.source))` | \(item.whenUnknown.rawValue) | \(cell(item.origin)) | \(cell(item.cite)) |"
            )
        }
        lines += [
            "", "### Options × contraindications", "",
            "Each cell lists what the option inherits; the source of each entry is in the table above.", "",
            "| pathway | option | kind | regimen | needs-data while unrecorded | check before starting |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for pathway in pathways {
            for option in pathway.options where !option.regimen.isEmpty {
                let regimen = option.regimen.map { $0.map(\.id).joined(separator: " or ") }.joined(separator: " + ")
                func ids(_ mode: WhenUnknown) -> String {
                    option.requires.filter { $0.whenUnknown == mode }.flatMap(\.inheritedFrom).joined(separator: ", ")
                }
                lines.append(
                    "| \(pathway.id) | \(option.id) | \(option.kind) | \(regimen) | \(ids(.needsData)) | \(ids(.checkBeforeStart)) |"
                )
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
