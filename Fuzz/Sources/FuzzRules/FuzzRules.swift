import PathwayCore

/// Any bytes as a rule file: the compiler must answer with rules or diagnostics, never crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRules(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let result = RuleCompiler.compile([RuleSource(name: "fuzz.yaml", contents: text)])
    precondition(result.rules != nil || !result.errors.isEmpty, "no rules and no error")
    return 0
}
