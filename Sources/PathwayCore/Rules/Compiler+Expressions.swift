/// Where a name is looked up: patient facts only, or a treatment line's fields first.
enum NameScope { case patient, treatment }

extension Compiler {
    /// Compiles a condition written as an expression string, or as a mapping with `when` (and an
    /// optional `text`), or as `all:` / `any:` lists or `not:`, which nest.
    mutating func condition(_ node: YAMLNode, what: String) -> Condition? {
        switch node {
        case .scalar(let text, _, let at):
            guard let (expr, _) = expression(text, at: at, expecting: .bool) else { return nil }
            return Condition(expr: expr, source: text, text: nil, at: at)
        case .mapping:
            guard var reader = MappingReader(node, what: what, sink: &sink) else { return nil }
            defer { reader.finish(sink: &sink) }
            let text = reader.text("text", sink: &sink)?.value
            _ = reader.node("cite")
            _ = reader.node("notes")
            var result: Condition?
            if let when = reader.node("when") {
                result = condition(when, what: what)
            } else if let all = reader.node("all") {
                result = combine(all, op: .and, what: what)
            } else if let any = reader.node("any") {
                result = combine(any, op: .or, what: what)
            } else if let inner = reader.node("not") {
                result = condition(inner, what: what).map {
                    Condition(expr: .not($0.expr), source: "not (\($0.source))", text: nil, at: $0.at)
                }
            } else {
                sink.error(reader.location, "missing-key", "\(what) needs \"when\", \"all\", \"any\" or \"not\"")
                return nil
            }
            return text.map { result?.with(text: $0) } ?? result
        default:
            sink.error(
                node.location, "invalid-value", "\(what) must be an expression or a mapping, found \(node.shape)")
            return nil
        }
    }

    private mutating func combine(_ node: YAMLNode, op: Expr.BinaryOp, what: String) -> Condition? {
        guard case .sequence(let items, let at) = node, !items.isEmpty else {
            sink.error(
                node.location, "invalid-value", "\"\(op.rawValue == "and" ? "all" : "any")\" must be a non-empty list")
            return nil
        }
        let parts = items.map { condition($0, what: what) }
        let compiled = parts.compactMap { $0 }
        guard compiled.count == parts.count, let first = compiled.first else { return nil }
        let expr = compiled.dropFirst().reduce(first.expr) { .binary(op, $0, $1.expr) }
        let source = compiled.map { "(\($0.source))" }.joined(separator: " \(op.rawValue) ")
        return Condition(expr: expr, source: source, text: nil, at: at)
    }

    /// Parses and type-checks one expression; reports problems at their column.
    mutating func expression(
        _ text: String, at: SourceLocation, expecting: ValueType?, scope: NameScope = .patient
    ) -> (Expr, ValueType)? {
        switch ExpressionParser.parse(text) {
        case .failure(let failure):
            let code = failure.message.contains("mixed without parentheses") ? "ambiguous-and-or" : "expression-syntax"
            sink.error(at.offset(by: failure.offset), code, "\(failure.message) in \"\(text)\"")
            return nil
        case .success(let parsed):
            guard let (expr, type) = typed(parsed, at: at, scope: scope, expecting: expecting) else { return nil }
            if let expecting, !type.sameKind(as: expecting) {
                sink.error(at, "type-mismatch", "\"\(text)\" is a \(type), expected a \(expecting)")
                return nil
            }
            return (expr, type)
        }
    }

