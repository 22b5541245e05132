import Foundation
import HTTPTypes
import PathwayAPI
import PathwayTestSupport
import Testing

/// CDS Hooks 2.0 as an EHR's CDS client meets it: discovery, a patient-view call whose facts come
/// from the prefetch and the store, cards, and feedback that lands in the adherence report.
@Suite("CDS Hooks, in-process")
struct CDSHooksRouteTests {
    /// The example bundle's resources, as a searchset per prefetch key (the patient as itself).
    static func prefetch(editing change: ((inout [JSONValue]) -> Void)? = nil) throws -> JSONValue {
        guard case .array(var entries)? = try FHIRRouteTests.bundle().at("entry") else { throw HarnessError("entries") }
        change?(&entries)
        let resources = entries.compactMap { $0.at("resource") }
        func search(_ type: String) -> JSONValue {
            [
                "resourceType": "Bundle", "type": "searchset",
                "entry": .array(resources.filter { $0.at("resourceType") == .string(type) }.map { ["resource": $0] }),
            ]
        }
        return [
            "patient": resources[0], "conditions": search("Condition"), "observations": search("Observation"),
            "allergies": search("AllergyIntolerance"), "medications": search("MedicationStatement"),
            "procedures": .null,
        ]
    }

    static func call(_ hook: String = "patient-view", patient: String = "meso-1", prefetch: JSONValue) -> JSONValue {
        [
            "hook": .string(hook), "hookInstance": "5b7c3c6e-0000-4000-8000-000000000001",
            "context": ["userId": "Practitioner/1", "patientId": .string(patient)], "prefetch": prefetch,
        ]
    }

    func post(_ daemon: InProcessDaemon.Client, _ path: String, _ body: JSONValue, as roles: [Role] = [.clinician])
        async throws -> Answer
    {
        try await daemon.request(.post, path, body: try encode(body), contentType: "application/json", as: roles)
    }

    @Test("discovery lists both services with their prefetch templates")
    func discovery() async throws {
        let harness = try InProcessDaemon()
        try await harness.run { daemon in
            let answer = try await daemon.get("/cds-services", as: [.auditor])
            #expect(answer.status == 200)
            let services = try answer.decode(CDSHooks.Discovery.self).services
            #expect(services.map(\.hook) == ["patient-view", "tumor-board-review"])
            #expect(services[0].prefetch["patient"] == "Patient/{{context.patientId}}")
            #expect(services[0].prefetch["observations"] == "Observation?patient={{context.patientId}}")
        }
    }

