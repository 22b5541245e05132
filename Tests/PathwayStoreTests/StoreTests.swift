import Foundation
import PathwayAPI
import PathwayCore
import PathwayRulesIO
import PathwayStore
import PathwayTestSupport
import Synchronization
import Testing

/// The store in-process, on a real SQLite file: the single writer's group commit and rollback,
/// the domain rejections of ingest, and what a refused write leaves behind (nothing).
@Suite("the store and its writer")
struct StoreTests {
    static let caller = Caller(uid: 1000, gid: 1000, pid: 1, user: "test", roles: [.ehr])

    static let settings: EvaluationSettings = {
        let sources = try! RuleDirectory.load(repositoryRoot.appendingPathComponent("Rules").path)
        return EvaluationSettings(rules: RuleCompiler.compile(sources).rules!, parameters: [:])
    }()

    func temporaryStore() throws -> Store {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pwst-" + UUID().uuidString)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return try Store(path: directory.appendingPathComponent("s.sqlite").path)
    }

    func incoming(_ json: JSONValue) throws -> IncomingEvent {
        IncomingEvent(event: try EventDecoder.decode(json), canonical: try CanonicalJSON.encode(json))
    }

    func record(_ transaction: WriteTransaction, _ note: String) throws {
        try transaction.appendAudit(
            decisionId: UUID().uuidString, at: Instant(millisecondsSinceEpoch: 1_767_225_600_000), actor: Self.caller,
            action: .view, patientId: nil, revision: nil, input: #"{"note":"\#(note)"}"#, output: "{}")
    }

    struct Refused: Error {}

    /// Which jobs committed (true) and which were refused (false).
    final class Outcomes: Sendable {
        let value = Mutex<[String: Bool]>([:])
    }

    @Test("a new database has 16 KiB pages (audit records of 2–3 KB share them); an existing one keeps its own")
    func pageSize() throws {
        let store = try temporaryStore()
        try store.close()
        #expect(try run("/usr/bin/sqlite3", [store.path, "PRAGMA page_size"]).output == "16384\n")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pwst-" + UUID().uuidString)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("old.sqlite").path
        #expect(try run("/usr/bin/sqlite3", [path, "PRAGMA page_size = 4096; CREATE TABLE before (x)"]).status == 0)
        try Store(path: path).close()
        #expect(try run("/usr/bin/sqlite3", [path, "PRAGMA page_size"]).output == "4096\n")
    }

    @Test("a job that throws is refused alone: the jobs grouped with it commit, and the chain holds exactly them")
    func failingJobIsIsolated() async throws {
        let store = try temporaryStore()
        defer { try? store.close() }
        let outcomes = Outcomes()
        try await withThrowingTaskGroup(of: Void.self) { group in
            // The first job holds the writer, so everything submitted meanwhile forms one batch.
            group.addTask {
                try await store.write { transaction in
                    Thread.sleep(forTimeInterval: 0.3)
                    try record(transaction, "first")
                }
            }
            try await Task.sleep(for: .milliseconds(50))
            for index in 0..<21 {
                group.addTask {
                    do {
                        try await store.write { transaction in
                            try record(transaction, "job \(index)")
                            if index == 10 { throw Refused() }
                        }
                        outcomes.value.withLock { $0["job \(index)"] = true }
                    } catch is Refused {
                        outcomes.value.withLock { $0["job \(index)"] = false }
                    }
                }
            }
            // And events, whose patient state lives in the writer's memory as well.
            for patient in ["ST-1", "ST-2"] {
                group.addTask {
                    let results = try await store.ingest(
                        try pleuralPatient(patient).map(incoming), actor: Self.caller, settings: Self.settings,
                        receivedAt: Instant(millisecondsSinceEpoch: 1_769_904_000_000))
                    #expect(results.allSatisfy { if case .success = $0 { true } else { false } })
                }
            }
            try await group.waitForAll()
        }
        let seen = outcomes.value.withLock { $0 }
        #expect(seen.count == 21)
        #expect(seen.filter { !$0.value }.keys.sorted() == ["job 10"])
        // The refused job's record is nowhere; every other one is, once.
        let notes = try await store.read { db in try String.fetchAll(db, sql: "SELECT input FROM audit") }
        #expect(!notes.contains(#"{"note":"job 10"}"#))
        #expect(Set(notes.filter { $0.hasPrefix(#"{"note""#) }).count == 21)
        #expect(notes.count == 21 + 2 * pleuralPatient("x").count)
        // The failed attempt really held other jobs: it was rolled back and they were committed after.
        #expect(store.writerCounts.failed == 1)
        let verification = try await store.verify()
        #expect(verification.status == "ok")
        // The writer's memory of each patient matches the disk: one more event evaluates on top of
        // exactly the stored events, none twice.
        let next = try await store.ingest(
            [
                try incoming([
                    "id": "ST-1-8", "patientId": "ST-1", "type": "performance-status",
                    "occurredAt": "2026-01-20T09:00:00Z", "data": ["scale": "ecog", "value": 2],
                ])
            ],
            actor: Self.caller, settings: Self.settings, receivedAt: Instant(millisecondsSinceEpoch: 1_769_904_000_000))
        guard case .success(let result) = next[0] else { Issue.record("refused: \(next[0])"); return }
        let stored = try await store.patientEvents("ST-1")
        #expect(stored?.events.map(\.id) == (1...7).map { "ST-1-\($0)" } + ["ST-1-8"])
        #expect(stored?.lastDecisionId == result.decisionId)
    }

    @Test("canonical JSON: the evaluation document written directly; a number JSON cannot hold is refused")
    func canonicalJSON() throws {
        #expect(throws: EncodingError.self) {
            _ = try CanonicalJSON.encode(FactValueV1(fact: "f", value: .number(.infinity)))
        }
        let evaluation = EvaluationV1(
            decisionId: "d", patientId: nil, evaluatedAt: "2026-01-01T00:00:00Z",
            rules: .init(revision: "r", packs: []), derived: ["x": 1.5], pathway: nil, setting: nil, options: [],
            trials: [], missingData: [], alerts: [])
        #expect(try CanonicalJSON.encode(evaluation) == CanonicalJSON.encodeWithJSONEncoder(evaluation))
    }

