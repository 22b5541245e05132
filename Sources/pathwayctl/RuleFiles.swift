import Foundation
import PathwayCore
import PathwayRulesIO

extension RuleDirectory {
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
