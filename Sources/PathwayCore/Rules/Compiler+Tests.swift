extension Compiler {
    static let optionStatuses = ["recommended", "consider", "needs-data", "not-eligible"]
    static let trialStatuses = ["eligible", "potentially-eligible", "ineligible"]
    static let results = ["pass", "fail", "unknown"]

    mutating func compileTests(_ node: YAMLNode) {
        guard case .sequence(let items, _) = node else {
            return sink.error(node.location, "invalid-value", "\"tests\" must be a list")
        }
        for item in items { if let test = compileTest(item) { tests.append(test) } }
    }

    private mutating func compileTest(_ node: YAMLNode) -> PackTest? {
        guard var reader = MappingReader(node, what: "a test", sink: &sink) else { return nil }
        defer { reader.finish(sink: &sink) }
        _ = reader.node("note")
        _ = reader.node("why")
        guard let name = reader.text("name", required: true, sink: &sink) else { return nil }
        var events: [Event] = []
        for (index, item) in reader.list("events", required: true, sink: &sink).enumerated() {
            var json = item.json
            // Test events may leave out what every event of one test shares.
            if case .object(var members) = json {
                if members["id"] == nil { members["id"] = .string("\(name.at.line)-\(index + 1)") }
                if members["patientId"] == nil { members["patientId"] = .string("TEST") }
                if members["data"] == nil { members["data"] = .object([:]) }
                json = .object(members)
            }
            do {
                events.append(try EventDecoder.decode(json))
            } catch {
                sink.error(
                    item.location, "invalid-test-event", "event \(index + 1) of test \"\(name.value)\": \(error)")
            }
        }
        var now = events.map(\.occurredAt).max() ?? Instant(CivilDate(year: 2026, month: 1, day: 1))
        if let at = reader.text("at", sink: &sink) {
            do { now = try Instant.parse(at.value) } catch { sink.error(at.at, "invalid-value", error.message) }
        }
        var parameters: [String: String] = [:]
        if let node = reader.node("parameters"), var params = MappingReader(node, what: "test parameters", sink: &sink)
        {
            for (key, _) in params.pairs {
                guard let value = params.text(key, sink: &sink) else { continue }
                if let parameter = self.parameters.first(where: { $0.id == key }) {
                    if !parameter.values.contains(value.value) {
                        sink.error(
                            value.at, "unknown-vocabulary",
                            "parameter \(key) takes \(parameter.values.joined(separator: ", "))")
                    }
                } else {
                    sink.error(value.at, "unknown-test-reference", "no parameter \"\(key)\" is declared")
                }
                parameters[key] = value.value
            }
        }
        guard let expectNode = reader.node("expect") else {
            sink.error(reader.location, "missing-key", "test \"\(name.value)\" needs \"expect\"")
            return nil
        }
        let expect = expectation(expectNode)
        return PackTest(
            name: name.value, location: name.at, events: events, now: now, parameters: parameters, expect: expect)
    }

    private mutating func expectation(_ node: YAMLNode) -> Expectation {
        var expect = Expectation()
        guard var reader = MappingReader(node, what: "\"expect\"", sink: &sink) else { return expect }
        defer { reader.finish(sink: &sink) }
        if let node = reader.node("pathway") { expect.pathway = optionalWord(node) }
        if let node = reader.node("setting") { expect.setting = optionalWord(node) }
        if let node = reader.node("derived"), var derived = MappingReader(node, what: "\"derived\"", sink: &sink) {
            for (fact, _) in derived.pairs {
                guard let value = derived.text(fact, sink: &sink) else { continue }
                if slots.index[fact] == nil && derivedByFact[fact] == nil {
                    sink.error(value.at, "unknown-test-reference", "no derived fact \"\(fact)\"")
                }
                expect.derived.append((fact, value.value))
            }
        }
        let optionIds = Set(pathways.flatMap { $0.options.map(\.id) })
        if let node = reader.node("options"), let options = MappingReader(node, what: "\"options\"", sink: &sink) {
            for (id, value) in options.pairs {
                if !optionIds.contains(id) {
                    sink.error(value.location, "unknown-test-reference", "no option \"\(id)\" is defined")
                }
                expect.options.append((id, optionExpectation(value)))
            }
        }
        if let node = reader.node("trials"), let trialsReader = MappingReader(node, what: "\"trials\"", sink: &sink) {
            for (id, value) in trialsReader.pairs {
                let trial = trials.first { $0.id == id }
                if trial == nil {
                    sink.error(value.location, "unknown-test-reference", "no trial \"\(id)\" is defined")
                }
                expect.trials.append((id, trialExpectation(value, trial: trial)))
            }
        }
        let alertIds = Set(alerts.map(\.id))
        for alert in reader.texts("alerts", sink: &sink) {
            if !alertIds.contains(alert.value) {
                sink.error(alert.at, "unknown-test-reference", "no alert \"\(alert.value)\" is defined")
            }
            expect.alerts.append(alert.value)
        }
        expect.noAlerts = reader.bool("noAlerts", sink: &sink) ?? false
        expect.missingData = reader.texts("missingData", sink: &sink).map(\.value)
        return expect
    }

    private func optionalWord(_ node: YAMLNode) -> String?? {
        if case .scalar(let text, _, _) = node { return .some(text) }
        return .some(nil)
    }

    private mutating func statuses(_ reader: inout MappingReader, allowed: [String]) -> [String] {
        let values = reader.texts("status", sink: &sink)
        for value in values where !allowed.contains(value.value) {
            sink.error(
                value.at, "unknown-vocabulary",
                "status \"\(value.value)\" is not one of \(allowed.joined(separator: ", "))")
        }
        return values.map(\.value)
    }

    private mutating func optionExpectation(_ node: YAMLNode) -> Expectation.OptionExpectation {
        var expect = Expectation.OptionExpectation()
        if case .scalar(let text, _, let at) = node {
            if text == "absent" {
                expect.absent = true
            } else if Self.optionStatuses.contains(text) {
                expect.statuses = [text]
            } else {
                sink.error(at, "unknown-vocabulary", "\"\(text)\" is not an option status or absent")
            }
            return expect
        }
        guard var reader = MappingReader(node, what: "an option expectation", sink: &sink) else { return expect }
        defer { reader.finish(sink: &sink) }
        expect.statuses = statuses(&reader, allowed: Self.optionStatuses)
        expect.rank = reader.integer("rank", in: 1...10_000, sink: &sink)?.value
        expect.missingIncludes = reader.texts("missingIncludes", sink: &sink).map(\.value)
        return expect
    }

    private mutating func trialExpectation(_ node: YAMLNode, trial: Trial?) -> Expectation.TrialExpectation {
        var expect = Expectation.TrialExpectation()
        if case .scalar(let text, _, let at) = node {
            if !Self.trialStatuses.contains(text) {
                sink.error(at, "unknown-vocabulary", "\"\(text)\" is not a trial status")
            }
            expect.statuses = [text]
            return expect
        }
        guard var reader = MappingReader(node, what: "a trial expectation", sink: &sink) else { return expect }
        defer { reader.finish(sink: &sink) }
        expect.statuses = statuses(&reader, allowed: Self.trialStatuses)
        expect.recruitment = reader.text("recruitment", sink: &sink)?.value
        expect.noFailingCriterion = reader.bool("noFailingCriterion", sink: &sink) ?? false
        if let node = reader.node("criteria"), var criteria = MappingReader(node, what: "\"criteria\"", sink: &sink) {
            for (id, _) in criteria.pairs {
                guard let result = criteria.text(id, sink: &sink) else { continue }
                if let trial, !(trial.criteria + [trial.population].compactMap { $0 }).contains(where: { $0.id == id })
                {
                    sink.error(result.at, "unknown-test-reference", "trial \(trial.id) has no criterion \"\(id)\"")
                }
                if !Self.results.contains(result.value) {
                    sink.error(result.at, "unknown-vocabulary", "criterion result must be pass, fail or unknown")
                }
                expect.criteria.append((id, result.value))
            }
        }
        return expect
    }
}
