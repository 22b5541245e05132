/// Finds an object key written twice in one JSON object.
///
/// JSON parsers disagree about duplicate keys (Foundation keeps the first, Python and JavaScript
/// the last), so an EHR bridge and pathwayd could read different facts from the same bytes:
/// `{"value": 0, "value": 4}`. Request bodies with a duplicate key are refused instead. No parser
/// here reports duplicates, hence this scanner. It expects JSON that a parser has already accepted,
/// keeps an explicit stack (no recursion, whatever the depth) and compares keys after unescaping
/// (`"\u0076alue"` is `"value"`).
public enum JSONDuplicateKeys {
    /// The path of the first duplicate key (`data.value`, `events[2].id`), or nil.
    public static func first(in bytes: some Collection<UInt8>) -> String? {
        let text = Array(bytes)
        var scanner = Scanner(text: text)
        return scanner.run()
    }

    private enum Frame {
        case object(keys: Set<String>, current: String?)
        case array(index: Int)
    }

    private struct Scanner {
        let text: [UInt8]
        var position = 0
        var stack: [Frame] = []

        init(text: [UInt8]) { self.text = text }

        mutating func run() -> String? {
            while position < text.count {
                let byte = text[position]
                switch byte {
                case UInt8(ascii: "{"):
                    stack.append(.object(keys: [], current: nil))
                    position += 1
                    if let duplicate = readKeyIfAny() { return duplicate }
                case UInt8(ascii: "["):
                    stack.append(.array(index: 0))
                    position += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    _ = stack.popLast()
                    position += 1
                case UInt8(ascii: ","):
                    position += 1
                    switch stack.last {
                    case .array(let index)?: stack[stack.count - 1] = .array(index: index + 1)
                    case .object?: if let duplicate = readKeyIfAny() { return duplicate }
                    case nil: break
                    }
                case UInt8(ascii: "\""):
                    _ = readString()  // a string value
                default:
                    position += 1
                }
            }
            return nil
        }

        /// In an object, after `{` or `,`: reads the next key and checks it against the others.
        mutating func readKeyIfAny() -> String? {
            skipWhitespace()
            guard position < text.count, text[position] == UInt8(ascii: "\""),
                case .object(var keys, _)? = stack.last
            else { return nil }
            let key = readString()
            if keys.contains(key) {
                stack[stack.count - 1] = .object(keys: keys, current: key)
                return path()
            }
            keys.insert(key)
            stack[stack.count - 1] = .object(keys: keys, current: key)
            return nil
        }

        mutating func skipWhitespace() {
            while position < text.count, [0x20, 0x09, 0x0A, 0x0D].contains(text[position]) { position += 1 }
        }

        /// Reads a string starting at its opening quote and returns it unescaped.
        mutating func readString() -> String {
            position += 1
            var units: [UInt16] = []
            var raw: [UInt8] = []
            func flushRaw() {
                units.append(contentsOf: String(decoding: raw, as: UTF8.self).utf16)
                raw.removeAll()
            }
            while position < text.count, text[position] != UInt8(ascii: "\"") {
                if text[position] == UInt8(ascii: "\\"), position + 1 < text.count {
                    flushRaw()
                    let escaped = text[position + 1]
                    position += 2
                    switch escaped {
                    case UInt8(ascii: "u") where position + 4 <= text.count:
                        let hex = String(decoding: text[position..<(position + 4)], as: UTF8.self)
                        units.append(UInt16(hex, radix: 16) ?? 0xFFFD)
                        position += 4
                    case UInt8(ascii: "n"): units.append(0x0A)
                    case UInt8(ascii: "t"): units.append(0x09)
                    case UInt8(ascii: "r"): units.append(0x0D)
                    case UInt8(ascii: "b"): units.append(0x08)
                    case UInt8(ascii: "f"): units.append(0x0C)
                    default: units.append(UInt16(escaped))  // \" \\ \/
                    }
                } else {
                    raw.append(text[position])
                    position += 1
                }
            }
            flushRaw()
            position += 1  // the closing quote
            return String(decoding: units, as: UTF16.self)
        }

        func path() -> String {
            var parts = ""
            for frame in stack {
                switch frame {
                case .object(_, let current?): parts += parts.isEmpty ? current : ".\(current)"
                case .object: break
                case .array(let index): parts += "[\(index)]"
                }
            }
            return parts
        }
    }
}
