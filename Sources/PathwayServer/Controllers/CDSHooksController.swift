import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import PathwayAPI
import PathwayCore
import PathwayFHIR
import PathwayStore

/// CDS Hooks 2.0 (contract §8): discovery, the `patient-view` and `tumor-board-review` services,
/// and feedback. The patient's facts are what is stored for them together with the prefetched
/// resources (mapped as `POST /v1/fhir` maps them, never stored); every call leaves an audit
/// record, and the recommendation card's `uuid` is its decision id.
struct CDSHooksController {
    let service: PathwayService

    static let prefetch: [String: String] = [
        "patient": "Patient/{{context.patientId}}",
        "conditions": "Condition?patient={{context.patientId}}",
        "observations": "Observation?patient={{context.patientId}}",
        "allergies": "AllergyIntolerance?patient={{context.patientId}}",
        "medications": "MedicationStatement?patient={{context.patientId}}",
        "procedures": "Procedure?patient={{context.patientId}}",
    ]

    static let services: [CDSHooks.Service] = [
        CDSHooks.Service(
            hook: "patient-view", id: "pathwayd-patient-view", title: "Oncology treatment pathway",
            description:
                "Ranked pathway options, trials that could apply, missing data and safety alerts for the patient in view.",
            prefetch: prefetch),
        CDSHooks.Service(
            hook: "tumor-board-review", id: "pathwayd-tumor-board", title: "Tumor board pathway review",
            description:
                "The patient's pathway evaluation for a tumor board: ranked options with reasons, trial eligibility criterion by criterion, missing data and alerts.",
            prefetch: prefetch),
    ]

    func addRoutes(to router: Router<PathwayContext>) {
        let group = router.group("/cds-services").add(middleware: GatewayMiddleware(service: service))
        group.add(middleware: RoleMiddleware(.anyRole, service: service)).get(use: discovery)
        let clinician = router.group("/cds-services").add(middleware: GatewayMiddleware(service: service)).add(
            middleware: RoleMiddleware(.roles([.clinician]), service: service))
        clinician.post(":service", use: call)
        clinician.post(":service/feedback", use: feedback)
    }

    @Sendable func discovery(_ request: Request, context: PathwayContext) async throws -> Response {
        try .json(encoding: CDSHooks.Discovery(services: Self.services))
    }

    private func service(_ context: PathwayContext) throws -> CDSHooks.Service {
        let id = try context.parameters.require("service")
        guard let found = Self.services.first(where: { $0.id == id }) else {
            throw APIError(
                .notFound, .notFound,
                "no CDS service \(id) (services: \(Self.services.map(\.id).joined(separator: ", ")))", field: "service")
        }
        return found
    }

    @Sendable func call(_ request: Request, context: PathwayContext) async throws -> Response {
        let caller = try context.requireCaller()
        let cdsService = try service(context)
        try request.requireMediaType(["application/json"])
        let body = try await request.collectBody(limit: service.configuration.maxBodyBytes)
        _ = try parseJSON(body.readableBytesView)  // duplicate keys, depth, and a clean 400
        let hook = try decodeBody(CDSHooks.Request.self, body)
        guard hook.hook == cdsService.hook else {
            throw APIError.invalidRequest(
                "hook: \(cdsService.id) answers \(cdsService.hook), not \(hook.hook)", field: "hook")
        }
        let patientId = hook.context.patientId
        guard (1...64).contains(patientId.utf8.count), patientId.utf8.allSatisfy(EventDecoder.isPatientIdByte) else {
            throw APIError.invalidRequest(
                "context.patientId: must be 1–64 characters of A-Z a-z 0-9 . _ : -", field: "context.patientId")
        }
        let settings = service.settings
        let (events, bodies, referenced, notRead) = try await facts(
            of: patientId, prefetch: hook.prefetch ?? [:], settings: settings)
        let decisionId = newDecisionId()
        let at = now()
        let recorded = try RecordedEvaluation.evaluate(
            events: events, bodies: bodies, referenced: referenced, historyOf: referenced > 0 ? patientId : nil,
            patientId: patientId, decisionId: decisionId, now: at, settings: settings)
        let (cards, suggestions) = CDSCards(
            evaluation: recorded.evaluation, tumorBoard: cdsService.hook == "tumor-board-review", notRead: notRead
        ).cards()
        let answer = CDSHooks.Response(cards: cards)
        // The record keeps the cards and which option each suggestion stands for (feedback names
        // suggestions by uuid).
        try await service.audit(
            actor: caller, action: .view, patientId: patientId, input: recorded.input,
            output: "{\"cards\":" + (try CanonicalJSON.encode(cards)) + ",\"evaluation\":" + (try recorded.json)
                + ",\"suggestions\":" + (try CanonicalJSON.encode(suggestions)) + "}",
            decisionId: decisionId, at: at, revision: settings.rules.revision, subjects: recorded.subjects)
        return try .json(encoding: answer)
    }

