import Foundation
import HTTPTypes
import PathwayAPI
import PathwayTestSupport
import Testing

/// `POST /v1/fhir` as an EHR integration engine meets it: the mCODE-shaped example bundle in,
/// stored like posted events, idempotent, versions superseding, dry runs storing nothing.
@Suite("POST /v1/fhir, in-process")
struct FHIRRouteTests {
    static func bundle(_ name: String = "mesothelioma-bundle.json") throws -> JSONValue {
        let url = repositoryRoot.appendingPathComponent("docs/examples/fhir/\(name)")
        return try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: url))
    }

    /// A bundle of one resource.
    static func single(_ resource: JSONValue) -> JSONValue {
        ["resourceType": "Bundle", "type": "collection", "entry": [["resource": resource]]]
    }

    static func ecog(version: String, value: Int, status: String = "final") -> JSONValue {
        [
            "resourceType": "Observation", "id": "meso-1-ecog", "meta": ["versionId": .string(version)],
            "status": .string(status), "code": ["coding": [["system": "http://loinc.org", "code": "89247-1"]]],
            "subject": ["reference": "Patient/meso-1"], "effectiveDateTime": "2026-02-20",
            "valueInteger": .number(Double(value)),
        ]
    }

    func post(_ daemon: InProcessDaemon.Client, _ bundle: JSONValue, query: String = "", as roles: [Role] = [.ehr])
        async throws -> Answer
    {
        try await daemon.request(
            .post, "/v1/fhir" + query, body: try encode(bundle), contentType: "application/fhir+json", as: roles)
    }

    func ecogFact(_ daemon: InProcessDaemon.Client) async throws -> JSONValue? {
        let state = try await daemon.getJSON(PatientStateV1.self, "/v1/patients/meso-1")
        return state.facts.first { $0.fact == "performance-status" }?.value
    }

    @Test("the example bundle is stored as events with their decisions; posted again, everything is a duplicate")
    func storeAndRepost() async throws {
        let harness = try InProcessDaemon()
        try await harness.run { daemon in
            let first = try await post(daemon, try Self.bundle())
            #expect(first.status == 200, "\(first.text)")
            let result = try first.decode(FHIRResultV1.self)
            #expect(result.accepted == 10)
            #expect(result.rejected == 0)
            #expect(result.unmapped == 1)
            #expect(result.entries.count == 14)
            #expect(result.entries[13].issues.first?.severity == "unmapped")
            #expect(try daemon.sql("SELECT count(*) FROM events WHERE patient_id = 'meso-1'") == ["10"])
            #expect(
                try daemon.sql("SELECT count(*) FROM audit WHERE action = 'event' AND patient_id = 'meso-1'") == ["10"])
            let recommendations = try await daemon.getJSON(EvaluationV1.self, "/v1/patients/meso-1/recommendations")
            #expect(recommendations.options.first { $0.id == "cisplatin-pemetrexed" }?.status == "not-eligible")

            let again = try await post(daemon, try Self.bundle())
            let repeated = try again.decode(FHIRResultV1.self)
            #expect(repeated.accepted == 0)
            #expect(repeated.duplicates == 10)
            #expect(try daemon.sql("SELECT count(*) FROM events WHERE patient_id = 'meso-1'") == ["10"])
        }
    }

    @Test("a new version supersedes the old: its events are retracted, once, and the new value counts")
    func versions() async throws {
        let harness = try InProcessDaemon()
        try await harness.run { daemon in
            #expect(try await post(daemon, try Self.bundle()).status == 200)
            #expect(try await ecogFact(daemon) == 1)
            let second = try await post(daemon, Self.single(Self.ecog(version: "2", value: 3)))
            let result = try second.decode(FHIRResultV1.self)
            #expect(
                result.entries[0].events.map(\.eventId) == [
                    "fhir-retract:fhir:Observation/meso-1-ecog/_history/1", "fhir:Observation/meso-1-ecog/_history/2",
                ])
            #expect(result.accepted == 2)
            #expect(try await ecogFact(daemon) == 3)
            // Posted again: nothing new, no second retraction.
            let again = try await post(daemon, Self.single(Self.ecog(version: "2", value: 3)))
            #expect(try again.decode(FHIRResultV1.self).entries[0].events.map(\.status) == ["duplicate"])
            // Entered in error: the value is withdrawn, and ECOG is unknown again.
            let withdrawn = try await post(
                daemon, Self.single(Self.ecog(version: "3", value: 3, status: "entered-in-error")))
            #expect(try withdrawn.decode(FHIRResultV1.self).entries[0].events.map(\.type) == ["retraction"])
            #expect(try await ecogFact(daemon) == nil)
            #expect(try await daemon.getJSON(AuditVerificationV1.self, "/v1/audit/verify").status == "ok")
        }
    }

    @Test("a dry run maps and evaluates, stores no event, and leaves one audit record per patient")
    func dryRun() async throws {
        let harness = try InProcessDaemon()
        try await harness.run { daemon in
            let answer = try await post(daemon, try Self.bundle(), query: "?dryRun=true")
            #expect(answer.status == 200, "\(answer.text)")
            let result = try answer.decode(FHIRResultV1.self)
            #expect(result.dryRun)
            #expect(result.entries.flatMap(\.events).allSatisfy { $0.status == "mapped" && $0.event != nil })
            #expect(result.evaluations?.count == 1)
            #expect(result.evaluations?.first?.patientId == "meso-1")
            #expect(try daemon.sql("SELECT count(*) FROM events") == ["0"])
            #expect(
                try daemon.sql("SELECT count(*) FROM audit WHERE action = 'what-if' AND patient_id = 'meso-1'") == ["1"]
            )
        }
    }

    @Test("refusals: not a bundle (400 naming the element), a bad dryRun, the wrong role, the wrong media type")
    func refusals() async throws {
        let harness = try InProcessDaemon()
        try await harness.run { daemon in
            let patient: JSONValue = ["resourceType": "Patient", "id": "x"]
            let notBundle = try await post(daemon, patient)
            #expect(notBundle.status == 400)
            #expect(try notBundle.json().at("error.field") == "resourceType")
            let badType = try await post(daemon, ["resourceType": "Bundle", "type": "document", "entry": []])
            #expect(try badType.json().at("error.field") == "Bundle.type")
            #expect(try await post(daemon, try Self.bundle(), query: "?dryRun=yes").status == 400)
            #expect(try await post(daemon, try Self.bundle(), as: [.clinician]).status == 403)
            let text = try await daemon.request(
                .post, "/v1/fhir", body: Array("x".utf8), contentType: "text/plain", as: [.ehr])
            #expect(text.status == 415)
            #expect(try daemon.sql("SELECT count(*) FROM events") == ["0"])
        }
    }

    @Test("an event the contract refuses is rejected in its entry (207), and the rest is stored")
    func rejectedEvent() async throws {
        let harness = try InProcessDaemon()
        try await harness.run { daemon in
            // A Karnofsky score that is not a multiple of 10 maps, and the event decoder refuses it.
            let karnofsky: JSONValue = [
                "resourceType": "Observation", "id": "kps", "status": "final",
                "code": ["coding": [["system": "http://loinc.org", "code": "89243-0"]]],
                "subject": ["reference": "Patient/meso-2"], "effectiveDateTime": "2026-02-20", "valueInteger": 75,
            ]
            let ecog: JSONValue = [
                "resourceType": "Observation", "id": "ecog", "status": "final",
                "code": ["coding": [["system": "http://loinc.org", "code": "89247-1"]]],
                "subject": ["reference": "Patient/meso-2"], "effectiveDateTime": "2026-02-20", "valueInteger": 2,
            ]
            let bundle: JSONValue = [
                "resourceType": "Bundle", "type": "batch", "entry": [["resource": karnofsky], ["resource": ecog]],
            ]
            let answer = try await post(daemon, bundle)
            #expect(answer.status == 207)
            let result = try answer.decode(FHIRResultV1.self)
            #expect(result.entries[0].events.first?.status == "rejected")
            #expect(result.entries[0].events.first?.error?.field == "data.value")
            #expect(result.entries[1].events.first?.status == "accepted")
        }
    }
}
