import Foundation
import Logging

/// Log lines for stderr, with a syslog priority prefix (`<3>` for error …) when stderr is the
/// systemd journal (`JOURNAL_STREAM` set), so that `journalctl -p err` finds refused reloads and
/// integrity failures. Without the journal, lines carry a timestamp and the level instead.
public struct JournalLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private let journal: Bool

    public init(label: String, journal: Bool = ProcessInfo.processInfo.environment["JOURNAL_STREAM"] != nil) {
        self.label = label
        self.journal = journal
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// The syslog priority of a level (RFC 5424 severities).
    public static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    public func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        let fields =
            merged.isEmpty
            ? "" : " " + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let text = "\(event.message)\(fields)".replacingOccurrences(of: "\n", with: " ")
        let line =
            journal
            ? "<\(Self.priority(event.level))>\(label): \(text)\n"
            : "\(Date().formatted(.iso8601)) \(event.level) \(label): \(text)\n"
        FileHandle.standardError.write(Data(line.utf8))
    }
}
