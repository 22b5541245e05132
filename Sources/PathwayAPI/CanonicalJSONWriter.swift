/// Canonical JSON written directly from the evaluation document's types, without `Codable`: the
/// bytes `JSONEncoder` writes with `.sortedKeys` and `.withoutEscapingSlashes` — keys in UTF-8
/// byte order, absent optionals left out, floating-point numbers as Swift's `description`
/// without a trailing `.0`, strings escaping `"`, `\` and control characters only. Every event's
/// audit record needs the evaluation's canonical bytes, and `JSONEncoder` was most of the cost of
/// an event; `CanonicalJSONWriterTests` compares the two on every pack test case and on
/// generated patients.
public protocol CanonicalJSONWritable {
    func write(to writer: inout CanonicalJSONWriter)
}

public struct CanonicalJSONWriter {
    public private(set) var bytes: [UInt8] = []
    /// Set when a value JSON cannot hold (a non-finite number) was met: the caller falls back to
    /// `JSONEncoder`, which reports it.
    public private(set) var invalid = false

    public init(capacity: Int = 16_384) { bytes.reserveCapacity(capacity) }

    public var text: String { String(decoding: bytes, as: UTF8.self) }

    /// Appends JSON text as it is: the caller vouches that it is valid where it is put.
    public mutating func raw(_ json: StaticString) {
        json.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    // MARK: Structure

    public mutating func beginObject() { bytes.append(UInt8(ascii: "{")) }

    public mutating func endObject() { bytes.append(UInt8(ascii: "}")) }

    /// Starts a member; members must come in key order (their UTF-8 bytes). A key of the
    /// document's own, written as it is: it needs no escape.
    public mutating func key(_ name: StaticString) {
        separateMember()
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    /// A key from data (a dictionary's), escaped as any string.
    private mutating func key(text name: String) {
        separateMember()
        string(name)
        bytes.append(UInt8(ascii: ":"))
    }

    /// A comma unless the member is the object's first: a value never ends in `{`.
    private mutating func separateMember() {
        if bytes.last != UInt8(ascii: "{") { bytes.append(UInt8(ascii: ",")) }
    }

    public mutating func array<T>(_ items: [T], _ element: (inout CanonicalJSONWriter, T) -> Void) {
        bytes.append(UInt8(ascii: "["))
        for (index, item) in items.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            element(&self, item)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    public mutating func array<T: CanonicalJSONWritable>(_ items: [T]) {
        array(items) { writer, item in item.write(to: &writer) }
    }

    public mutating func strings(_ items: [String]) {
        array(items) { writer, item in writer.string(item) }
    }

    // MARK: Members

    public mutating func member(_ name: StaticString, _ value: String) {
        key(name)
        string(value)
    }

    public mutating func member(_ name: StaticString, _ value: String?) {
        guard let value else { return }
        member(name, value)
    }

    public mutating func member<T: CanonicalJSONWritable>(_ name: StaticString, _ value: T) {
        key(name)
        value.write(to: &self)
    }

    public mutating func member<T: CanonicalJSONWritable>(_ name: StaticString, _ value: T?) {
        guard let value else { return }
        member(name, value)
    }

    public mutating func member(_ name: StaticString, _ value: Bool?) {
        guard let value else { return }
        key(name)
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    public mutating func member(_ name: StaticString, _ value: Int?) {
        guard let value else { return }
        key(name)
        int(value)
    }

    public mutating func member<T: CanonicalJSONWritable>(_ name: StaticString, _ items: [T]) {
        key(name)
        array(items)
    }

    public mutating func member<T: CanonicalJSONWritable>(_ name: StaticString, _ items: [T]?) {
        guard let items else { return }
        member(name, items)
    }

    // MARK: Scalars

    public mutating func string(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        // Most text needs no escape: copied whole, not byte by byte.
        let copied =
            text.utf8.withContiguousStorageIfAvailable { utf8 -> Bool in
                guard Self.needsNoEscape(utf8) else { return false }
                bytes.append(contentsOf: utf8)
                return true
            } ?? false
        if copied {
            bytes.append(UInt8(ascii: "\""))
            return
        }
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x08: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
            case 0x0C: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
            case 0x0A: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x00..<0x20:
                let digits = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                bytes.append(digits[Int(byte >> 4)])
                bytes.append(digits[Int(byte & 0x0F)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// Whether no byte is a control character, `"` or `\`: eight bytes at a time (a byte below
    /// 0x20, or equal to 0x22 or 0x5C, sets its high bit in `below`; these tests are exact).
    static func needsNoEscape(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = utf8.baseAddress else { return true }
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        func below(_ word: UInt64, _ limit: UInt64) -> UInt64 { (word &- ones &* limit) & ~word & highs }
        var index = 0
        while index + 8 <= utf8.count {
            let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
            let quote = word ^ (ones &* 0x22)
            let backslash = word ^ (ones &* 0x5C)
            if below(word, 0x20) | below(quote, 1) | below(backslash, 1) != 0 { return false }
            index += 8
        }
        while index < utf8.count {
            let byte = base[index]
            if byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { return false }
            index += 1
        }
        return true
    }

    public mutating func int(_ value: Int) { bytes.append(contentsOf: String(value).utf8) }

    /// A `Double` as `JSONEncoder` writes it.
    public mutating func double(_ value: Double) {
        guard value.isFinite else {
            invalid = true
            bytes.append(contentsOf: "null".utf8)
            return
        }
        let text = value.description
        bytes.append(contentsOf: (text.hasSuffix(".0") ? text.dropLast(2) : text[...]).utf8)
    }

    /// A `JSONValue` as its `Encodable` conformance and `JSONEncoder` write it.
    public mutating func json(_ value: JSONValue) {
        switch value {
        case .null: bytes.append(contentsOf: "null".utf8)
        case .bool(let flag): bytes.append(contentsOf: (flag ? "true" : "false").utf8)
        case .number(let number):
            if number.rounded() == number, abs(number) < 1e15 {
                bytes.append(contentsOf: String(Int64(number)).utf8)
            } else {
                double(number)
            }
        case .string(let text): string(text)
        case .array(let items): array(items) { writer, item in writer.json(item) }
        case .object(let members): object(members) { writer, value in writer.json(value) }
        }
    }

    /// A dictionary as an object with sorted keys.
    public mutating func object<V>(_ members: [String: V], _ value: (inout CanonicalJSONWriter, V) -> Void) {
        beginObject()
        for name in members.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            key(text: name)
            value(&self, members[name]!)
        }
        endObject()
    }
}

/// Any JSON value (an event as received, what `derived` holds): keys in UTF-8 byte order, as
/// `JSONEncoder`'s `.sortedKeys` orders them. Every event's stored body is this form, so it must
/// stay byte-identical to what `JSONEncoder` wrote (a re-posted event is compared by its bytes).
extension JSONValue: CanonicalJSONWritable {
    public func write(to w: inout CanonicalJSONWriter) { w.json(self) }
}

// MARK: The evaluation document (contract §5)