    /// The patient's events for a hook call: the stored ones, less those a prefetched resource
    /// replaces (another version of it), then the prefetched ones not stored yet. `referenced`
    /// counts the leading stored events (all of them unless one was replaced, so that replay
    /// finds exactly what was evaluated). `notRead` lists what of the prefetch could not be used.
    private func facts(of patientId: String, prefetch: [String: JSONValue], settings: EvaluationSettings) async throws
        -> (events: [Event], bodies: [String], referenced: Int, notRead: [String])
    {
        var resources: [JSONValue] = []
        for key in prefetch.keys.sorted() {
            switch prefetch[key]! {
            case .null: continue
            case .object(let resource) where resource["resourceType"] == "Bundle":
                if case .array(let entries)? = resource["entry"] {
                    for entry in entries { if let resource = entry["resource"] { resources.append(resource) } }
                }
            case .object: resources.append(prefetch[key]!)
            default:
                throw APIError.invalidRequest(
                    "prefetch.\(key): must be a FHIR resource, a Bundle or null", field: "prefetch.\(key)")
            }
        }
        var mapped: [FHIRMapping.Entry] = []
        if !resources.isEmpty {
            let bundle: JSONValue = [
                "resourceType": "Bundle", "type": "collection",
                "entry": .array(resources.map { ["resource": $0] }),
            ]
            do { mapped = try FHIRMapper(terminology: settings.rules.terminology).map(bundle).entries } catch {
                throw APIError.invalidRequest("prefetch: \(error.element): \(error.message)", field: "prefetch")
            }
        }
        var notRead: [String] = []
        var added: [(Event, String)] = []
        for entry in mapped {
            let name = entry.resource ?? "entry \(entry.index)"
            for issue in entry.issues where issue.severity == "unmapped" {
                notRead.append("\(name) — \(issue.element): \(issue.message)")
            }
            for event in entry.events where event.patientId == patientId {
                do {
                    added.append((try EventDecoder.decode(event.json), try CanonicalJSON.encode(event.json)))
                } catch {
                    notRead.append("\(name): \(error)")
                }
            }
        }
        let stored = try await service.store.patientEvents(patientId)
        let replaced = Set(mapped.compactMap(\.supersedes))
        let addedIds = Set(added.map(\.0.id))
        var events: [Event] = []
        var bodies: [String] = []
        var referenced = 0
        var kept = true
        for (event, body) in zip(stored?.events ?? [], stored?.bodies ?? []) {
            let key = replaced.first { event.id == $0 || event.id.hasPrefix($0 + "/") || event.id.hasPrefix($0 + "+") }
            if key != nil && !addedIds.contains(event.id) {
                kept = false
                continue
            }
            events.append(event)
            bodies.append(body)
            if kept { referenced += 1 }
        }
        if !kept { referenced = 0 }
        let storedIds = Set(events.map(\.id))
        for (event, body) in added where !storedIds.contains(event.id) {
            events.append(event)
            bodies.append(body)
        }
        return (events, bodies, referenced, notRead)
    }

