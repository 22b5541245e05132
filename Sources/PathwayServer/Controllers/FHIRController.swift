import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import PathwayAPI
import PathwayCore
import PathwayFHIR
import PathwayStore

/// `POST /v1/fhir` (role `ehr`, contract §7): a FHIR R4 Bundle of mCODE-shaped resources becomes
/// contract events, stored exactly like `POST /v1/events` (durable before the answer, each with
/// its audited decision); `?dryRun=true` maps and evaluates without storing.
struct FHIRController {
    let service: PathwayService

    func addRoutes(to router: Router<PathwayContext>) {
        router.group("/v1/fhir").add(middleware: RoleMiddleware(.roles([.ehr]), service: service))
            .post(use: post)
    }

    /// One event to store for an entry: a mapped one, or the retraction of another version's.
    private struct Item {
        var entry: Int
        var id: String
        var type: String
        var patientId: String
        var json: JSONValue
    }

    @Sendable func post(_ request: Request, context: PathwayContext) async throws -> Response {
        let caller = try context.requireCaller()
        try request.requireMediaType(["application/fhir+json", "application/json"])
        let dryRun: Bool
        switch request.uri.queryParameters["dryRun"].map(String.init) {
        case nil, "false": dryRun = false
        case "true": dryRun = true
        case let other?: throw APIError.invalidRequest("dryRun: true or false, not \(other)", field: "dryRun")
        }
        let body = try await request.collectBody(limit: service.configuration.maxBodyBytes)
        let json = try parseJSON(body.readableBytesView)
        let settings = service.settings
        let mapping: FHIRMapping
        do { mapping = try FHIRMapper(terminology: settings.rules.terminology).map(json) } catch {
            throw APIError.invalidRequest("\(error.element): \(error.message)", field: error.element)
        }
        guard mapping.entries.count <= service.configuration.maxBatchLines else {
            throw APIError(
                .contentTooLarge, .tooManyLines,
                "a bundle holds at most \(service.configuration.maxBatchLines) entries (limits.maxBatchLines); split it"
            )
        }
        let receivedAt = now()
        var entries = mapping.entries.map {
            FHIRResultV1.Entry(entry: $0.index, resource: $0.resource, events: [], issues: $0.issues)
        }
        let items = try await itemsToStore(mapping, entries: &entries)

        // Every event is checked as if it had been posted to /v1/events.
        var valid: [(item: Item, incoming: IncomingEvent)] = []
        for item in items {
            do {
                let event = try EventDecoder.decode(item.json)
                try service.refuseFarFuture(event, now: receivedAt)
                valid.append((item, IncomingEvent(event: event, canonical: try CanonicalJSON.encode(item.json))))
            } catch {
                let refusal = APIError(mapping: error) ?? APIError.invalidRequest("\(error)")
                entries[item.entry].events.append(
                    FHIRResultV1.Event(
                        eventId: item.id, type: item.type, patientId: item.patientId,
                        status: EventStatus.rejected.rawValue,
                        error: .init(code: refusal.code.rawValue, message: refusal.message, field: refusal.field),
                        event: dryRun ? item.json : nil))
            }
        }
        if dryRun {
            for (item, _) in valid {
                entries[item.entry].events.append(
                    FHIRResultV1.Event(
                        eventId: item.id, type: item.type, patientId: item.patientId, status: "mapped", event: item.json
                    ))
            }
            let evaluations = try await evaluate(valid.map(\.incoming), caller: caller, settings: settings)
            return try .json(encoding: FHIRResultV1(dryRun: true, entries: entries, evaluations: evaluations))
        }
        for start in stride(from: 0, to: valid.count, by: EventsController.batchSlice) {
            let slice = valid[start..<min(start + EventsController.batchSlice, valid.count)]
            let results = try await service.store.ingest(
                slice.map(\.incoming), actor: caller, settings: settings, receivedAt: receivedAt)
            for ((item, _), result) in zip(slice, results) {
                switch result {
                case .success(let stored):
                    service.metrics.event(stored.status)
                    entries[item.entry].events.append(
                        FHIRResultV1.Event(
                            eventId: item.id, type: item.type, patientId: item.patientId, status: stored.status,
                            decisionId: stored.decisionId, changes: stored.changes))
                case .failure(let rejection):
                    service.metrics.event(EventStatus.rejected.rawValue)
                    entries[item.entry].events.append(
                        FHIRResultV1.Event(
                            eventId: item.id, type: item.type, patientId: item.patientId,
                            status: EventStatus.rejected.rawValue,
                            error: .init(
                                code: rejection.code.rawValue, message: rejection.message, field: rejection.field)))
                }
            }
        }
        let result = FHIRResultV1(dryRun: false, entries: entries)
        return try .json(encoding: result, status: result.rejected == 0 ? .ok : .init(code: 207))
    }

