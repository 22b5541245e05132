import Synchronization

/// An asynchronous lock per key, handed over in arrival order: the holder of a key runs alone
/// for that key while other keys proceed. Waiters suspend; no thread is blocked.
final class KeyedLock: Sendable {
    /// A key is present while held; its value is the waiters, first come first.
    private let state = Mutex<[String: [CheckedContinuation<Void, Never>]]>([:])

    func withLock<T: Sendable>(_ key: String, _ body: () async throws -> T) async throws -> T {
        await lock(key)
        do {
            let value = try await body()
            unlock(key)
            return value
        } catch {
            unlock(key)
            throw error
        }
    }

    private func lock(_ key: String) async {
        let acquired = state.withLock { held in
            guard held[key] == nil else { return false }
            held[key] = []
            return true
        }
        if acquired { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { held -> Bool in
                guard held[key] != nil else {
                    held[key] = []
                    return true
                }
                held[key]!.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    private func unlock(_ key: String) {
        let next = state.withLock { held -> CheckedContinuation<Void, Never>? in
            guard var waiters = held[key], !waiters.isEmpty else {
                held[key] = nil
                return nil
            }
            let first = waiters.removeFirst()
            held[key] = waiters
            return first
        }
        next?.resume()
    }
}
