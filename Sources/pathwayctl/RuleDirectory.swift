import Foundation
import PathwayCore

/// Reads every `.yaml`/`.yml` file below a rules directory, in name order. Source names are the
/// paths relative to the directory, so the revision does not depend on where the directory lives.
enum RuleDirectory {
    static func load(_ directory: String) throws -> [RuleSource] {
        let root = URL(fileURLWithPath: directory, isDirectory: true).standardizedFileURL
        guard let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey]) else {
            throw CLIError("cannot read rules directory \(directory)")
        }
        var sources: [RuleSource] = []
        for case let url as URL in enumerator where ["yaml", "yml"].contains(url.pathExtension) {
            let relative = String(url.standardizedFileURL.path.dropFirst(root.path.count + 1))
            let contents = try String(contentsOf: url, encoding: .utf8)
            sources.append(RuleSource(name: relative, contents: contents))
        }
        guard !sources.isEmpty else { throw CLIError("no .yaml files in \(directory)") }
        return sources.sorted { $0.name < $1.name }
    }

    /// Compiles the directory, printing every diagnostic; returns nil when there are errors.
    static func compile(_ directory: String, quiet: Bool = false) throws -> CompiledRules? {
        let result = RuleCompiler.compile(try load(directory))
        let prefix = directory.hasSuffix("/") ? directory : directory + "/"
        for diagnostic in result.diagnostics where !quiet || diagnostic.severity == .error {
            printError(prefix + diagnostic.description)
        }
        return result.rules
    }
}

struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