    @Test("ingest answers in the store's terms: a duplicate, an id conflict and an unknown retraction write nothing")
    func rejections() async throws {
        let store = try temporaryStore()
        defer { try? store.close() }
        let at = Instant(millisecondsSinceEpoch: 1_769_904_000_000)
        let events = try pleuralPatient("RJ-1").map(incoming)
        _ = try await store.ingest(events, actor: Self.caller, settings: Self.settings, receivedAt: at)
        let head = try await store.head

        let again = try await store.ingest([events[0]], actor: Self.caller, settings: Self.settings, receivedAt: at)
        guard case .success(let duplicate) = again[0] else { Issue.record("\(again[0])"); return }
        #expect(duplicate.status == EventStatus.duplicate.rawValue)

        guard case .object(var changed) = pleuralPatient("RJ-1")[0] else { return }
        changed["source"] = "another-ehr"
        let conflict = try await store.ingest(
            [try incoming(.object(changed))], actor: Self.caller, settings: Self.settings, receivedAt: at)
        #expect(
            conflict.first.flatMap { if case .failure(let r) = $0 { r } else { nil } }
                == .eventIdConflict(eventId: "RJ-1-1"))

        let retraction = try incoming([
            "id": "RJ-1-r", "patientId": "RJ-1", "type": "retraction", "occurredAt": "2026-01-20T09:00:00Z",
            "data": ["eventId": "RJ-2-1"],
        ])
        let unknown = try await store.ingest([retraction], actor: Self.caller, settings: Self.settings, receivedAt: at)
        #expect(
            unknown.first.flatMap { if case .failure(let r) = $0 { r } else { nil } }
                == .unknownRetractionTarget(eventId: "RJ-2-1", patientId: "RJ-1"))
        #expect(try await store.head == head, "nothing was appended to the chain")
    }

    @Test(
        """
        a new event's id is not looked up before evaluating; a re-post of the patient's own event \
        is, and costs no write; an id another patient holds is found by the writer, and nothing of \
        the refused attempt stays in memory
        """)
    func writerJudgesIds() async throws {
        let store = try temporaryStore()
        defer { try? store.close() }
        let at = Instant(millisecondsSinceEpoch: 1_769_904_000_000)
        let first = try pleuralPatient("WJ-1").map(incoming)
        let stored = try await store.ingest(
            Array(first.prefix(3)), actor: Self.caller, settings: Self.settings, receivedAt: at)
        guard case .success(let original) = stored[1] else {
            Issue.record("\(stored[1])")
            return
        }
        // New, re-posted, new in one request: the re-posted one is a duplicate with its decision.
        let mixed = try await store.ingest(
            [first[3], first[1], first[4]], actor: Self.caller, settings: Self.settings, receivedAt: at)
        #expect(mixed.map { (try? $0.get())?.status } == ["accepted", "duplicate", "accepted"])
        #expect((try? mixed[1].get())?.decisionId == original.decisionId)
        let jobs = store.writerCounts.jobs
        let again = try await store.ingest([first[0]], actor: Self.caller, settings: Self.settings, receivedAt: at)
        #expect((try? again[0].get())?.status == "duplicate")
        #expect(store.writerCounts.jobs == jobs, "a re-post of the patient's own event is looked up, not written")
        // Another patient's event under WJ-1-2's id: refused, and WJ-2 is left as it was.
        var other = try pleuralPatient("WJ-2").map(incoming)
        _ = try await store.ingest([other[0]], actor: Self.caller, settings: Self.settings, receivedAt: at)
        guard case .object(var taken) = pleuralPatient("WJ-2")[1] else { return }
        taken["id"] = "WJ-1-2"
        other[1] = try incoming(.object(taken))
        let attempts = store.writerCounts.jobs
        let conflict = try await store.ingest([other[1]], actor: Self.caller, settings: Self.settings, receivedAt: at)
        #expect(store.writerCounts.jobs == attempts + 1, "the writer refused one attempt")
        #expect(
            conflict.first.flatMap { if case .failure(let r) = $0 { r } else { nil } }
                == .eventIdConflict(eventId: "WJ-1-2"))
        // What each patient's next decision evaluated is what is stored: no refused event in it.
        let next = try await store.ingest(
            [first[5], other[2]], actor: Self.caller, settings: Self.settings, receivedAt: at)
        for (result, patient, count) in [(next[0], "WJ-1", 5), (next[1], "WJ-2", 1)] {
            let decision = try #require(try? result.get()).decisionId
            let record = try #require(try await store.auditRecord(decision))
            #expect(record.input.contains(#""count":\#(count)"#), "\(patient): \(record.input)")
            #expect(try await store.patientEvents(patient)?.events.count == count + 1)
        }
        #expect(try await store.verify().status == "ok")
    }

    @Test("a database another process holds locked: StorageUnavailable, nothing kept, and the next write succeeds")
    func storageUnavailable() async throws {
        let store = try temporaryStore()
        defer { try? store.close() }
        try await store.write { try record($0, "before") }
        let holder = try await WriteLockHolder(store.path)
        await #expect(throws: StorageUnavailable.self) { try await store.write { try record($0, "refused") } }
        try await holder.release()
        try await store.write { try record($0, "after") }
        let notes = try await store.read { db in try String.fetchAll(db, sql: "SELECT input FROM audit ORDER BY seq") }
        #expect(notes == [#"{"note":"before"}"#, #"{"note":"after"}"#])
        #expect(try await store.verify().status == "ok")
    }

    @Test("verify across its batches: the first broken record is named, whatever broke it and wherever it is")
    func verifyAcrossBatches() async throws {
        // 10,000 records: verify hashes them in batches of 4,096 on every core.
        let store = try await self.store(records: 10_000)
        defer { try? store.close() }
        let clean = try await store.verify()
        #expect(clean.status == "ok" && clean.records == 10_000 && clean.head?.seq == 10_000)
        let path = store.path
        // A content change in the third batch, then one in the second: the earlier is named.
        try tamper(path, "UPDATE audit SET input = '{\"note\":\"x\"}' WHERE seq = 9000")
        var broken = try await store.verify()
        #expect(broken.firstBroken?.seq == 9_000 && broken.firstBroken?.problem == "content")
        #expect(broken.records == 9_000 && broken.head?.seq == 8_999)
        try tamper(path, "UPDATE audit SET actor_user = 'mallory' WHERE seq = 4097")
        broken = try await store.verify()
        #expect(broken.firstBroken?.seq == 4_097 && broken.firstBroken?.problem == "content")
        // A broken link before both: named as a link, not as the content changes after it.
        try tamper(path, "UPDATE audit SET prev_hash = '00' WHERE seq = 4000")
        broken = try await store.verify()
        #expect(broken.firstBroken?.seq == 4_000 && broken.firstBroken?.problem == "link")
        #expect(broken.head?.seq == 3_999)
        // Verifying from a checkpoint past the changes still finds nothing after it.
        let later = try await store.verify(from: ChainHead(seq: 9_500, hash: try hashOf(path, 9_500)))
        #expect(later.status == "ok" && later.records == 500 && later.head == clean.head)
    }

    @Test(
        "verify hashes a batch while it reads the next: a broken link read later never hides an earlier content change")
    func verifyPipelined() async throws {
        let store = try await self.store(records: 10_000)
        defer { try? store.close() }
        let path = store.path
        // The third batch's link is read while the second batch, which holds a content change, is hashed.
        try tamper(path, "UPDATE audit SET prev_hash = '00' WHERE seq = 9000")
        var broken = try await store.verify()
        #expect(broken.firstBroken?.seq == 9_000 && broken.firstBroken?.problem == "link")
        #expect(broken.records == 9_000 && broken.head?.seq == 8_999)
        try tamper(path, "UPDATE audit SET input = '{\"note\":\"x\"}' WHERE seq = 4200")
        broken = try await store.verify()
        #expect(broken.firstBroken?.seq == 4_200 && broken.firstBroken?.problem == "content")
        #expect(broken.records == 4_200 && broken.head?.seq == 4_199)
        // The first batch is still being hashed when the second ends: its change comes first.
        try tamper(path, "UPDATE audit SET input = '{\"note\":\"y\"}' WHERE seq = 100")
        broken = try await store.verify()
        #expect(broken.firstBroken?.seq == 100 && broken.firstBroken?.problem == "content")
        #expect(broken.records == 100 && broken.head?.seq == 99)
        // The last record of a batch, and the first of the next.
        let clean = try await self.store(records: 8_193)
        defer { try? clean.close() }
        #expect(try await clean.verify().records == 8_193)
        for seq in [8_193, 4_097, 4_096] {
            try tamper(clean.path, "UPDATE audit SET action = 'x' WHERE seq = \(seq)")
            let found = try await clean.verify()
            #expect(found.firstBroken?.seq == Int64(seq) && found.firstBroken?.problem == "content", "\(seq): \(found)")
            #expect(found.head?.seq == Int64(seq - 1))
        }
    }

    /// Runs SQL on the database behind the store's back, with the update trigger dropped.
    func tamper(_ path: String, _ sql: String) throws {
        let result = try run("/usr/bin/sqlite3", [path, "DROP TRIGGER IF EXISTS audit_refuses_update; " + sql])
        #expect(result.status == 0, "\(result.errors)")
    }

    /// A store holding `count` small records.
    func store(records count: Int) async throws -> Store {
        let store = try temporaryStore()
        try await store.write { transaction in
            for index in 0..<count { try record(transaction, "n\(index)") }
        }
        return store
    }

    func hashOf(_ path: String, _ seq: Int) throws -> String {
        try run("/usr/bin/sqlite3", [path, "SELECT hash FROM audit WHERE seq = \(seq)"]).output
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The `history.count` of each event record of a patient, in the order the events were stored.
    func historyCounts(_ store: Store, _ patient: String) async throws -> [Int] {
        let inputs = try await store.read { db in
            try String.fetchAll(
                db,
                sql: """
                    SELECT a.input FROM events e JOIN audit a ON a.decision_id = e.decision_id
                    WHERE e.patient_id = ? ORDER BY e.seq
                    """, arguments: [patient])
        }
        return try inputs.map { input in
            let json = try JSONDecoder().decode(JSONValue.self, from: Data(input.utf8))
            guard case .object(let members) = json else { return -1 }
            guard case .object(let history)? = members["history"], case .number(let count)? = history["count"] else {
                return 0
            }
            return Int(count)
        }
    }

    static let at = Instant(millisecondsSinceEpoch: 1_769_904_000_000)

    func lab(_ patient: String, _ n: Int) -> JSONValue {
        [
            "id": .string("\(patient)-lab-\(n)"), "patientId": .string(patient), "type": "lab",
            "occurredAt": "2026-01-13T09:00:00Z",
            "data": ["test": "hemoglobin", "value": .number(10 + Double(n % 20) / 10), "unit": "g/dL"],
        ]
    }

    @Test("one patient's events sent at once are evaluated one after another, each on top of all before it")
    func perPatientOrder() async throws {
        let store = try temporaryStore()
        defer { try? store.close() }
        _ = try await store.ingest(
            try pleuralPatient("ORD-1").map(incoming), actor: Self.caller, settings: Self.settings, receivedAt: Self.at)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 1...24 {
                group.addTask {
                    let results = try await store.ingest(
                        [try incoming(lab("ORD-1", n))], actor: Self.caller, settings: Self.settings,
                        receivedAt: Self.at)
                    guard case .success(let result) = results[0] else { throw Refused() }
                    #expect(result.status == "accepted")
                }
                // Another patient at the same time proceeds independently.
                group.addTask {
                    _ = try await store.ingest(
                        [try incoming(lab("ORD-2", n))], actor: Self.caller, settings: Self.settings,
                        receivedAt: Self.at)
                }
            }
            try await group.waitForAll()
        }
        // The k-th stored event was evaluated with exactly the k − 1 before it: no event missed,
        // none counted twice, whatever order they arrived in.
        #expect(try await historyCounts(store, "ORD-1") == Array(0..<31))
        #expect(try await historyCounts(store, "ORD-2") == Array(0..<24))
        #expect(try await store.verify().status == "ok")
    }

    @Test("the same event id sent for two patients at once: one is stored, the other is a conflict, never both")
    func idRaceAcrossPatients() async throws {
        let store = try temporaryStore()
        defer { try? store.close() }
        for round in 0..<20 {
            let id = "SHARED-\(round)"
            let outcomes = try await withThrowingTaskGroup(of: Result<EventResultV1, Rejection>.self) { group in
                for patient in ["RA-1", "RA-2"] {
                    group.addTask {
                        var event = lab(patient, round)
                        if case .object(var fields) = event {
                            fields["id"] = .string(id)
                            event = .object(fields)
                        }
                        return try await store.ingest(
                            [try incoming(event)], actor: Self.caller, settings: Self.settings, receivedAt: Self.at)[0]
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let accepted = outcomes.filter { if case .success = $0 { true } else { false } }
            #expect(accepted.count == 1, "round \(round): \(outcomes)")
            #expect(outcomes.contains { $0 == .failure(.eventIdConflict(eventId: id)) }, "round \(round)")
        }
        let stored = try await store.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM events") }
        #expect(stored == 20)
    }

    @Test("a transaction that fails leaves nothing in memory: the next event is evaluated on what is stored")
    func failedCommitLeavesNoState() async throws {
        let store = try temporaryStore()
        defer { try? store.close() }
        _ = try await store.ingest(
            try pleuralPatient("FC-1").map(incoming), actor: Self.caller, settings: Self.settings, receivedAt: Self.at)
        let holder = try await WriteLockHolder(store.path)
        await #expect(throws: StorageUnavailable.self) {
            _ = try await store.ingest(
                [try incoming(lab("FC-1", 1))], actor: Self.caller, settings: Self.settings, receivedAt: Self.at)
        }
        try await holder.release()
        let results = try await store.ingest(
            [try incoming(lab("FC-1", 2))], actor: Self.caller, settings: Self.settings, receivedAt: Self.at)
        guard case .success = results[0] else { Issue.record("\(results[0])"); return }
        // Evaluated on the 7 stored events, not on the 8 the failed attempt had in mind.
        #expect(try await historyCounts(store, "FC-1") == Array(0..<8))
        let stored = try await store.patientEvents("FC-1")
        #expect(stored?.events.map(\.id).contains("FC-1-lab-1") == false)
    }
}
