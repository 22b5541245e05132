import PathwayCore
import Synchronization

/// Limits how many refusals of one peer uid are written to the audit trail per window: the first
/// `limit` each get their own record; the rest are counted, and one summarising record is written
/// with the next refusal after the window (and the metric counts them all). A peer without a role
/// cannot fill the disk with refusals that the append-only trail can never give back.
final class RefusalLimiter: Sendable {
    struct Window: Sendable {
        var start: Instant
        var written: Int
        var suppressed: Int
    }

    /// What to write for one refusal.
    enum Decision: Equatable {
        /// Write the refusal; first write a summary of the refusals suppressed in the window before.
        case write(summaryOfSuppressed: Int, since: Instant?)
        case suppress
    }

    let limit: Int
    let windowMilliseconds: Int64
    private let windows = Mutex<[UInt32: Window]>([:])

    init(limit: Int, windowSeconds: Int = 60) {
        self.limit = limit
        windowMilliseconds = Int64(windowSeconds) * 1000
    }

    func decide(uid: UInt32, at now: Instant) -> Decision {
        windows.withLock { windows in
            var window = windows[uid] ?? Window(start: now, written: 0, suppressed: 0)
            var summary = (0, nil as Instant?)
            if now.millisecondsSinceEpoch - window.start.millisecondsSinceEpoch >= windowMilliseconds {
                summary = (window.suppressed, window.start)
                window = Window(start: now, written: 0, suppressed: 0)
            }
            defer { windows[uid] = window }
            guard window.written < limit else {
                window.suppressed += 1
                return .suppress
            }
            window.written += 1
            return .write(summaryOfSuppressed: summary.0, since: summary.0 > 0 ? summary.1 : nil)
        }
    }
}
