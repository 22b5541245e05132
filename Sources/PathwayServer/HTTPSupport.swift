import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import PathwayAPI
import PathwayCore
import PathwayStore

/// An answer other than 2xx, with the body of contract §10.
struct APIError: Error, Sendable {
    var status: HTTPResponse.Status
    var code: ErrorCode
    var message: String
    var field: String?
    var details: [String]?
    /// Headers the answer carries besides the body (`WWW-Authenticate` with a 401).
    var headers: HTTPFields = [:]

    init(
        _ status: HTTPResponse.Status, _ code: ErrorCode, _ message: String, field: String? = nil,
        details: [String]? = nil
    ) {
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.details = details
    }

    /// `400 invalid-request`, the most common refusal.
    static func invalidRequest(_ message: String, field: String? = nil) -> APIError {
        APIError(.badRequest, .invalidRequest, message, field: field)
    }

    static func from(_ error: EventValidationError, prefix: String = "") -> APIError {
        let field = error.field.map { prefix.isEmpty ? $0 : prefix + "." + $0 }
        let message = field.map { "\($0): \(error.message)" } ?? error.message
        return APIError(.badRequest, ErrorCode(rawValue: error.code) ?? .invalidEvent, message, field: field)
    }

    /// The one place where what went wrong becomes an HTTP answer. Everything below the routes
    /// (the store, the engine, Hummingbird) throws its own errors; they are mapped here.
    init?(mapping error: any Error) {
        switch error {
        case let error as APIError:
            self = error
        case let rejection as Rejection:
            let status: HTTPResponse.Status =
                switch rejection {
                case .eventIdConflict: .conflict
                case .unknownRetractionTarget: .badRequest
                }
            self.init(status, rejection.code, rejection.message, field: rejection.field)
        case let error as EventValidationError:
            self = .from(error)
        case is StorageUnavailable:
            self.init(
                .serviceUnavailable, .storageUnavailable,
                "the database could not be written; nothing was stored, and the request may be retried")
        default:
            return nil
        }
    }

    var response: Response {
        let body =
            (try? CanonicalJSON.encode(
                ErrorResponseV1(code: code.rawValue, message: message, field: field, details: details)))
            ?? #"{"error":{"code":"internal-error","message":"error body could not be encoded"}}"#
        var response = Response.json(body, status: status)
        response.headers.append(contentsOf: headers)
        return response
    }
}

extension Response {
    static func json(_ body: String, status: HTTPResponse.Status = .ok) -> Response {
        var buffer = ByteBuffer()
        buffer.writeString(body)
        buffer.writeString("\n")
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: ResponseBody(byteBuffer: buffer))
    }

    static func json<T: Encodable>(encoding value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        json(try CanonicalJSON.encode(value), status: status)
    }
}

extension Request {
    /// The media type without parameters, lowercased: `application/json`.
    var mediaType: String? {
        headers[.contentType].map {
            $0.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        }
    }

    /// Reads the body, refusing more than `limit` bytes with 413 before reading it when the
    /// length is declared, and while reading when it is not.
    func collectBody(limit: Int) async throws -> ByteBuffer {
        if let declared = headers[.contentLength].flatMap(Int.init), declared > limit {
            throw APIError(.contentTooLarge, .bodyTooLarge, "the body has \(declared) bytes; the limit is \(limit)")
        }
        do { return try await body.collect(upTo: limit) } catch let error as HTTPParserError {
            // A malformed chunk size is the sender's error, not a size: 400.
            throw APIError.invalidRequest("the body is not valid HTTP/1.1 (\(error))")
        } catch {
            throw APIError(.contentTooLarge, .bodyTooLarge, "the body is larger than the limit of \(limit) bytes")
        }
    }

    func requireMediaType(_ accepted: [String]) throws {
        guard let type = mediaType, accepted.contains(type) else {
            throw APIError(
                .unsupportedMediaType, .unsupportedMediaType,
                "Content-Type must be \(accepted.joined(separator: " or ")), got \(mediaType ?? "none")")
        }
    }
}

/// Parses JSON text; a syntax error is `400 invalid-json`.
/// A key written twice in one object is `400 invalid-json` naming it: parsers disagree about which
/// value wins, so the sender and pathwayd could read different facts from the same bytes.
func parseJSON(_ bytes: some Collection<UInt8>, what: String = "the body") throws -> JSONValue {
    let value: JSONValue
    do { value = try JSONDecoder().decode(JSONValue.self, from: Data(bytes)) } catch {
        throw APIError(.badRequest, .invalidJSON, "\(what) is not valid JSON")
    }
    try refuseDuplicateKeys(bytes, what: what)
    return value
}

func refuseDuplicateKeys(_ bytes: some Collection<UInt8>, what: String = "the body") throws {
    if let key = JSONDuplicateKeys.first(in: bytes) {
        throw APIError(.badRequest, .invalidJSON, "\(what) has the key \"\(key)\" twice", field: key)
    }
}

/// Decodes a JSON request body into a wire type; a shape error names the field.
func decodeBody<T: Decodable>(_ type: T.Type, _ buffer: ByteBuffer) throws -> T {
    let data = Data(buffer.readableBytesView)
    guard (try? JSONDecoder().decode(JSONValue.self, from: data)) != nil else {
        throw APIError(.badRequest, .invalidJSON, "the body is not valid JSON")
    }
    try refuseDuplicateKeys(buffer.readableBytesView)
    do { return try JSONDecoder().decode(T.self, from: data) } catch {
        var field: String?
        var message = "\(error)"
        switch error {
        case DecodingError.keyNotFound(let key, let context):
            field = (context.codingPath + [key]).map(\.stringValue).joined(separator: ".")
            message = "\(field!): required"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context),
            DecodingError.dataCorrupted(let context):
            field = context.codingPath.map(\.stringValue).joined(separator: ".")
            message = "\(field!): \(context.debugDescription)"
        default: break
        }
        throw APIError.invalidRequest(message, field: field)
    }
}

/// The wall clock, the one place the daemon reads it.
func now() -> Instant {
    Instant(millisecondsSinceEpoch: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)))
}

func newDecisionId() -> String { UUID().uuidString.lowercased() }