    @Test(
        "patient-view from the prefetch alone: a recommendation card named by its decision id, audited, nothing stored")
    func patientView() async throws {
        let harness = try InProcessDaemon()
        try await harness.run { daemon in
            let answer = try await post(
                daemon, "/cds-services/pathwayd-patient-view", Self.call(prefetch: try Self.prefetch()))
            #expect(answer.status == 200, "\(answer.text)")
            let cards = try answer.decode(CDSHooks.Response.self).cards
            let card = try #require(cards.first)
            #expect(card.summary.unicodeScalars.count < 140)
            #expect(card.summary.hasPrefix("Recommended: Carboplatin + pemetrexed"))
            // The local formulary code is not read: said, and the card is a warning.
            #expect(card.indicator == "warning")
            #expect(card.detail?.contains("Not read from the EHR") == true)
            #expect(card.detail?.contains("ATORVA-20") == true)
            #expect(card.suggestions?.first?.isRecommended == true)
            #expect(card.source.label.contains("pleural-mesothelioma"))
            #expect(
                try daemon.sql("SELECT action, patient_id FROM audit WHERE decision_id = '\(card.uuid)'") == [
                    "view|meso-1"
                ])
            #expect(try daemon.sql("SELECT count(*) FROM events") == ["0"])
            let replay = try await daemon.request(.post, "/v1/audit/decisions/\(card.uuid)/replay", as: [.auditor])
            #expect(try replay.json().at("status") == "identical", "\(replay.text)")
        }
    }

    @Test("the CDS Hooks specification's patient-view request: demographics only, a card saying no pathway applies yet")
    func specificationExample() async throws {
        let harness = try InProcessDaemon()
        try await harness.run { daemon in
            let body = try Data(
                contentsOf: repositoryRoot.appendingPathComponent("docs/examples/cds-hooks/patient-view-request.json"))
            let answer = try await daemon.request(
                .post, "/cds-services/pathwayd-patient-view", body: Array(body), contentType: "application/json",
                as: [.clinician])
            #expect(answer.status == 200, "\(answer.text)")
            let card = try #require(try answer.decode(CDSHooks.Response.self).cards.first)
            #expect(card.summary.hasPrefix("No treatment pathway applies yet"))
            #expect(card.suggestions == nil)
            // The access token the EHR sent is not written to the audit trail.
            #expect(try daemon.sql("SELECT count(*) FROM audit WHERE input LIKE '%opaque%'") == ["0"])
        }
    }

    @Test("stored events and the prefetch together; a prefetched new version replaces the stored one")
    func storedAndPrefetched() async throws {
        let harness = try InProcessDaemon()
        try await harness.run { daemon in
            let stored = try await daemon.request(
                .post, "/v1/fhir", body: try encode(try FHIRRouteTests.bundle()), contentType: "application/fhir+json",
                as: [.ehr])
            #expect(stored.status == 200)
            let prefetch: JSONValue = [
                "observations": [
                    "resourceType": "Bundle", "type": "searchset",
                    "entry": [["resource": FHIRRouteTests.ecog(version: "2", value: 3)]],
                ]
            ]
            let answer = try await post(
                daemon, "/cds-services/pathwayd-tumor-board", Self.call("tumor-board-review", prefetch: prefetch))
            #expect(answer.status == 200, "\(answer.text)")
            let card = try #require(try answer.decode(CDSHooks.Response.self).cards.first)
            let output = try daemon.sql("SELECT input FROM audit WHERE decision_id = '\(card.uuid)'")
            // The stored ECOG (version 1) was replaced: every event is inline, none referenced.
            #expect(output.first?.contains("\"history\"") == false)
            #expect(output.first?.contains("meso-1-ecog/_history/2") == true)
            #expect(output.first?.contains("meso-1-ecog/_history/1") == false)
            let replay = try await daemon.request(.post, "/v1/audit/decisions/\(card.uuid)/replay", as: [.auditor])
            #expect(try replay.json().at("status") == "identical", "\(replay.text)")
            #expect(try daemon.sql("SELECT count(*) FROM events") == ["10"])
        }
    }

    @Test("a reported stage group the daemon disagrees with becomes a warning card of its own")
    func alertCard() async throws {
        let harness = try InProcessDaemon()
        try await harness.run { daemon in
            let prefetch = try Self.prefetch { entries in
                guard case .object(var entry) = entries[2], case .object(var resource)? = entry["resource"] else {
                    return
                }
                resource["valueCodeableConcept"] = ["coding": [["system": "http://cancerstaging.org", "code": "IB"]]]
                entry["resource"] = .object(resource)
                entries[2] = .object(entry)
            }
            let answer = try await post(daemon, "/cds-services/pathwayd-patient-view", Self.call(prefetch: prefetch))
            let cards = try answer.decode(CDSHooks.Response.self).cards
            #expect(cards.count == 2)
            #expect(cards.last?.indicator == "warning")
            #expect(cards.last?.uuid != cards.first?.uuid)
        }
    }

    @Test("feedback: an accepted suggestion and an override with its reason land in the adherence report")
    func feedback() async throws {
        let harness = try InProcessDaemon()
        try await harness.run { daemon in
            let answer = try await post(
                daemon, "/cds-services/pathwayd-patient-view", Self.call(prefetch: try Self.prefetch()))
            let card = try #require(try answer.decode(CDSHooks.Response.self).cards.first)
            let suggestion = try #require(card.suggestions?.first)
            let accepted: JSONValue = [
                "feedback": [
                    [
                        "card": .string(card.uuid), "outcome": "accepted",
                        "acceptedSuggestions": [["id": .string(suggestion.uuid)]],
                        "outcomeTimestamp": "2026-03-04T16:42:10Z",
                    ]
                ]
            ]
            let first = try await post(daemon, "/cds-services/pathwayd-patient-view/feedback", accepted)
            #expect(first.status == 200, "\(first.text)")
            #expect(try first.json().at("results")?.array?.first?.at("onPathway") == true)

            func overridden(_ reason: JSONValue?) -> JSONValue {
                var item: [String: JSONValue] = [
                    "card": .string(card.uuid), "outcome": "overridden", "outcomeTimestamp": "2026-03-04T16:42:10Z",
                ]
                if let reason { item["overrideReason"] = ["reason": reason, "userComment": "board chose otherwise"] }
                return ["feedback": [.object(item)]]
            }
            let noReason = try await post(daemon, "/cds-services/pathwayd-patient-view/feedback", overridden(nil))
            #expect(noReason.status == 400)
            #expect(try noReason.json().at("error.field") == "feedback[0].overrideReason.reason")
            let reason: JSONValue = [
                "system": "http://terminology.hl7.org/CodeSystem/non-adherence-reason-codes",
                "code": "patient-contraindication",
            ]
            let second = try await post(daemon, "/cds-services/pathwayd-patient-view/feedback", overridden(reason))
            #expect(second.status == 200, "\(second.text)")
            #expect(
                try daemon.sql("SELECT outcome, reason_code FROM feedback ORDER BY rowid") == [
                    "accepted|", "overridden|patient-contraindication",
                ])

            let unknown: JSONValue = [
                "feedback": [
                    [
                        "card": "00000000-0000-4000-8000-000000000000", "outcome": "accepted",
                        "outcomeTimestamp": "2026-03-04T16:42:10Z",
                    ]
                ]
            ]
            let refused = try await post(daemon, "/cds-services/pathwayd-patient-view/feedback", unknown)
            #expect(refused.status == 400)
            #expect(try refused.json().at("error.field") == "feedback[0].card")
        }
    }

    @Test(
        "refusals: an unknown service (404), the wrong hook, a bad patient id, a prefetch that is not a resource, the wrong role"
    )
    func refusals() async throws {
        let harness = try InProcessDaemon()
        try await harness.run { daemon in
            #expect(try await post(daemon, "/cds-services/nope", Self.call(prefetch: [:])).status == 404)
            let wrongHook = try await post(
                daemon, "/cds-services/pathwayd-patient-view", Self.call("order-select", prefetch: [:]))
            #expect(try wrongHook.json().at("error.field") == "hook")
            let badPatient = try await post(
                daemon, "/cds-services/pathwayd-patient-view", Self.call(patient: "a b", prefetch: [:]))
            #expect(try badPatient.json().at("error.field") == "context.patientId")
            let badPrefetch = try await post(
                daemon, "/cds-services/pathwayd-patient-view", Self.call(prefetch: ["patient": 5]))
            #expect(try badPrefetch.json().at("error.field") == "prefetch.patient")
            #expect(
                try await post(daemon, "/cds-services/pathwayd-patient-view", Self.call(prefetch: [:]), as: [.ehr])
                    .status == 403)
        }
    }
}
