/// Where something is in a rule source. Lines and columns count from 1.
public struct SourceLocation: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public static func < (lhs: SourceLocation, rhs: SourceLocation) -> Bool {
        (lhs.file, lhs.line, lhs.column) < (rhs.file, rhs.line, rhs.column)
    }

    public var description: String { "\(file):\(line):\(column)" }

    func offset(by columns: Int) -> SourceLocation {
        SourceLocation(file: file, line: line, column: column + columns)
    }
}

/// One problem in a rule set, printed as `file:line:column: error: code: message`.
public struct Diagnostic: Error, Sendable, Hashable, Comparable, CustomStringConvertible {
    public enum Severity: String, Sendable, Hashable { case error, warning }

    public var location: SourceLocation
    public var severity: Severity
    /// A stable kebab-case code (`unknown-fact`, `duplicate-option-id` …), listed in docs/rules.md.
    public var code: String
    public var message: String

    public init(_ location: SourceLocation, _ code: String, _ message: String, severity: Severity = .error) {
        self.location = location
        self.severity = severity
        self.code = code
        self.message = message
    }

    public static func < (lhs: Diagnostic, rhs: Diagnostic) -> Bool {
        (lhs.location, lhs.code, lhs.message) < (rhs.location, rhs.code, rhs.message)
    }

    public var description: String { "\(location): \(severity.rawValue): \(code): \(message)" }
}

/// Collects every problem of one compilation; nothing stops at the first.
struct DiagnosticSink {
    private(set) var diagnostics: [Diagnostic] = []

    mutating func error(_ at: SourceLocation, _ code: String, _ message: String) {
        diagnostics.append(Diagnostic(at, code, message))
    }

    mutating func warning(_ at: SourceLocation, _ code: String, _ message: String) {
        diagnostics.append(Diagnostic(at, code, message, severity: .warning))
    }

    mutating func append(_ diagnostic: Diagnostic) { diagnostics.append(diagnostic) }

    var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }
}
