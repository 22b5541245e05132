import Foundation
import Glibc
import PathwayAPI
import PathwayTestSupport
import Testing

/// The way EHRs call: HTTPS to a real nginx (Debian's, with the shipped Config/nginx/pathwayd.conf
/// and a self-signed certificate) in front of a real pathwayd, CDS Hooks client JWTs signed with a
/// key whose JWKS file the daemon is configured with. nginx's workers run as `nobody`, which holds
/// only the gateway role.
@Suite("the TLS gateway: real nginx in front of real pathwayd")
struct GatewayTests {
    static let issuer = "https://ehr.example.org/cds-client"
    /// A second client, its keys made and its token signed by scripts/cds-client-token (the
    /// way docs/gateway.md has an integrator try the gateway).
    static let scriptedIssuer = "https://scripted.example.org/cds-client"

    @Test("discovery, a patient-view call, feedback and refused tokens through nginx over TLS; answers conform")
    func throughNginx() async throws {
        let setup = try await Setup()
        defer { setup.stop() }
        let (daemon, gateway, client) = (setup.daemon, setup.gateway, setup.client)
        let base = gateway.baseURL

        // Discovery, then the specification's own patient-view request (a patient with demographics only).
        let discovery = try gateway.call(
            "GET", "/cds-services", token: try await client.sign(client.claims(audience: base + "/cds-services")))
        #expect(discovery.status == 200, "\(discovery.body)")
        let view = "/cds-services/pathwayd-patient-view"
        let spec = try gateway.call(
            "POST", view, token: try await client.sign(client.claims(audience: base + view)),
            body: try String(
                contentsOf: repositoryRoot.appendingPathComponent("docs/examples/cds-hooks/patient-view-request.json"),
                encoding: .utf8))
        #expect(spec.status == 200, "\(spec.body)")

        // The mesothelioma bundle is stored through the socket (the EHR's integration engine);
        // the board's EHR then asks for the patient through the gateway.
        let bundle = try Data(
            contentsOf: repositoryRoot.appendingPathComponent("docs/examples/fhir/mesothelioma-bundle.json"))
        let stored = try await daemon.request(
            "POST", "/v1/fhir", body: Array(bundle), contentType: "application/fhir+json")
        #expect(stored.status == 200, "\(stored.text)")
        let meso = try gateway.call(
            "POST", view, token: try await client.sign(client.claims(audience: base + view)),
            body:
                #"{"hook":"patient-view","hookInstance":"d1577c69-dfbe-44ad-ba6d-3e05e953b2ea","context":{"userId":"Practitioner/1","patientId":"meso-1"}}"#
        )
        #expect(meso.status == 200, "\(meso.body)")
        let card = try #require(try meso.json().at("cards.0"))
        let cardId = try #require(card.at("uuid")?.string)
        let suggestion = try #require(card.at("suggestions.0.uuid")?.string)

        // The tumor board accepts the first suggestion; the feedback is in the adherence report.
        let feedback =
            #"{"feedback":[{"card":"\#(cardId)","outcome":"accepted","acceptedSuggestions":[{"id":"\#(suggestion)"}],"outcomeTimestamp":"2026-12-03T10:00:00Z"}]}"#
        let feedbackPath = view + "/feedback"
        let fed = try gateway.call(
            "POST", feedbackPath, token: try await client.sign(client.claims(audience: base + feedbackPath)),
            body: feedback)
        #expect(fed.status == 200, "\(fed.body)")
        let adherence = try await daemon.getJSON(AdherenceReportV1.self, "/v1/reports/adherence")
        #expect(adherence.rows.first { $0.dimension == "all" }?.onPathway == 1, "\(adherence)")

        // What CDS Hooks 2.0 says these documents are, checked by a third-party validator.
        let documents = gateway.directory
        try discovery.body.write(
            to: documents.appendingPathComponent("discovery.json"), atomically: true, encoding: .utf8)
        try spec.body.write(to: documents.appendingPathComponent("spec.json"), atomically: true, encoding: .utf8)
        try meso.body.write(to: documents.appendingPathComponent("meso.json"), atomically: true, encoding: .utf8)
        try feedback.write(to: documents.appendingPathComponent("feedback.json"), atomically: true, encoding: .utf8)
        for (kind, files) in [
            ("discovery", ["discovery.json"]), ("response", ["spec.json", "meso.json"]),
            ("feedback", ["feedback.json"]),
        ] {
            let check = try run(
                repositoryRoot.appendingPathComponent("scripts/check-cds-hooks").path,
                [kind] + files.map { documents.appendingPathComponent($0).path })
            #expect(check.status == 0, "\(kind): \(check.output) \(check.errors)")
        }

        // The second client, as docs/gateway.md has an integrator try it: keys and token from
        // scripts/cds-client-token.
        let scripted = try run(
            repositoryRoot.appendingPathComponent("scripts/cds-client-token").path,
            [
                "token", "--key", gateway.directory.appendingPathComponent("scripted.key.pem").path, "--issuer",
                Self.scriptedIssuer, "--audience", base + "/cds-services",
            ])
        #expect(scripted.status == 0, "\(scripted.errors)")
        let fromScript = try gateway.call(
            "GET", "/cds-services", token: scripted.output.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(fromScript.status == 200, "\(fromScript.body)")

        // Refused: no token, a replayed one, one for another audience. 401, with the challenge,
        // through nginx; nothing else of pathwayd is reachable through it.
        let replayed = try await client.sign(client.claims(audience: base + "/cds-services"))
        #expect(try gateway.call("GET", "/cds-services", token: replayed).status == 200)
        for (name, token) in [
            ("none", nil), ("replayed", replayed),
            (
                "other audience",
                try await client.sign(client.claims(audience: "https://elsewhere.example.org/cds-services"))
            ),
        ] as [(String, String?)] {
            let refused = try gateway.call("GET", "/cds-services", token: token)
            #expect(refused.status == 401, "\(name): \(refused.body)")
            #expect(refused.headers.lowercased().contains("www-authenticate: bearer"), "\(name): \(refused.headers)")
            #expect(try refused.json().at("error.code")?.string == "unauthorized", "\(name)")
        }
        let health = try gateway.call("GET", "/v1/health", token: nil)
        #expect(health.status == 404, "\(health.body)")

        // The audit trail: the views and the feedback under the client's name (as nginx's uid),
        // the refusals under the gateway's.
        let nobody = "65534"
        #expect(
            try daemon.sql(
                "SELECT DISTINCT actor_uid, actor_user, actor_roles FROM audit WHERE action IN ('view', 'feedback')")
                == ["\(nobody)|\(Self.issuer)|clinician"])
        #expect(try daemon.sql("SELECT count(*) FROM audit WHERE action = 'view'") == ["2"])
        #expect(
            try daemon.sql("SELECT actor_uid, actor_roles, count(*) FROM audit WHERE action = 'denied' GROUP BY 1, 2")
                == ["\(nobody)|gateway|3"])
    }

    /// Every check of schemathesis but one: no 5xx, status codes, media types, headers and bodies as
    /// the document says, schema-violating requests refused, undeclared methods 405 with `Allow`.
    /// Left out is positive-data acceptance: a service answers one hook only (`pathwayd-tumor-board`
    /// refuses `patient-view` with 400), a dependency between the path and the body that OpenAPI
    /// cannot state, and feedback names a card that must exist.
    @Test("schemathesis through nginx: the CDS Hooks operations answer as documented, never with a server error")
    func schemathesis() async throws {
        let setup = try await Setup()
        defer { setup.stop() }
        let gateway = setup.gateway
        let key = gateway.directory.appendingPathComponent("client-key.pem")
        try setup.client.privateKeyPEM.write(to: key, atomically: true, encoding: .utf8)
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONPATH"] = repositoryRoot.appendingPathComponent("scripts/schemathesis").path
        environment["SCHEMATHESIS_HOOKS"] = "cds_client_jwt"
        environment["CDS_CLIENT_KEY"] = key.path
        environment["CDS_CLIENT_ISSUER"] = Self.issuer
        environment["CDS_BASE_URL"] = gateway.baseURL
        let result = try run(
            "/usr/bin/env",
            [
                "python3", "-m", "schemathesis.cli", "run",
                repositoryRoot.appendingPathComponent("Sources/PathwayServer/openapi.json").path,
                "--url", gateway.baseURL, "--include-path-regex", "^/cds-services", "--checks", "all",
                "--exclude-checks", "positive_data_acceptance",
                "--tls-verify", gateway.certificate, "--max-examples", "40", "--seed", "1", "--no-color",
            ], environment: environment)
        #expect(result.status == 0, "schemathesis:\n\(result.output)\n\(result.errors)")
        // It did call the operations, through the gateway, with tokens the daemon accepted.
        let served = try setup.daemon.sql("SELECT count(*) FROM audit WHERE action = 'view' AND actor_uid = 65534")
        #expect((Int(served.first ?? "") ?? 0) > 0, "no hook call was served: \(result.output)")
    }

    /// A daemon whose gateway role is nobody's, with one CDS client, and nginx in front of it.
    struct Setup {
        let daemon: DaemonHarness
        let gateway: NginxGateway
        let client: CDSTestClient

        init() async throws {
            guard getuid() == 0 else {
                throw HarnessError("GatewayTests run nginx's workers as nobody, which needs root (CI runs as root)")
            }
            guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/nginx") else {
                throw HarnessError("nginx is not installed: apt-get install nginx (.ci/run installs it)")
            }
            client = await CDSTestClient(issuer: GatewayTests.issuer)
            gateway = try NginxGateway()
            let jwks = gateway.directory.appendingPathComponent("client.jwks.json")
            try client.jwks.write(to: jwks, atomically: true, encoding: .utf8)
            let keygen = try run(
                repositoryRoot.appendingPathComponent("scripts/cds-client-token").path,
                ["keygen", gateway.directory.appendingPathComponent("scripted").path])
            guard keygen.status == 0 else { throw HarnessError("scripts/cds-client-token keygen: \(keygen.errors)") }
            daemon = try DaemonHarness(
                socketMode: "0666",
                roles: """
                      ehr:       { users: ["@self"] }
                      clinician: { users: ["@self"] }
                      auditor:   { users: ["@self"] }
                      admin:     { users: ["@self"] }
                      gateway:   { users: [nobody] }
                    """,
                limits: "refusalsPerMinute: 1000",
                extra: """
                    cdsHooks:
                      baseURL: \(gateway.baseURL)
                      clients:
                        - { issuer: "\(GatewayTests.issuer)", jwks: \(jwks.path) }
                        - { issuer: "\(GatewayTests.scriptedIssuer)", jwks: \(gateway.directory.path)/scripted.jwks.json }
                    """)
            try await daemon.start()
            try gateway.start(socket: daemon.socket)
        }

        func stop() {
            gateway.stop()
            daemon.stop()
        }
    }
}

