import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import PathwayAPI
import PathwayCore
import PathwayStore

/// `POST /v1/events` (role `ehr`): single JSON events and NDJSON batches, durable before the answer.
struct EventsController {
    let service: PathwayService

    func addRoutes(to router: Router<PathwayContext>) {
        router.group("/v1/events").add(middleware: RoleMiddleware(.roles([.ehr]), service: service))
            .post(use: post)
    }

    @Sendable func post(_ request: Request, context: PathwayContext) async throws -> Response {
        let caller = try context.requireCaller()
        try request.requireMediaType(["application/json", "application/x-ndjson"])
        let body = try await request.collectBody(limit: service.configuration.maxBodyBytes)
        let settings = service.settings
        let receivedAt = now()
        if request.mediaType == "application/json" {
            let json = try parseJSON(body.readableBytesView)
            let event: Event
            do {
                event = try EventDecoder.decode(json)
                try service.refuseFarFuture(event, now: receivedAt)
            } catch {
                service.metrics.event(EventStatus.rejected.rawValue)
                throw error
            }
            let incoming = IncomingEvent(event: event, canonical: try CanonicalJSON.encode(json))
            let results = try await service.store.ingest(
                [incoming], actor: caller, settings: settings, receivedAt: receivedAt)
            switch results[0] {
            case .success(let result):
                service.metrics.event(result.status)
                return try .json(encoding: result)
            case .failure(let rejection):
                service.metrics.event(EventStatus.rejected.rawValue)
                throw rejection
            }
        }

        // NDJSON: every line is checked; the valid ones are stored in slices (each line atomic), and
        // each line gets its result. The line count is checked before anything is parsed.
        let lineCount = body.readableBytesView.reduce(into: 1) { count, byte in
            if byte == UInt8(ascii: "\n") { count += 1 }
        }
        guard lineCount <= service.configuration.maxBatchLines + 1 else {
            throw APIError(
                .contentTooLarge, .tooManyLines,
                "an NDJSON body holds at most \(service.configuration.maxBatchLines) lines (limits.maxBatchLines); split the batch"
            )
        }
        var lines: [EventBatchResultV1.Line?] = []
        var incoming: [(index: Int, line: Int, item: IncomingEvent)] = []
        for (offset, raw) in body.readableBytesView.split(
            separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false
        )
        .enumerated() {
            let text = raw.last == UInt8(ascii: "\r") ? raw.dropLast() : raw[...]
            if text.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            let number = offset + 1
            do {
                let json = try parseJSON(text, what: "line \(number)")
                let event: Event
                do { event = try EventDecoder.decode(json) } catch { throw APIError.from(error) }
                try service.refuseFarFuture(event, now: receivedAt)
                incoming.append(
                    (lines.count, number, IncomingEvent(event: event, canonical: try CanonicalJSON.encode(json))))
                lines.append(nil)
            } catch let error as APIError {
                lines.append(
                    .init(
                        line: number, eventId: Self.eventId(in: text), status: EventStatus.rejected.rawValue,
                        error: .init(code: error.code.rawValue, message: error.message, field: error.field)))
            }
        }
        guard !lines.isEmpty else { throw APIError(.badRequest, .invalidEvent, "the body holds no events") }
        // Slices keep one batch from holding the single writer: other requests commit in between.
        for start in stride(from: 0, to: incoming.count, by: Self.batchSlice) {
            let slice = incoming[start..<min(start + Self.batchSlice, incoming.count)]
            let results = try await service.store.ingest(
                slice.map(\.item), actor: caller, settings: settings, receivedAt: receivedAt)
            for (entry, result) in zip(slice, results) {
                switch result {
                case .success(let stored):
                    lines[entry.index] = .init(
                        line: entry.line, eventId: stored.eventId, status: stored.status, decisionId: stored.decisionId,
                        changes: stored.changes)
                case .failure(let rejection):
                    lines[entry.index] = .init(
                        line: entry.line, eventId: entry.item.event.id, status: EventStatus.rejected.rawValue,
                        error: .init(code: rejection.code.rawValue, message: rejection.message, field: rejection.field))
                }
            }
        }
        let batch = EventBatchResultV1(results: lines.compactMap { $0 })
        service.metrics.event(EventStatus.accepted.rawValue, count: batch.accepted)
        service.metrics.event(EventStatus.duplicate.rawValue, count: batch.duplicates)
        service.metrics.event(EventStatus.rejected.rawValue, count: batch.rejected)
        return try .json(encoding: batch, status: batch.rejected == 0 ? .ok : .init(code: 207))
    }

    /// Events of one NDJSON body committed per writer transaction.
    static let batchSlice = 32

    /// The id of an event line that was refused, when it can be read, to help the sender match results.
    private static func eventId(in line: some Collection<UInt8>) -> String? {
        guard case .object(let members)? = try? JSONDecoder().decode(JSONValue.self, from: Data(line)),
            case .string(let id)? = members["id"]
        else { return nil }
        return id
    }

}
