/// The result of evaluating an expression: a value, or unknown with the facts that would decide it.
///
/// Missing facts are kept as slot numbers (treatment-line fields as negative numbers) and named only
/// when the document is built, so that evaluation allocates little.
enum Outcome: Sendable, Equatable {
    case known(FactValue)
    case unknown([Int])

    static let `true` = Outcome.known(.bool(true))
    static let `false` = Outcome.known(.bool(false))

    var bool: Bool? {
        if case .known(.bool(let value)) = self { return value }
        return nil
    }

    var missing: [Int] {
        if case .unknown(let missing) = self { return missing }
        return []
    }

    /// The result word of contract §5: `pass`, `fail` or `unknown`.
    var result: String {
        switch bool {
        case true?: "pass"
        case false?: "fail"
        case nil: "unknown"
        }
    }

    /// Strong Kleene conjunction: false wins, then unknown (collecting what is missing), then true.
    static func all(_ outcomes: some Sequence<Outcome>) -> Outcome {
        var missing: [Int] = []
        var unknown = false
        for outcome in outcomes {
            switch outcome {
            case .known(.bool(false)): return .false
            case .unknown(let m):
                unknown = true
                missing.append(contentsOf: m)
            default: break
            }
        }
        return unknown ? .unknown(missing) : .true
    }

    /// `lhs and rhs` without building a list.
    static func both(_ lhs: Outcome, _ rhs: Outcome) -> Outcome {
        switch (lhs, rhs) {
        case (.known(.bool(false)), _), (_, .known(.bool(false))): .false
        case (.unknown(let a), .unknown(let b)): .unknown(a + b)
        case (.unknown, _): lhs
        case (_, .unknown): rhs
        default: .true
        }
    }

    /// `lhs or rhs` without building a list.
    static func either(_ lhs: Outcome, _ rhs: Outcome) -> Outcome {
        switch (lhs, rhs) {
        case (.known(.bool(true)), _), (_, .known(.bool(true))): .true
        case (.unknown(let a), .unknown(let b)): .unknown(a + b)
        case (.unknown, _): lhs
        case (_, .unknown): rhs
        default: .false
        }
    }

    var negated: Outcome {
        switch self {
        case .known(.bool(let value)): .known(.bool(!value))
        default: self
        }
    }
}
