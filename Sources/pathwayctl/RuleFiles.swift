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

/// Reads a file the user named, with an error that says what is wrong in their words (not
/// Foundation's `NSCocoaErrorDomain Code=260`).
func readUserFile(_ path: String, what: String) throws -> Data {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        throw CLIError("\(what) \(path) does not exist")
    }
    if isDirectory.boolValue { throw CLIError("\(what) \(path) is a directory, not a file") }
    guard FileManager.default.isReadableFile(atPath: path) else {
        throw CLIError("\(what) \(path) cannot be read: permission denied")
    }
    do { return try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
        throw CLIError("\(what) \(path) cannot be read: \(error.localizedDescription)")
    }
}
