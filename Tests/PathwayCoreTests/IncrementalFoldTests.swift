import PathwayAPI
import Testing

@testable import PathwayCore

/// The ingest path keeps each patient's facts folded as events arrive (`FactsFold`) instead of
/// folding the whole history for every event. Whatever the history, that must give exactly the
/// facts of the full fold: the decision and its audit record depend on nothing else.
@Suite("facts folded one event at a time are the facts of the whole history")
struct IncrementalFoldTests {
    @Test(
        """
        after every event of 600 generated histories: in occurrence order and as generated (late \
        corrections), with retractions, follow-ups and evaluation times that move on, stand still, \
        go back and pass future-dated events
        """)
    func sameAsFullFold() throws {
        let rules = try #require(RuleCompiler.compile(SafetyTests.sources).rules)
        var random = SplitMix64(seed: 2026)
        let day: Int64 = 86_400_000
        var (steps, incremental, retracting) = (0, 0, 0)
        for index in 0..<600 {
            var events = SafetyCheck.generate(rules, seed: 5, index: index).0.compactMap {
                try? EventDecoder.decode($0)
            }
            guard !events.isEmpty else { continue }
            // A live feed sends events as they happen; a backfill or a late correction does not.
            if random.chance(0.6) { events.sort { ($0.occurredAt, $0.id) < ($1.occurredAt, $1.id) } }
            // Follow-up: some of the events again, later, under new ids (a longer history); a
            // third at the same instant as the one before (a treatment and a progression tie).
            var latest = events.map(\.occurredAt.millisecondsSinceEpoch).max()!
            let lines = events.filter {
                switch $0.effect {
                case .treatment, .progression: true
                default: false
                }
            }
            for follow in 0..<random.int(0...12) {
                // Treatments and progressions half the time: how lines and progressions link.
                let pool = lines.isEmpty || random.chance(0.5) ? events : lines
                var again = pool[random.int(0...(pool.count - 1))]
                if case .retraction = again.effect { continue }
                if !random.chance(0.3) { latest += day }
                // Half the treatments copied start a line of their own.
                if case .treatment(var record) = again.effect, random.chance(0.5) {
                    record.lineId = "line-follow-\(follow)"
                    again.effect = .treatment(record)
                }
                again.id = "follow-\(follow)"
                again.occurredAt = Instant(millisecondsSinceEpoch: latest)
                events.append(again)
            }
            if events.contains(where: { if case .retraction = $0.effect { true } else { false } }) { retracting += 1 }
            // Evaluation times: from before the first event, mostly forward, sometimes the same
            // (events of one request), sometimes back (a clock stepped back).
            var asOf = events.map(\.occurredAt.millisecondsSinceEpoch).min()! + Int64(random.int(-30...60)) * day
            var fold = FactsFold()
            var prefix: [Event] = []
            for event in events {
                fold.append(event)
                prefix.append(event)
                switch random.int(0...9) {
                case 0: asOf -= day
                case 1, 2: break
                default: asOf += Int64(random.int(0...40)) * day
                }
                let at = Instant(millisecondsSinceEpoch: asOf)
                let before = fold.fullFolds
                let facts = fold.facts(asOf: at)
                #expect(facts == PatientFacts(events: prefix, asOf: at), "patient \(index), event \(event.id)")
                if fold.fullFolds == before { incremental += 1 }
                steps += 1
            }
        }
        #expect(steps > 10_000)
        #expect(retracting > 40)
        // Both paths are compared: here a third of the events were folded one at a time (a
        // generated history often has a retraction, after which every event folds it all).
        #expect(incremental * 5 > steps, "\(incremental) of \(steps) events folded one at a time")
        #expect(incremental < steps)
    }

    @Test("a history appended to in occurrence order is never folded whole again; a retraction or a late event is")
    func whenTheWholeHistoryIsFolded() throws {
        let start: Int64 = 1_767_225_600_000  // 2026-01-01
        func labs(_ n: Int, at offset: Int64) throws -> Event {
            try EventDecoder.decode([
                "id": .string("lab-\(n)"), "patientId": "P", "type": "lab",
                "occurredAt": .string(Instant(millisecondsSinceEpoch: start + offset).description),
                "data": ["test": "creatinine-clearance", "value": .number(Double(60 + n)), "unit": "mL/min"],
            ])
        }
        var fold = FactsFold()
        for n in 0..<200 {
            fold.append(try labs(n, at: Int64(n) * 3_600_000))
            _ = fold.facts(asOf: Instant(millisecondsSinceEpoch: start + Int64(n) * 3_600_000 + 1))
        }
        #expect(fold.fullFolds == 1)  // the first
        // A line started and a progression at the same instant: the progression is not after the start.
        let tie = start + 200 * 3_600_000
        for (id, type, data) in [
            ("t-line", "treatment", ["kind": "systemic", "agents": ["nivolumab"], "status": "started"] as JSONValue),
            ("u-progression", "progression", [:]),
        ] {
            fold.append(
                try EventDecoder.decode([
                    "id": .string(id), "patientId": "P", "type": .string(type),
                    "occurredAt": .string(Instant(millisecondsSinceEpoch: tie).description), "data": data,
                ]))
            let at = Instant(millisecondsSinceEpoch: tie + 1)
            #expect(fold.facts(asOf: at) == PatientFacts(events: fold.events, asOf: at))
        }
        #expect(fold.facts(asOf: Instant(millisecondsSinceEpoch: tie + 1)).treatments.last?.progressionAt == nil)
        #expect(fold.fullFolds == 1)
        let now = Instant(millisecondsSinceEpoch: start + 300 * 3_600_000)
        fold.append(try labs(200, at: -3_600_000))  // dated before the others
        #expect(fold.facts(asOf: now) == PatientFacts(events: fold.events, asOf: now))
        #expect(fold.fullFolds == 2)
        fold.append(
            try EventDecoder.decode([
                "id": "r", "patientId": "P", "type": "retraction", "occurredAt": .string(now.description),
                "data": ["eventId": "lab-5"],
            ]))
        #expect(fold.facts(asOf: now) == PatientFacts(events: fold.events, asOf: now))
        #expect(fold.fullFolds == 3)
    }
}
