import Foundation
import PathwayAPI
import PathwayCore

/// Any bytes as a posted event: decoded and validated, or refused with a field, never a crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEvents(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(UnsafeBufferPointer(start: data, count: size))
    guard let json = try? JSONDecoder().decode(JSONValue.self, from: bytes) else { return 0 }
    do {
        let event = try EventDecoder.decode(json)
        _ = PatientFacts(events: [event])
    } catch {
        precondition(!error.code.isEmpty && !error.message.isEmpty)
    }
    return 0
}