    /// Resolves names and checks types. Returns nil after reporting a problem.
    mutating func typed(_ expr: Expr, at: SourceLocation, scope: NameScope, expecting: ValueType? = nil) -> (
        Expr, ValueType
    )? {
        switch expr {
        case .name(let name, let offset):
            if let resolved = resolveName(name, scope: scope) { return resolved }
            if let vocabulary = expecting?.vocabulary {
                if vocabulary.isEmpty || vocabulary.contains(name) { return (.literal(.word(name)), .word(vocabulary)) }
                sink.error(
                    at.offset(by: offset), "unknown-vocabulary",
                    "\"\(name)\" is not a possible value here; expected one of \(vocabulary.joined(separator: ", "))")
                return nil
            }
            if let expecting, !name.contains(".") {
                sink.error(
                    at.offset(by: offset), "type-mismatch",
                    "expected a \(expecting), found the word \"\(name)\" (not a known fact)")
                return nil
            }
            sink.error(at.offset(by: offset), "unknown-fact", "unknown fact \"\(name)\"")
            return nil
        case .literal(let value):
            switch value {
            case .number: return (expr, .number)
            case .bool: return (expr, .bool)
            case .instant: return (expr, .instant)
            case .word(let word):
                if let vocabulary = expecting?.vocabulary, !vocabulary.isEmpty, !vocabulary.contains(word) {
                    sink.error(
                        at, "unknown-vocabulary",
                        "'\(word)' is not a possible value here; expected one of \(vocabulary.joined(separator: ", "))")
                    return nil
                }
                return (expr, .word(expecting?.vocabulary ?? []))
            }
        case .slot(let slot): return (expr, slots.types[slot])
        case .field(let field): return (expr, field.type)
        case .not(let inner):
            guard let (e, _) = typed(inner, expect: .bool, at: at, scope: scope) else { return nil }
            return (.not(e), .bool)
        case .negate(let inner):
            guard let (e, _) = typed(inner, expect: .number, at: at, scope: scope) else { return nil }
            return (.negate(e), .number)
        case .binary(let op, let lhs, let rhs):
            return binary(op, lhs, rhs, at: at, scope: scope)
        case .inList(let lhs, let items, let negated):
            guard let (l, lType) = typed(lhs, at: at, scope: scope) else { return nil }
            switch lType {
            case .word, .number: break
            default:
                sink.error(at, "type-mismatch", "\"in\" needs a word or a number on its left, found a \(lType)")
                return nil
            }
            guard let list = typedList(items, expect: lType, at: at, scope: scope) else { return nil }
            return (.inList(l, list, negated: negated), .bool)
        case .between(let value, let low, let high):
            guard let (v, type) = typed(value, at: at, scope: scope) else { return nil }
            guard type == .number || type == .instant else {
                sink.error(at, "type-mismatch", "\"between\" needs numbers or dates, found a \(type)")
                return nil
            }
            guard let (l, _) = typed(low, expect: type, at: at, scope: scope),
                let (h, _) = typed(high, expect: type, at: at, scope: scope)
            else { return nil }
            return (.between(v, l, h), .bool)
        case .isKnown(let inner, let negated):
            guard let (e, _) = typed(inner, at: at, scope: scope) else { return nil }
            return (.isKnown(e, negated: negated), .bool)
        case .has(let set, let items, let any):
            guard let (s, type) = typed(set, at: at, scope: scope) else { return nil }
            guard case .wordSet(let vocabulary) = type else {
                sink.error(
                    at, "type-mismatch", "\"has\" needs a list of words on its left (e.g. agents), found a \(type)")
                return nil
            }
            guard let list = typedList(items, expect: .word(vocabulary), at: at, scope: scope) else { return nil }
            return (.has(s, list, any: any), .bool)
        case .call(let name, let arguments, let offset):
            return call(name, arguments, at: at.offset(by: offset), scope: scope)
        case .aggregate(let kind, let predicate):
            guard let (p, _) = typed(predicate, expect: .bool, at: at, scope: .treatment) else { return nil }
            return (.aggregate(kind, p), kind == .count ? .number : .bool)
        case .conditional(let condition, let then, let otherwise):
            guard let (c, _) = typed(condition, expect: .bool, at: at, scope: scope),
                let (t, type) = typed(then, at: at, scope: scope, expecting: expecting),
                let (o, _) = typed(otherwise, expect: type, at: at, scope: scope)
            else { return nil }
            return (.conditional(c, t, o), type)
        }
    }

    /// Types `expr` and checks that it is of the kind of `expect`.
    private mutating func typed(_ expr: Expr, expect: ValueType, at: SourceLocation, scope: NameScope) -> (
        Expr, ValueType
    )? {
        guard let (e, type) = typed(expr, at: at, scope: scope, expecting: expect) else { return nil }
        guard type.sameKind(as: expect) else {
            sink.error(at, "type-mismatch", "expected a \(expect), found a \(type) in \(describe(expr))")
            return nil
        }
        return (e, type)
    }

    private mutating func typedList(_ items: [Expr], expect: ValueType, at: SourceLocation, scope: NameScope) -> [Expr]?
    {
        let typedItems = items.map { typed($0, expect: expect, at: at, scope: scope)?.0 }
        let compiled = typedItems.compactMap { $0 }
        return compiled.count == items.count ? compiled : nil
    }

