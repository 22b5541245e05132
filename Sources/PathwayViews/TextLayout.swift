/// Lines for a terminal of a given width: nothing wider, nothing silently lost (a cut line ends in `…`).
public struct TextLayout: Sendable {
    public let width: Int
    public private(set) var lines: [String] = []

    public init(width: Int = 100) { self.width = width }

    /// Adds a line, cut to the width.
    public mutating func line(_ text: String = "") { lines.append(Self.clip(text, width)) }

    /// Adds text wrapped at word boundaries, continuation lines indented by `indent`.
    public mutating func wrapped(_ text: String, indent: Int = 0, maxLines: Int = 3) {
        var current = ""
        var produced: [String] = []
        for word in text.split(separator: " ", omittingEmptySubsequences: true) {
            let candidate = current.isEmpty ? String(word) : current + " " + word
            if candidate.count > width, !current.isEmpty {
                produced.append(current)
                current = String(repeating: " ", count: indent) + word
            } else {
                current = candidate
            }
        }
        if !current.isEmpty { produced.append(current) }
        if produced.count > maxLines {
            produced = Array(produced.prefix(maxLines))
            produced[maxLines - 1] += "…"
        }
        for text in produced { line(text) }
    }

    public var text: String { lines.joined(separator: "\n") }

    public static func clip(_ text: String, _ width: Int) -> String {
        text.count <= width ? text : String(text.prefix(width - 1)) + "…"
    }

    public static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}
