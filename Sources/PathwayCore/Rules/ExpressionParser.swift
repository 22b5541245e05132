/// Parses the expression language (docs/rules.md):
///
///     expr   := or
///     or     := and ('or' and)*         (an `or` of bare `and`s must be parenthesised)
///     and    := not ('and' not)*
///     not    := 'not' not | test
///     test   := sum ( cmp sum | ['not'] 'in' list | 'between' sum 'and' sum
///                   | 'is' ['not'] ('known' | 'unknown') | ('has' | 'has-any') (list | sum) )?
///     sum    := term (('+' | '-') term)*
///     term   := unary (('*' | '/') unary)*
///     unary  := '-' unary | atom
///     atom   := number | name | 'true' | 'false' | "'" text "'" | '(' expr ')' | list
///             | 'if' expr 'then' expr 'else' expr
///             | ('count' | 'exists') '(' 'treatment' 'where' expr ')' | name '(' expr (',' expr)* ')'
///
/// Names may contain letters, digits, `.`, `_` and `-` (`tumor-board.resectability`); a `-` that
/// means subtraction needs spaces around it.
struct ExpressionParser {
    struct Failure: Error {
        var message: String
        var offset: Int
    }

    private enum Token: Equatable {
        case number(Double)
        case name(String)
        case text(String)
        case symbol(String)
        case end
    }

    private var tokens: [(token: Token, offset: Int)] = []
    private var index = 0

    static func parse(_ text: String) -> Result<Expr, Failure> {
        do {
            var parser = ExpressionParser()
            parser.tokens = try tokenize(text)
            let expr = try parser.parseOr()
            guard case .end = parser.peek else { throw parser.failure("unexpected \(parser.describe(parser.peek))") }
            return .success(expr)
        } catch let failure as Failure {
            return .failure(failure)
        } catch {
            return .failure(Failure(message: "\(error)", offset: 0))
        }
    }