    private mutating func binary(_ op: Expr.BinaryOp, _ lhs: Expr, _ rhs: Expr, at: SourceLocation, scope: NameScope)
        -> (Expr, ValueType)?
    {
        switch op {
        case .and, .or:
            guard let (l, _) = typed(lhs, expect: .bool, at: at, scope: scope),
                let (r, _) = typed(rhs, expect: .bool, at: at, scope: scope)
            else { return nil }
            return (.binary(op, l, r), .bool)
        case .add, .subtract, .multiply, .divide:
            guard let (l, _) = typed(lhs, expect: .number, at: at, scope: scope),
                let (r, _) = typed(rhs, expect: .number, at: at, scope: scope)
            else { return nil }
            return (.binary(op, l, r), .number)
        case .equal, .notEqual, .less, .lessOrEqual, .greater, .greaterOrEqual:
            // A bare word takes its meaning from the other side: `diagnosis.histology == epithelioid`.
            let lhsIsWord = isBareWord(lhs, scope: scope)
            var left: (Expr, ValueType)?
            var right: (Expr, ValueType)?
            if lhsIsWord && !isBareWord(rhs, scope: scope) {
                right = typed(rhs, at: at, scope: scope)
                guard let rType = right?.1 else { return nil }
                // A bare name on the left of a number or date is a misspelt fact, not a word.
                left = typed(lhs, at: at, scope: scope, expecting: rType.vocabulary == nil ? nil : rType)
            } else {
                left = typed(lhs, at: at, scope: scope)
                guard let lType = left?.1 else { return nil }
                right = typed(rhs, at: at, scope: scope, expecting: lType)
            }
            guard let (l, lType) = left, let (r, rType) = right else { return nil }
            guard lType.sameKind(as: rType) else {
                sink.error(
                    at, "type-mismatch",
                    "cannot compare a \(lType) with a \(rType) in \(describe(lhs)) \(op.rawValue) \(describe(rhs))")
                return nil
            }
            let ordered = lType == .number || lType == .instant
            guard ordered || op == .equal || op == .notEqual else {
                sink.error(
                    at, "type-mismatch",
                    "\(op.rawValue) needs numbers or dates; a \(lType) can only be compared with == or !=")
                return nil
            }
            return (.binary(op, l, r), .bool)
        }
    }

    private mutating func call(_ name: String, _ arguments: [Expr], at: SourceLocation, scope: NameScope) -> (
        Expr, ValueType
    )? {
        let signature: (arguments: [ValueType], result: ValueType)
        switch name {
        case "years", "months": signature = ([.instant, .instant], .number)
        case "min", "max": signature = (Array(repeating: .number, count: max(arguments.count, 2)), .number)
        case "round": signature = ([.number], .number)
        default:
            sink.error(at, "unknown-function", "unknown function \"\(name)\"; known: years, months, min, max, round")
            return nil
        }
        guard arguments.count == signature.arguments.count else {
            sink.error(
                at, "type-mismatch", "\(name) takes \(signature.arguments.count) arguments, found \(arguments.count)")
            return nil
        }
        var compiled: [Expr] = []
        for (argument, type) in zip(arguments, signature.arguments) {
            guard let (e, _) = typed(argument, expect: type, at: at, scope: scope) else { return nil }
            compiled.append(e)
        }
        return (.call(name, compiled, offset: 0), signature.result)
    }

    private mutating func isBareWord(_ expr: Expr, scope: NameScope) -> Bool {
        guard case .name(let name, _) = expr else { return false }
        return resolveName(name, scope: scope) == nil
    }

    /// Looks a name up as a treatment field (in that scope), a catalog fact, parameter or a derived fact
    /// (compiling the derived fact first if needed).
    mutating func resolveName(_ name: String, scope: NameScope) -> (Expr, ValueType)? {
        if scope == .treatment, let field = TreatmentField(rawValue: name) { return (.field(field), field.type) }
        if let declaration = derivedByFact[name] { compileDerived(declaration) }
        guard let slot = slots.index[name] else { return nil }
        return (.slot(slot), slots.types[slot])
    }

    func describe(_ expr: Expr) -> String {
        switch expr {
        case .name(let name, _): name
        case .literal(let value): value.description
        case .slot(let slot): slots.names[slot]
        case .field(let field): field.rawValue
        default: "the expression"
        }
    }
}
