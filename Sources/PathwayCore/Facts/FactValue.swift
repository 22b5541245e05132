/// The value of one fact. Numbers are in the canonical unit of their fact.
public enum FactValue: Sendable, Hashable, CustomStringConvertible {
    case number(Double)
    case word(String)
    case bool(Bool)
    case instant(Instant)

    public var description: String {
        switch self {
        case .number(let value): formatNumber(value)
        case .word(let value): value
        case .bool(let value): value ? "true" : "false"
        case .instant(let value): value.description
        }
    }
}

/// Numbers as a person writes them: `64`, `1.75`, `72.3`, never `64.0` or `1.7500000001`.
func formatNumber(_ value: Double) -> String {
    if value.rounded() == value, abs(value) < 1e15 { return String(Int64(value)) }
    let rounded = (value * 10_000).rounded() / 10_000
    return String(rounded)
}

/// The static type of a fact, used by the rule compiler to catch type mismatches.
public enum FactType: Sendable, Hashable, CustomStringConvertible {
    case number
    case bool
    case instant
    /// A word from a closed vocabulary; an empty vocabulary accepts any word.
    case word([String])

    public var description: String {
        switch self {
        case .number: "number"
        case .bool: "boolean"
        case .instant: "date"
        case .word: "word"
        }
    }
}