/// Debian's nginx with the shipped site file, rewritten only in its socket, certificate paths and
/// listening address, inside a minimal main configuration of its own directory.
final class NginxGateway: @unchecked Sendable {
    let directory: URL
    let port: Int
    private var process: Process?
    var baseURL: String { "https://localhost:\(port)" }
    var certificate: String { directory.appendingPathComponent("tls/gateway.crt").path }

    init() throws {
        directory = URL(fileURLWithPath: "/tmp/pwg-" + String(UUID().uuidString.prefix(8)))
        try FileManager.default.createDirectory(
            at: directory.appendingPathComponent("tls"), withIntermediateDirectories: true)
        chmod(directory.path, 0o755)
        port = try Self.freePort()
        let tls = try run(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                "-keyout", directory.appendingPathComponent("tls/gateway.key").path, "-out", certificate,
            ])
        guard tls.status == 0 else { throw HarnessError("openssl: \(tls.errors)") }
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }

    func start(socket: String) throws {
        var site = try String(
            contentsOf: repositoryRoot.appendingPathComponent("Config/nginx/pathwayd.conf"), encoding: .utf8)
        for (shipped, here) in [
            ("unix:/run/pathwayd/pathwayd.sock", "unix:" + socket),
            ("listen 443 ssl;", "listen 127.0.0.1:\(port) ssl;"),
            ("/etc/pathwayd/tls/", directory.path + "/tls/"),
        ] {
            guard site.contains(shipped) else {
                throw HarnessError("Config/nginx/pathwayd.conf no longer has \(shipped)")
            }
            site = site.replacingOccurrences(of: shipped, with: here)
        }
        let path = directory.path
        try site.write(toFile: path + "/pathwayd.conf", atomically: true, encoding: .utf8)
        let main = """
            daemon off;
            user nobody nogroup;
            worker_processes 1;
            pid \(path)/nginx.pid;
            error_log \(path)/error.log info;
            events { worker_connections 256; }
            http {
                access_log \(path)/access.log;
                client_body_temp_path \(path)/body;
                proxy_temp_path \(path)/proxy;
                fastcgi_temp_path \(path)/fastcgi;
                uwsgi_temp_path \(path)/uwsgi;
                scgi_temp_path \(path)/scgi;
                include \(path)/pathwayd.conf;
            }
            """
        try main.write(toFile: path + "/nginx.conf", atomically: true, encoding: .utf8)
        let test = try run("/usr/sbin/nginx", ["-t", "-c", path + "/nginx.conf", "-e", path + "/error.log"])
        guard test.status == 0 else { throw HarnessError("nginx -t: \(test.errors)") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/nginx")
        process.arguments = ["-c", path + "/nginx.conf", "-e", path + "/error.log"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        for _ in 0..<250 {
            if let answer = try? call("GET", "/", token: nil), answer.status == 404 { return }
            guard process.isRunning else { break }
            usleep(20_000)
        }
        throw HarnessError(
            "nginx did not answer on \(baseURL): \((try? String(contentsOfFile: path + "/error.log", encoding: .utf8)) ?? "")"
        )
    }

    func stop() {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        _ = exitStatus(of: process, within: 30)
        self.process = nil
    }

    struct Answer {
        var status: Int
        var headers: String
        var body: String
        func json() throws -> JSONValue { try JSONDecoder().decode(JSONValue.self, from: Data(body.utf8)) }
    }

    /// One HTTPS request with curl, the certificate as the only trusted root.
    func call(_ method: String, _ path: String, token: String?, body: String? = nil) throws -> Answer {
        let headers = directory.appendingPathComponent("headers-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: headers) }
        var arguments = [
            "-s", "--max-time", "30", "--cacert", certificate, "-X", method, "-D", headers, "-w", "\n%{http_code}",
        ]
        if let token { arguments += ["-H", "Authorization: Bearer " + token] }
        if let body { arguments += ["-H", "Content-Type: application/json", "--data-binary", body] }
        let result = try run("/usr/bin/curl", arguments + [baseURL + path])
        guard result.status == 0, let split = result.output.range(of: "\n", options: .backwards) else {
            throw HarnessError("curl \(method) \(path): exit \(result.status) \(result.errors)")
        }
        return Answer(
            status: Int(result.output[split.upperBound...]) ?? 0,
            headers: (try? String(contentsOfFile: headers, encoding: .utf8)) ?? "",
            body: String(result.output[..<split.lowerBound]))
    }

    /// A loopback port nothing listens on now.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else { throw HarnessError("no free port: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