    @Sendable func feedback(_ request: Request, context: PathwayContext) async throws -> Response {
        let caller = try context.requireCaller()
        _ = try service(context)
        try request.requireMediaType(["application/json"])
        let body = try await request.collectBody(limit: service.configuration.maxBodyBytes)
        _ = try parseJSON(body.readableBytesView)
        let items = try decodeBody(CDSHooks.Feedback.self, body).feedback
        guard !items.isEmpty, items.count <= 100 else {
            throw APIError.invalidRequest("feedback: 1–100 items", field: "feedback")
        }
        // Every item is checked before any is recorded: a refused item records nothing.
        var accepted: [(FeedbackV1, String)] = []
        for (index, item) in items.enumerated() {
            accepted.append(try await translate(item, field: "feedback[\(index)]"))
        }
        var results: [JSONValue] = []
        for (feedback, patientId) in accepted {
            let output = try await service.recordFeedback(feedback, patientId: patientId, caller: caller)
            results.append(try parseJSON(Array(output.utf8)))
        }
        return .json(try CanonicalJSON.encode(["results": JSONValue.array(results)]))
    }

    /// A CDS Hooks feedback item as contract §6 feedback: the card is a recommendation card
    /// (its uuid the decision id); an accepted suggestion names the option, an override is about
    /// the first-ranked option and needs a coded reason.
    private func translate(_ item: CDSHooks.Feedback.Item, field: String) async throws -> (FeedbackV1, String) {
        guard let record = try await service.store.auditRecord(item.card), let patientId = record.patientId,
            let output = try? JSONDecoder().decode(CardsOutput.self, from: Data(try record.output.utf8))
        else {
            throw APIError(
                .badRequest, .invalidFeedback,
                "\(field).card: \(item.card) is not a recommendation card of this service (its uuid is the decision id)",
                field: "\(field).card")
        }
        switch item.outcome {
        case "accepted":
            guard let chosen = item.acceptedSuggestions?.first?.id, let optionId = output.suggestions[chosen] else {
                throw APIError(
                    .badRequest, .invalidFeedback,
                    "\(field).acceptedSuggestions: name the suggestion (uuid) of the card that was accepted",
                    field: "\(field).acceptedSuggestions")
            }
            return (FeedbackV1(decisionId: item.card, optionId: optionId, outcome: "accepted"), patientId)
        case "overridden":
            let card = output.cards.first { $0.uuid == item.card }
            guard let first = card?.suggestions?.first(where: { $0.isRecommended == true }),
                let optionId = output.suggestions[first.uuid]
            else {
                throw APIError(
                    .badRequest, .invalidFeedback, "\(field).card: the card recommended nothing to override",
                    field: "\(field).card")
            }
            guard let reason = item.overrideReason?.reason else {
                throw APIError(
                    .badRequest, .invalidFeedback,
                    "\(field).overrideReason.reason: an override needs a coded reason (HL7 non-adherence reason code)",
                    field: "\(field).overrideReason.reason")
            }
            try OverrideReasons.check(reason.code, field: "\(field).overrideReason.reason.code")
            return (
                FeedbackV1(
                    decisionId: item.card, optionId: optionId, outcome: "overridden",
                    reason: FeedbackV1.Reason(
                        code: reason.code, system: reason.system, text: item.overrideReason?.userComment)),
                patientId
            )
        default:
            throw APIError(
                .badRequest, .invalidFeedback, "\(field).outcome: accepted or overridden, not \(item.outcome)",
                field: "\(field).outcome")
        }
    }
}

/// The part of a hook call's audit output that feedback reads.
private struct CardsOutput: Decodable {
    var cards: [CDSHooks.Card]
    var suggestions: [String: String]
}
