// The transport floor for the load benchmark: Hummingbird on a Unix socket with one route that
// reads the body and answers a small JSON document, with no validation, evaluation or storage.
// `scripts/bench-load` runs the same load client against it and against pathwayd.
import Foundation
import Hummingbird

let arguments = CommandLine.arguments
guard arguments.count == 2 else {
    print("usage: pathwayd-floor SOCKET")
    exit(2)
}
let router = Router()
router.post("/v1/events") { request, _ -> Response in
    _ = try await request.body.collect(upTo: 1 << 20)
    var buffer = ByteBuffer()
    buffer.writeString(
        #"{"changes":[],"decisionId":"00000000-0000-0000-0000-000000000000","eventId":"x","status":"accepted"}"#)
    return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: buffer))
}
let app = Application(
    router: router, configuration: .init(address: .unixDomainSocket(path: arguments[1]), serverName: "floor"))
try await app.runService()