    private static func tokenize(_ text: String) throws -> [(token: Token, offset: Int)] {
        let chars = Array(text)
        var result: [(token: Token, offset: Int)] = []
        var i = 0
        func isNameStart(_ c: Character) -> Bool { c.isLetter || c == "_" }
        func isNameChar(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" || c == "." }
        while i < chars.count {
            let c = chars[i]
            if c.isWhitespace { i += 1; continue }
            let start = i
            if c.isNumber {
                while i < chars.count, chars[i].isNumber || chars[i] == "." { i += 1 }
                // A number directly followed by letters ("1st") is a syntax error, not a silent word.
                guard let value = Double(String(chars[start..<i])) else {
                    throw Failure(message: "malformed number \(String(chars[start..<i]))", offset: start)
                }
                if i < chars.count, isNameStart(chars[i]) {
                    throw Failure(message: "a name cannot start with a digit", offset: start)
                }
                result.append((.number(value), start))
            } else if isNameStart(c) {
                while i < chars.count {
                    if isNameChar(chars[i]) {
                        i += 1
                    } else if chars[i] == "-", i + 1 < chars.count, chars[i + 1].isLetter || chars[i + 1].isNumber {
                        i += 1
                    } else {
                        break
                    }
                }
                result.append((.name(String(chars[start..<i])), start))
            } else if c == "'" || c == "\"" {
                i += 1
                while i < chars.count, chars[i] != c { i += 1 }
                guard i < chars.count else { throw Failure(message: "unterminated quoted word", offset: start) }
                result.append((.text(String(chars[(start + 1)..<i])), start))
                i += 1
            } else {
                let two = i + 1 < chars.count ? String(chars[i...(i + 1)]) : ""
                if ["==", "!=", "<=", ">="].contains(two) {
                    result.append((.symbol(two), start))
                    i += 2
                } else if "()[],+-*/<>".contains(c) {
                    result.append((.symbol(String(c)), start))
                    i += 1
                } else if c == "=" {
                    throw Failure(message: "use == to compare", offset: start)
                } else {
                    throw Failure(message: "unexpected character \"\(c)\"", offset: start)
                }
            }
        }
        result.append((.end, chars.count))
        return result
    }

    private var peek: Token { tokens[index].token }
    private var offset: Int { tokens[index].offset }

    private mutating func advance() -> Token {
        defer { index += 1 }
        return tokens[index].token
    }

    private func failure(_ message: String) -> Failure { Failure(message: message, offset: offset) }

    private func describe(_ token: Token) -> String {
        switch token {
        case .number(let value): "number \(formatNumber(value))"
        case .name(let name): "\"\(name)\""
        case .text(let text): "'\(text)'"
        case .symbol(let symbol): "\"\(symbol)\""
        case .end: "end of expression"
        }
    }

    private mutating func accept(name keyword: String) -> Bool {
        if case .name(keyword) = peek { index += 1; return true }
        return false
    }

    private mutating func accept(symbol: String) -> Bool {
        if case .symbol(symbol) = peek { index += 1; return true }
        return false
    }

    private mutating func expect(name keyword: String) throws {
        guard accept(name: keyword) else { throw failure("expected \"\(keyword)\", found \(describe(peek))") }
    }

    private mutating func expect(symbol: String) throws {
        guard accept(symbol: symbol) else { throw failure("expected \"\(symbol)\", found \(describe(peek))") }
    }

    /// `a and b or c` is refused: precedence is easy to misread in clinical criteria, so mixing the
    /// two needs parentheses.
    private mutating func parseOr() throws -> Expr {
        let start = offset
        var (lhs, mixed) = try parseAnd()
        var sawOr = false
        while accept(name: "or") {
            sawOr = true
            let (rhs, rhsMixed) = try parseAnd()
            mixed = mixed || rhsMixed
            lhs = .binary(.or, lhs, rhs)
        }
        if sawOr && mixed {
            throw Failure(
                message: "\"and\" and \"or\" are mixed without parentheses; write (a and b) or c, or a and (b or c)",
                offset: start)
        }
        return lhs
    }

    /// Returns the conjunction and whether it joined two or more operands at this level.
    private mutating func parseAnd() throws -> (Expr, Bool) {
        var lhs = try parseNot()
        var joined = false
        while accept(name: "and") {
            joined = true
            lhs = .binary(.and, lhs, try parseNot())
        }
        return (lhs, joined)
    }

    private mutating func parseNot() throws -> Expr {
        if accept(name: "not") { return .not(try parseNot()) }
        return try parseTest()
    }

    private mutating func parseTest() throws -> Expr {
        let lhs = try parseSum()
        if case .symbol(let symbol) = peek, let op = Expr.BinaryOp(rawValue: symbol),
            [.equal, .notEqual, .less, .lessOrEqual, .greater, .greaterOrEqual].contains(op)
        {
            index += 1
            return .binary(op, lhs, try parseSum())
        }
        if accept(name: "in") { return .inList(lhs, try parseList(), negated: false) }
        if case .name("not") = peek, index + 1 < tokens.count, tokens[index + 1].token == .name("in") {
            index += 2
            return .inList(lhs, try parseList(), negated: true)
        }
        if accept(name: "between") {
            let low = try parseSum()
            try expect(name: "and")
            return .between(lhs, low, try parseSum())
        }
        if accept(name: "is") {
            let negated = accept(name: "not")
            if accept(name: "known") { return .isKnown(lhs, negated: negated) }
            if accept(name: "unknown") { return .isKnown(lhs, negated: !negated) }
            throw failure("expected \"known\" or \"unknown\" after \"is\"")
        }
        if accept(name: "has") { return .has(lhs, try parseItems(), any: false) }
        if accept(name: "has-any") { return .has(lhs, try parseItems(), any: true) }
        return lhs
    }

    private mutating func parseItems() throws -> [Expr] {
        if case .symbol("[") = peek { return try parseList() }
        return [try parseSum()]
    }

    private mutating func parseList() throws -> [Expr] {
        try expect(symbol: "[")
        var items: [Expr] = []
        if accept(symbol: "]") { throw failure("a list needs at least one item") }
        repeat { items.append(try parseSum()) } while accept(symbol: ",")
        try expect(symbol: "]")
        return items
    }

    private mutating func parseSum() throws -> Expr {
        var lhs = try parseTerm()
        while true {
            if accept(symbol: "+") {
                lhs = .binary(.add, lhs, try parseTerm())
            } else if accept(symbol: "-") {
                lhs = .binary(.subtract, lhs, try parseTerm())
            } else {
                return lhs
            }
        }
    }

    private mutating func parseTerm() throws -> Expr {
        var lhs = try parseUnary()
        while true {
            if accept(symbol: "*") {
                lhs = .binary(.multiply, lhs, try parseUnary())
            } else if accept(symbol: "/") {
                lhs = .binary(.divide, lhs, try parseUnary())
            } else {
                return lhs
            }
        }
    }

    private mutating func parseUnary() throws -> Expr {
        if accept(symbol: "-") { return .negate(try parseUnary()) }
        return try parseAtom()
    }

    private mutating func parseAtom() throws -> Expr {
        let start = offset
        switch advance() {
        case .number(let value):
            return .literal(.number(value))
        case .text(let text):
            return .literal(.word(text))
        case .symbol("("):
            let inner = try parseOr()
            try expect(symbol: ")")
            return inner
        case .name("true"):
            return .literal(.bool(true))
        case .name("false"):
            return .literal(.bool(false))
        case .name("if"):
            let condition = try parseOr()
            try expect(name: "then")
            let then = try parseOr()
            try expect(name: "else")
            return .conditional(condition, then, try parseOr())
        case .name(let name) where name == "count" || name == "exists":
            try expect(symbol: "(")
            try expect(name: "treatment")
            let predicate: Expr = accept(name: "where") ? try parseOr() : .literal(.bool(true))
            try expect(symbol: ")")
            return .aggregate(Expr.Aggregate(rawValue: name)!, predicate)
        case .name(let name):
            guard accept(symbol: "(") else { return .name(name, offset: start) }
            var arguments: [Expr] = []
            if !accept(symbol: ")") {
                repeat { arguments.append(try parseOr()) } while accept(symbol: ",")
                try expect(symbol: ")")
            }
            return .call(name, arguments, offset: start)
        case let token:
            index -= 1
            throw failure("expected a value, found \(describe(token))")
        }
    }
}
