import CompressNIO
import NIOCore

/// zlib (RFC 1950) for v2 record outputs, through compress-nio: `zlib.decompress` in Python and
/// `openssl zlib -d` read it offline.
public enum AuditCompression {
    /// The largest output a record may inflate to; an evaluation document is tens of kilobytes.
    static let maximumInflatedBytes = 64 << 20

    public static func deflate(_ text: String) throws -> [UInt8] {
        var buffer = ByteBuffer(string: text)
        let compressed = try buffer.compress(with: .zlib())
        return Array(compressed.readableBytesView)
    }

    public static func inflate(_ bytes: [UInt8]) throws(AuditFormatError) -> String {
        var buffer = ByteBuffer(bytes: bytes)
        do {
            let inflated = try buffer.decompress(with: .zlib(), maxSize: maximumInflatedBytes)
            return String(buffer: inflated)
        } catch {
            throw AuditFormatError(description: "a v2 record's output is not zlib data (\(error))")
        }
    }
}
