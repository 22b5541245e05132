import Foundation
import PathwayCore

/// Reads every `.yaml`/`.yml` file below a rules directory, in name order. Source names are the
/// paths relative to the directory, so the revision does not depend on where the directory lives.
public enum RuleDirectory {
    public static func load(_ directory: String) throws(RuleDirectoryError) -> [RuleSource] {
        let root = URL(fileURLWithPath: directory, isDirectory: true).standardizedFileURL
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory), isDirectory.boolValue,
            let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey])
        else {
            throw RuleDirectoryError("cannot read rules directory \(directory)")
        }
        var sources: [RuleSource] = []
        for case let url as URL in enumerator where ["yaml", "yml"].contains(url.pathExtension) {
            let relative = String(url.standardizedFileURL.path.dropFirst(root.path.count + 1))
            guard let contents = try? String(contentsOf: url, encoding: .utf8) else {
                throw RuleDirectoryError("cannot read \(relative) in \(directory) as UTF-8 text")
            }
            sources.append(RuleSource(name: relative, contents: contents))
        }
        guard !sources.isEmpty else { throw RuleDirectoryError("no .yaml files in \(directory)") }
        return sources.sorted { $0.name < $1.name }
    }
}

public struct RuleDirectoryError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
