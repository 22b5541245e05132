import Foundation
import PathwayAPI
import PathwayCore

/// Any bytes as a posted event: decoded and validated, or refused with a field, never a crash.
/// Foundation's JSON parser is not instrumented, so coverage comes from the event decoder: the
/// corpus (Fuzz/run writes one valid event of every type) and the dictionary (field names and
/// vocabulary) let the mutations reach past parsing.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEvents(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    guard let json = try? JSONDecoder().decode(JSONValue.self, from: Data(bytes)) else { return 0 }
    _ = JSONDuplicateKeys.first(in: bytes)
    do {
        let event = try EventDecoder.decode(json)
        _ = PatientFacts(events: [event], asOf: Instant(millisecondsSinceEpoch: 1_780_272_000_000))
    } catch {
        precondition(!error.code.isEmpty && !error.message.isEmpty)
    }
    return 0
}
