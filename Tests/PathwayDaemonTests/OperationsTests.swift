import Foundation
import Glibc
import PathwayAPI
import PathwayClient
import PathwayTestSupport
import Synchronization
import Testing

/// The daemon as the ops engineer runs it: roles, signals, crashes, reloads, systemd.
@Suite("pathwayd operations", .serialized)
struct OperationsTests {
    @Test(
        "a peer with no role may read health only; the refusal is answered 403 and audited",
        .enabled(if: getuid() == 0, "needs root to run the client as another uid"))
    func peerWithoutRole() async throws {
        let daemon = try DaemonHarness(socketMode: "0666")
        try await daemon.start()
        defer { daemon.stop() }
        try await daemon.postNDJSON(pleuralPatient("ROLE-1"))
        func asNobody(_ arguments: [String]) throws -> Run {
            try run(
                "/usr/bin/setpriv",
                [
                    "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/curl", "-s", "-w", "\n%{http_code}",
                    "--unix-socket", daemon.socket,
                ] + arguments)
        }
        let health = try asNobody(["http://localhost/v1/health"])
        #expect(health.output.hasSuffix("\n200"), "\(health.output) \(health.errors)")
        let before = try daemon.sql("SELECT count(*) FROM audit WHERE action = 'denied'")
        for path in [
            "/v1/patients/ROLE-1", "/v1/patients/ROLE-1/recommendations", "/v1/audit/verify", "/v1/rules",
            "/v1/metrics",
        ] {
            let refused = try asNobody(["http://localhost" + path])
            #expect(refused.output.hasSuffix("\n403"), "\(path): \(refused.output)")
            #expect(refused.output.contains("\"code\":\"forbidden\""))
        }
        let post = try asNobody([
            "-X", "POST", "-H", "Content-Type: application/json", "--data", "{}", "http://localhost/v1/events",
        ])
        #expect(post.output.hasSuffix("\n403"))
        #expect(before == ["0"])
        #expect(try daemon.sql("SELECT count(*) FROM audit WHERE action = 'denied' AND actor_uid = 65534") == ["6"])
        #expect(
            try daemon.sql("SELECT patient_id FROM audit WHERE action = 'denied' AND input LIKE '%recommendations%'")
                == ["ROLE-1"])
        // Roles by group: a clinician by group id reads the patient.
        #expect(try await daemon.getJSON(AuditVerificationV1.self, "/v1/audit/verify").status == "ok")
    }

    @Test(
        "roles come from the configuration by user or group, name or id",
        .enabled(if: getuid() == 0, "needs root to run the client as another uid"))
    func rolesByGroup() async throws {
        let daemon = try DaemonHarness(
            socketMode: "0666",
            roles: """
                  ehr:       { users: ["@self"] }
                  clinician: { groups: ["65534"] }
                  auditor:   { users: [root] }
                  admin:     { users: ["0"] }
                """)
        try await daemon.start()
        defer { daemon.stop() }
        try await daemon.postNDJSON(pleuralPatient("GRP-1"))
        let asNobody = try run(
            "/usr/bin/setpriv",
            [
                "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/curl", "-s", "-w", "\n%{http_code}",
                "--unix-socket", daemon.socket, "http://localhost/v1/patients/GRP-1/recommendations",
            ])
        #expect(asNobody.output.hasSuffix("\n200"), "\(asNobody.output)")
        // root is not a clinician here.
        #expect(try await daemon.get("/v1/patients/GRP-1").status == 403)
        #expect(try await daemon.get("/v1/metrics").status == 200)
    }

    @Test("SIGTERM finishes and exits 0; a second daemon on a live socket refuses to start; a stale socket is replaced")
    func lifecycle() async throws {
        let daemon = try DaemonHarness()
        try await daemon.start()
        let second = try runBinary("pathwayd", ["--config", daemon.configPath])
        #expect(second.status != 0)
        #expect(second.errors.contains("another pathwayd"), "\(second.errors)")
        #expect(try await daemon.get("/v1/health").status == 200, "the first daemon must keep its socket")

        #expect(daemon.stop() == 0)
        #expect(daemon.log.contains("audit checkpoint"))
        #expect(daemon.log.contains("database closed"))
        // After a crash the socket file stays behind; the next start replaces it.
        try await daemon.start()
        daemon.crash()
        #expect(FileManager.default.fileExists(atPath: daemon.socket))
        try await daemon.start()
        #expect(try await daemon.get("/v1/health").status == 200)
        daemon.stop()
    }

    @Test("a configuration with an unknown key or a bad value is refused at start, naming it")
    func badConfiguration() async throws {
        let directory = "/tmp/pw-cfg-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cases = [
            (
                "socket: { path: /tmp/x.sock, mdoe: \"0660\" }\ndatabase: { path: /tmp/x.db }\nrules: { directory: Rules }\nroles: {}\n",
                "socket.mdoe"
            ),
            (
                "socket: { path: /tmp/x.sock }\ndatabase: { path: /tmp/x.db, synchronous: off }\nrules: { directory: Rules }\nroles: {}\n",
                "database.synchronous"
            ),
            (
                "socket: { path: /tmp/x.sock }\ndatabase: { path: /tmp/x.db }\nrules: { directory: Rules }\nroles: { doctor: { users: [a] } }\n",
                "roles.doctor"
            ),
        ]
        for (yaml, field) in cases {
            let path = directory + "/c.yaml"
            try yaml.write(toFile: path, atomically: true, encoding: .utf8)
            let result = try run(binaries.appendingPathComponent("pathwayd").path, ["--config", path])
            #expect(result.status == 2)
            #expect(result.errors.contains(field), "\(result.errors)")
        }
    }

    @Test("Config/development.yaml is the embedded development default")
    func developmentDefaults() async throws {
        let file = try String(
            contentsOf: repositoryRoot.appendingPathComponent("Config/development.yaml"), encoding: .utf8)
        let printed = try run(binaries.appendingPathComponent("pathwayd").path, ["--print-config"])
        let fromFile = try run(
            binaries.appendingPathComponent("pathwayd").path,
            ["--config", repositoryRoot.appendingPathComponent("Config/development.yaml").path, "--print-config"])
        #expect(printed.status == 0)
        #expect(printed.output == fromFile.output)
        #expect(file.contains("@self"))
    }

    @Test("sd_notify: READY=1 at start, RELOADING=1 with MONOTONIC_USEC on SIGHUP, STOPPING=1 on SIGTERM")
    func systemdNotify() async throws {
        let daemon = try DaemonHarness()
        let listener = try NotifyListener(path: daemon.directory.appendingPathComponent("notify").path)
        daemon.environment["NOTIFY_SOCKET"] = listener.path
        try await daemon.start()
        let ready = listener.receive(until: { $0.contains("READY=1") })
        #expect(ready.contains { $0.contains("READY=1") && $0.contains("STATUS=serving rules sha256:") })
        daemon.signal(SIGHUP)
        let reload = listener.receive(until: { $0.contains("READY=1") })
        let reloading = reload.first { $0.contains("RELOADING=1") }
        #expect(reloading?.contains("MONOTONIC_USEC=") == true, "\(reload)")
        #expect(reload.last?.contains("READY=1") == true)
        daemon.signal(SIGTERM)
        let stopping = listener.receive(until: { $0.contains("STOPPING=1") })
        #expect(stopping.contains { $0.contains("STOPPING=1") })
        #expect(daemon.stop() == 0)
        #expect(
            try daemon.sql("SELECT count(*) FROM audit WHERE action = 'rules-reload' AND input LIKE '%SIGHUP%'") == [
                "1"
            ])
    }

    @Test(
        "reload of a broken rules set under load: refused with file and line, no request fails, the running set stays")
    func reloadUnderLoad() async throws {
        let daemon = try DaemonHarness(copyRules: true)
        try await daemon.start()
        defer { daemon.stop() }
        let revision = try await daemon.getJSON(HealthV1.self, "/v1/health").rules.revision
        let state = LoadState<Int>(0)
        let client = daemon.client
        let load = Task {
            await withTaskGroup(of: Void.self) { group in
                for worker in 0..<4 {
                    group.addTask {
                        var n = 0
                        while !state.stop.load(ordering: .relaxed) {
                            n += 1
                            for event in pleuralPatient("LOAD-\(worker)-\(n)") {
                                do {
                                    let response = try await client.request(
                                        "POST", "/v1/events", body: try encode(event), contentType: "application/json")
                                    if response.status == 200 {
                                        state.acknowledged.withLock { $0 += 1 }
                                    } else {
                                        state.failures.withLock { $0.append("\(response.status) \(response.text)") }
                                    }
                                } catch { state.failures.withLock { $0.append("\(error)") } }
                            }
                        }
                    }
                }
            }
        }
        try await Task.sleep(for: .microseconds(300_000))
        let broken = daemon.rulesDirectory.appendingPathComponent("broken.yaml")
        try "pack: broken\nversion: 1\nsettings: [\n".write(to: broken, atomically: true, encoding: .utf8)
        let refused = try await daemon.request("POST", "/v1/rules/reload", body: [])
        #expect(refused.status == 422)
        let error = try JSONDecoder().decode(ErrorResponseV1.self, from: Data(refused.body))
        #expect(error.error.code == "rules-invalid")
        #expect(error.error.details?.contains { $0.contains("broken.yaml:") } == true, "\(error)")
        daemon.signal(SIGHUP)  // the same broken set through the signal
        try await Task.sleep(for: .microseconds(300_000))
        try FileManager.default.removeItem(at: broken)
        // A valid change (a comment appended to a pack): the set reloads and the revision changes.
        let pack = daemon.rulesDirectory.appendingPathComponent("staging.yaml")
        try (try String(contentsOf: pack, encoding: .utf8) + "\n# reviewed\n").write(
            to: pack, atomically: true, encoding: .utf8)
        let accepted = try await daemon.request("POST", "/v1/rules/reload", body: [])
        try await Task.sleep(for: .microseconds(300_000))
        state.stop.store(true, ordering: .relaxed)
        await load.value
        #expect(state.failures.withLock { $0 }.isEmpty, "\(state.failures.withLock { $0.prefix(3) })")
        #expect(state.acknowledged.withLock { $0 } > 20)
        #expect(accepted.status == 200, "\(accepted.text)")
        let result = try JSONDecoder().decode(ReloadResultV1.self, from: Data(accepted.body))
        #expect(result.from == revision)
        #expect(result.to != revision)
        #expect(try await daemon.getJSON(HealthV1.self, "/v1/health").rules.revision == result.to)
        // The outputs of v2 records are compressed: read them through the auditor's API.
        let page = try await daemon.getJSON(AuditPageV1.self, "/v1/audit/decisions?action=rules-reload")
        var refusedReloads = 0
        for record in page.records {
            let full = try await daemon.getJSON(AuditRecordV1.self, "/v1/audit/decisions/\(record.decisionId)")
            if full.output?.at("status")?.string == "refused" { refusedReloads += 1 }
        }
        #expect(refusedReloads == 2, "\(page.records.map(\.decisionId))")
        #expect(try await daemon.getJSON(AuditVerificationV1.self, "/v1/audit/verify").status == "ok")
    }

    @Test("a user, group or socket group the system does not have is refused at start, by name")
    func unknownNamesRefused() async throws {
        let daemon = try DaemonHarness(
            roles: """
                  clinician: { users: [no-such-clinician] }
                  auditor:   { groups: [no-such-group] }
                  admin:     { users: ["@self"] }
                """)
        await #expect(throws: HarnessError.self) { try await daemon.start() }
        #expect(daemon.log.contains("roles.clinician.users: no-such-clinician"), "\(daemon.log)")
        #expect(daemon.log.contains("roles.auditor.groups: no-such-group"))
        #expect(daemon.log.contains("not starting"))
    }

    @Test("a role account outside the socket's group is named in a warning at start")
    func roleAccountsWithoutSocketAccess() async throws {
        let daemon = try DaemonHarness(
            roles: """
                  clinician: { users: [nobody] }
                  admin:     { users: ["@self"] }
                """, socketGroup: "root")
        try await daemon.start()
        #expect(daemon.stop() == 0)
        #expect(daemon.log.contains("cannot connect: nobody (clinician)"), "\(daemon.log.prefix(600))")
    }

    @Test("under the journal, log lines carry syslog priorities; --version answers and /v1/health carries it")
    func journalAndVersion() async throws {
        let version = try run(binaries.appendingPathComponent("pathwayd").path, ["--version"])
        #expect(version.output.trimmingCharacters(in: .whitespacesAndNewlines) == PathwayVersion.current)
        let daemon = try DaemonHarness()
        daemon.environment["JOURNAL_STREAM"] = "8:12345"
        try await daemon.start()
        #expect(try await daemon.getJSON(HealthV1.self, "/v1/health").version == PathwayVersion.current)
        #expect(daemon.stop() == 0)
        let lines = daemon.log.split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("<5>pathwayd: audit checkpoint") }, "\(lines.prefix(5))")
        #expect(lines.allSatisfy { $0.first == "<" }, "\(lines.prefix(5))")
    }

    @Test("a rules edit that breaks a safety invariant is refused at reload with its counterexample, and at start")
    func unsafeRulesAreRefused() async throws {
        let daemon = try DaemonHarness(copyRules: true, safetyPatients: 1_000)
        try await daemon.start()
        let revision = try await daemon.getJSON(HealthV1.self, "/v1/health").rules.revision
        // The author deletes the declined-chemotherapy gate: every chemotherapy option would then be
        // offered to a patient who declined chemotherapy.
        let safety = daemon.rulesDirectory.appendingPathComponent("safety.yaml")
        let original = try String(contentsOf: safety, encoding: .utf8)
        var lines = original.components(separatedBy: "\n")
        let start = try #require(lines.firstIndex { $0.contains("- id: declined-chemotherapy") })
        lines.removeSubrange(start..<(start + 5))
        try lines.joined(separator: "\n").write(to: safety, atomically: true, encoding: .utf8)
        let refused = try await daemon.request("POST", "/v1/rules/reload", body: [])
        #expect(refused.status == 422, "\(refused.text)")
        let error = try JSONDecoder().decode(ErrorResponseV1.self, from: Data(refused.body))
        #expect(error.error.code == "rules-invalid")
        let problem = try #require(error.error.details?.first { $0.contains("safety-invariant") }, "\(error)")
        #expect(problem.contains("invariants.yaml:"))
        #expect(problem.contains("no-chemotherapy-when-declined-or-unfit") || problem.contains("declined"))
        #expect(problem.contains("\"declines\":\"chemotherapy\""), "the counterexample holds the refusal: \(problem)")
        #expect(error.error.details?.contains { $0.hasPrefix("safety: 1000 patients") } == true)
        #expect(try await daemon.getJSON(HealthV1.self, "/v1/health").rules.revision == revision)
        #expect(daemon.stop() == 0)
        // The same set is refused at start: the daemon does not come up on unsafe rules.
        await #expect(throws: HarnessError.self) { try await daemon.start() }
        #expect(daemon.log.contains("safety-invariant"))
        try original.write(to: safety, atomically: true, encoding: .utf8)
    }

    @Test("kill -9 during a 16-client load: after restart every acknowledged event and its decision are there")
    func crashLosesNothingAcknowledged() async throws {
        let daemon = try DaemonHarness()
        for cycle in 1...3 {
            try await daemon.start()
            let state = LoadState<[(String, String)]>([])
            let client = daemon.client
            let load = Task {
                await withTaskGroup(of: Void.self) { group in
                    for worker in 0..<16 {
                        group.addTask {
                            var n = 0
                            while !state.stop.load(ordering: .relaxed) {
                                n += 1
                                let event = pleuralPatient("K\(cycle)-\(worker)-\(n)")[n % 5]
                                guard let body = try? encode(event),
                                    let response = try? await client.request(
                                        "POST", "/v1/events", body: body, contentType: "application/json")
                                else { continue }
                                if response.status == 200,
                                    let result = try? JSONDecoder().decode(
                                        EventResultV1.self, from: Data(response.body))
                                {
                                    state.acknowledged.withLock { $0.append((result.eventId, result.decisionId)) }
                                }
                            }
                        }
                    }
                }
            }
            // Until enough is acknowledged to make the check meaningful (a loaded machine is slow),
            // then a little longer, so the kill lands mid-flight.
            let deadline = Date().addingTimeInterval(30)
            while state.acknowledged.withLock({ $0.count }) < 30, Date() < deadline {
                try await Task.sleep(for: .microseconds(20_000))
            }
            try await Task.sleep(for: .milliseconds(cycle * 150))
            daemon.crash()
            state.stop.store(true, ordering: .relaxed)
            await load.value
            try await daemon.start()
            let acked = state.acknowledged.withLock { $0 }
            #expect(acked.count > 20, "cycle \(cycle): only \(acked.count) acknowledged")
            let stored = Set(try daemon.sql("SELECT id || ' ' || decision_id FROM events"))
            let decisions = Set(try daemon.sql("SELECT decision_id FROM audit WHERE action = 'event'"))
            let lost = acked.filter { !stored.contains("\($0.0) \($0.1)") || !decisions.contains($0.1) }
            #expect(lost.isEmpty, "cycle \(cycle): \(lost.count) of \(acked.count) acknowledged events lost")
            #expect(try await daemon.getJSON(AuditVerificationV1.self, "/v1/audit/verify").status == "ok")
            daemon.stop()
        }
    }
}

/// A datagram socket standing in for systemd's notify socket.
final class NotifyListener: @unchecked Sendable {
    let path: String
    private let fd: Int32

    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0 else { throw HarnessError("bind \(path): \(errno)") }
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    /// Messages received until one satisfies `done`, or 20 s pass.
    func receive(until done: (String) -> Bool) -> [String] {
        var messages: [String] = []
        let deadline = Date().addingTimeInterval(20)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { continue }
            let message = String(decoding: buffer[0..<count], as: UTF8.self)
            messages.append(message)
            if done(message) { break }
        }
        return messages
    }
}

/// What load workers share with the test that runs them.
final class LoadState<Acknowledged: Sendable>: Sendable {
    let failures = Mutex<[String]>([])
    let acknowledged: Mutex<Acknowledged>
    let stop = Atomic(false)

    init(_ initial: Acknowledged) { acknowledged = Mutex(initial) }
}
