import Foundation
import HTTPTypes
import PathwayAPI
import PathwayTestSupport
import Testing

/// The role policy of every route, checked for every role and for a caller with none: refused
/// requests are `403 forbidden` and each refusal is in the audit trail; allowed ones pass the
/// policy (whatever the route then answers).
@Suite("role policy, in-process")
struct PolicyTests {
    /// Contract §2: who may call what.
    static let routes: [(HTTPRequest.Method, String, Set<Role>?)] = [
        (.get, "/v1/health", nil),
        (.post, "/v1/events", [.ehr]),
        (.get, "/v1/patients/P-1", [.clinician]),
        (.get, "/v1/patients/P-1/recommendations", [.clinician]),
        (.post, "/v1/patients/P-1/feedback", [.clinician]),
        (.post, "/v1/evaluate", [.clinician]),
        (.get, "/v1/rules", Set(InProcessDaemon.Client.everyRole)),
        (.post, "/v1/rules/reload", [.admin]),
        (.post, "/v1/rules/impact", [.admin]),
        (.get, "/v1/audit/decisions", [.auditor]),
        (.get, "/v1/audit/decisions/D-1", [.auditor]),
        (.post, "/v1/audit/decisions/D-1/replay", [.auditor]),
        (.get, "/v1/audit/verify", [.auditor]),
        (.get, "/v1/audit/export", [.auditor]),
        (.get, "/v1/reports/adherence", [.auditor, .clinician]),
        (.get, "/v1/metrics", [.admin]),
        (.post, "/v1/fhir", [.ehr]),
        (.get, "/cds-services", Set(InProcessDaemon.Client.everyRole)),
        (.get, "/v1/openapi.json", Set(InProcessDaemon.Client.everyRole)),
        (.post, "/cds-services/pathwayd-patient-view", [.clinician]),
        (.post, "/cds-services/pathwayd-tumor-board/feedback", [.clinician]),
    ]

    @Test("every route × every role: refused unless the contract grants it, and every refusal is audited")
    func matrix() async throws {
        // More refusals than the default limit per minute: every one is to be recorded here.
        let harness = try InProcessDaemon(limits: "refusalsPerMinute: 1000")
        let refusals = try await harness.run { daemon in
            var refusals = 0
            for (method, path, allowed) in Self.routes {
                for roles in Role.grantable.map({ [$0] }) + [[]] {
                    let answer = try await daemon.request(
                        method, path, body: Array("{}".utf8), contentType: "application/json", as: roles)
                    let permitted = allowed.map { !$0.isDisjoint(with: roles) } ?? true
                    if roles == [.gateway] && path.hasPrefix("/cds-services") {
                        // The gateway's calls need a CDS client token (CDSClientTokenTests); none here.
                        refusals += 1
                        #expect(answer.status == 401, "\(method) \(path) as gateway: \(answer.text)")
                        #expect(try answer.json().at("error.code")?.string == "unauthorized")
                    } else if permitted {
                        #expect(answer.status != 403, "\(method) \(path) as \(roles): \(answer.text)")
                    } else {
                        refusals += 1
                        #expect(answer.status == 403, "\(method) \(path) as \(roles): \(answer.text)")
                        #expect(try answer.json().at("error.code")?.string == "forbidden")
                        let message = try answer.json().at("error.message")?.string ?? ""
                        #expect(message.contains("needs "), "\(message)")
                    }
                }
            }
            return refusals
        }
        // Health is open; the rest refuse the caller with no role and every role they
        // do not grant (the gateway, without a token, included).
        let expected = Self.routes.reduce(0) { sum, route in
            guard let allowed = route.2 else { return sum }
            return sum + Role.grantable.count - allowed.count + 1
        }
        #expect(refusals == expected)
        let denied = try harness.sql("SELECT count(*) FROM audit WHERE action = 'denied'")
        #expect(denied == [String(expected)])
        // A refusal names the route template and the method, and who was refused.
        let inputs = try harness.sql("SELECT input FROM audit WHERE action = 'denied' AND patient_id = 'P-1' LIMIT 1")
        #expect(inputs.first?.contains(#""route":"/v1/patients/{id}""#) == true, "\(inputs)")
        #expect(try harness.sql("SELECT DISTINCT actor_user FROM audit WHERE action = 'denied'") == ["test-4242"])
    }

    @Test("beyond limits.refusalsPerMinute a uid's refusals are counted, not recorded one by one")
    func refusalLimit() async throws {
        let harness = try InProcessDaemon(limits: "refusalsPerMinute: 5")
        try await harness.run { daemon in
            for _ in 0..<40 {
                let answer = try await daemon.get("/v1/audit/verify", as: [.ehr])
                #expect(answer.status == 403)
            }
            // Another uid has its own allowance.
            #expect(try await daemon.request(.get, "/v1/metrics", as: [.ehr], uid: 5000).status == 403)
        }
        #expect(try harness.sql("SELECT count(*) FROM audit WHERE action = 'denied' AND actor_uid = 4242") == ["5"])
        #expect(try harness.sql("SELECT count(*) FROM audit WHERE action = 'denied' AND actor_uid = 5000") == ["1"])
    }

    @Test("an identifier over the contract's limits is refused before the policy or any record")
    func identifiers() async throws {
        let harness = try InProcessDaemon()
        try await harness.run { daemon in
            let long = String(repeating: "A", count: 65)
            for path in [
                "/v1/patients/\(long)", "/v1/patients/a%20b/recommendations",
                "/v1/audit/decisions/\(String(repeating: "d", count: 129))",
            ] {
                // No role at all: the identifier is refused first, so nothing is recorded.
                let answer = try await daemon.get(path, as: [])
                #expect(answer.status == 400, "\(path): \(answer.text)")
                #expect(try answer.json().at("error.field")?.string == "id")
            }
        }
        #expect(try harness.sql("SELECT count(*) FROM audit WHERE action = 'denied'") == ["0"])
    }

    @Test("audit filters are the contract's vocabulary: an unknown action or format is 400 naming the known ones")
    func vocabulary() async throws {
        let harness = try InProcessDaemon()
        try await harness.run { daemon in
            let action = try await daemon.get("/v1/audit/decisions?action=delete")
            #expect(action.status == 400)
            #expect(try action.json().at("error.message")?.string?.contains("rules-reload") == true)
            let format = try await daemon.get("/v1/audit/export?format=xml")
            #expect(format.status == 400)
            #expect(try format.json().at("error.message")?.string?.contains("fhir-auditevent") == true)
            // The start-up record is there, by the daemon itself, with the version.
            let page = try await daemon.getJSON(AuditPageV1.self, "/v1/audit/decisions?action=rules-reload")
            #expect(page.records.count == 1)
            #expect(page.records.first?.actor.roles == ["daemon"])
        }
    }
}