    /// The events to store, entry by entry: first the retractions of what other versions of the
    /// entry's resource made (a new version supersedes the old; a deletion, an entered-in-error
    /// or a version that cannot be read any more leaves nothing of it), then the mapped events.
    private func itemsToStore(_ mapping: FHIRMapping, entries: inout [FHIRResultV1.Entry]) async throws -> [Item] {
        let keys = mapping.entries.compactMap(\.supersedes)
        let stored =
            keys.isEmpty ? [] : try await service.store.events(idPrefixes: keys + keys.map(Self.retractionId(of:)))
        let storedIds = Set(stored.map(\.id))
        var items: [Item] = []
        for entry in mapping.entries {
            if let key = entry.supersedes {
                let current = Set(entry.events.map(\.id))
                let earlier = stored.filter { old in
                    (old.id == key || old.id.hasPrefix(key + "/") || old.id.hasPrefix(key + "+"))
                        && !current.contains(old.id) && !storedIds.contains(Self.retractionId(of: old.id))
                }
                for old in earlier {
                    let id = Self.retractionId(of: old.id)
                    items.append(
                        Item(
                            entry: entry.index, id: id, type: "retraction", patientId: old.patientId,
                            json: [
                                "id": .string(id), "patientId": .string(old.patientId), "type": "retraction",
                                "occurredAt": .string(old.occurredAt.description), "source": "fhir",
                                "data": ["eventId": .string(old.id)],
                            ]))
                }
                if !earlier.isEmpty {
                    entries[entry.index].issues.append(
                        FHIRResultV1.Issue(
                            severity: "note", element: "meta.versionId",
                            message: "retracts what an earlier version made: "
                                + earlier.map(\.id).joined(separator: ", ")))
                }
            }
            items += entry.events.map {
                Item(entry: entry.index, id: $0.id, type: $0.type, patientId: $0.patientId, json: $0.json)
            }
        }
        return items
    }

    /// The id of the retraction of an event made of a FHIR resource: the same for the same event
    /// whichever later version retracts it, so a re-posted bundle retracts nothing twice.
    static func retractionId(of eventId: String) -> String {
        "fhir-retract:" + eventId
    }

    /// A dry run's evaluations: per patient, the stored events and the mapped ones. Stores nothing
    /// but the audit record of each, as a what-if.
    private func evaluate(_ incoming: [IncomingEvent], caller: Caller, settings: EvaluationSettings) async throws
        -> [EvaluationV1]
    {
        var order: [String] = []
        var byPatient: [String: [IncomingEvent]] = [:]
        for item in incoming {
            if byPatient[item.event.patientId] == nil { order.append(item.event.patientId) }
            byPatient[item.event.patientId, default: []].append(item)
        }
        var evaluations: [EvaluationV1] = []
        for patientId in order {
            let stored = try await service.store.patientEvents(patientId)
            let added = byPatient[patientId]!
            let decisionId = newDecisionId()
            let recorded = try RecordedEvaluation.evaluate(
                events: (stored?.events ?? []) + added.map(\.event),
                bodies: (stored?.bodies ?? []) + added.map(\.canonical), referenced: stored?.bodies.count ?? 0,
                historyOf: stored == nil ? nil : patientId, patientId: patientId, decisionId: decisionId, now: now(),
                settings: settings)
            try await service.audit(
                actor: caller, action: .whatIf, patientId: patientId, input: recorded.input,
                output: "{\"evaluation\":" + (try recorded.json) + "}", decisionId: decisionId,
                revision: settings.rules.revision)
            evaluations.append(recorded.evaluation)
        }
        return evaluations
    }
}
