import Foundation
import GRDB
import PathwayAPI

/// Why the store refused one event. Jobs return it as a value after writing nothing; an error
/// thrown by a job fails its whole batch. The store names what happened; the server decides what
/// that means in HTTP.
public enum Rejection: Error, Sendable, Equatable {
    /// The event id was stored before with other content.
    case eventIdConflict(eventId: String)
    /// A retraction names an event this patient does not have.
    case unknownRetractionTarget(eventId: String, patientId: String)

    public var code: ErrorCode {
        switch self {
        case .eventIdConflict: .eventIdConflict
        case .unknownRetractionTarget: .invalidEvent
        }
    }

    public var message: String {
        switch self {
        case .eventIdConflict(let id): "event \(id) was already stored with different content; nothing was stored"
        case .unknownRetractionTarget(let id, let patient): "no event \(id) of patient \(patient) to retract"
        }
    }

    public var field: String {
        switch self {
        case .eventIdConflict: "id"
        case .unknownRetractionTarget: "data.eventId"
        }
    }
}

/// The storage could not commit: nothing of the request remains, and it was not acknowledged.
public struct StorageUnavailable: Error, Sendable, CustomStringConvertible {
    public var description: String
}

/// The one writer. Every write of the daemon runs here, on one thread, and requests that arrive
/// while a transaction is being synced are committed together in the next one (group commit).
/// A caller's `submit` returns only after the transaction holding its work has committed.
final class GroupCommitWriter: @unchecked Sendable {
    private struct Pending {
        var run: (WriteTransaction) throws -> Void
        var commit: () -> Void
        var fail: (any Error) -> Void
    }

    private let condition = NSCondition()
    private var pending: [Pending] = []  // guarded by `condition`
    private var stopping = false  // guarded by `condition`
    private var stopped = false  // guarded by `condition`
    private let pool: DatabasePool
    private let state: WriterState  // only used on the writer thread
    private let maxBatch: Int
    let metrics: WriterMetrics

    init(pool: DatabasePool, state: WriterState, maxBatch: Int = 1024) {
        self.pool = pool
        self.state = state
        self.maxBatch = maxBatch
        self.metrics = WriterMetrics()
        let thread = Thread { [self] in loop() }
        thread.name = "pathwayd-writer"
        thread.start()
    }

    /// Runs `work` in the next transaction and returns its result once that transaction commits.
    func submit<T: Sendable>(_ work: @escaping @Sendable (WriteTransaction) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let box = ResultBox<T>()
            let job = Pending(
                run: { transaction in box.value = try work(transaction) },
                commit: { continuation.resume(returning: box.value!) },
                fail: { continuation.resume(throwing: $0) })
            condition.lock()
            if stopped {
                condition.unlock()
                continuation.resume(throwing: StorageUnavailable(description: "the database is closed"))
                return
            }
            pending.append(job)
            condition.signal()
            condition.unlock()
        }
    }

    /// Commits what is queued, then stops the thread. Later submissions fail.
    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        while !stopped { condition.wait() }
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while pending.isEmpty && !stopping { condition.wait() }
            if pending.isEmpty && stopping {
                stopped = true
                condition.broadcast()
                condition.unlock()
                return
            }
            let batch = Array(pending.prefix(maxBatch))
            pending.removeFirst(batch.count)
            condition.unlock()
            commit(batch)
        }
    }

    private func commit(_ batch: [Pending]) {
        var batch = batch
        while !batch.isEmpty {
            let saved = state.head
            var culprit: (index: Int, error: any Error)?
            do {
                try pool.writeWithoutTransaction { db in
                    try db.inTransaction(.immediate) {
                        let transaction = WriteTransaction(db: db, state: state)
                        for (index, job) in batch.enumerated() {
                            do { try job.run(transaction) } catch {
                                culprit = (index, error)
                                throw error
                            }
                        }
                        return .commit
                    }
                }
            } catch {
                // Nothing of the batch is on disk: forget what it changed in memory.
                state.rollBack(to: saved)
                metrics.failedBatches.add(1)
                if let culprit, !Self.isStorageFailure(culprit.error) {
                    // One job failed by itself (its own error, not the database's): it alone is
                    // refused, with its error, and the others are committed without it.
                    batch.remove(at: culprit.index).fail(culprit.error)
                    continue
                }
                // The database refused the transaction (busy, full, I/O): every job is refused,
                // and each may be retried.
                let failure = StorageUnavailable(description: "\(error)")
                for job in batch { job.fail(failure) }
                return
            }
            metrics.batches.add(1)
            metrics.jobs.add(batch.count)
            for job in batch { job.commit() }
            return
        }
    }

    /// Whether an error is the database's (busy, full, I/O, read-only, corrupt), which any job
    /// of the batch would meet, rather than one job's own.
    static func isStorageFailure(_ error: any Error) -> Bool {
        guard let error = error as? DatabaseError else { return false }
        let storage: [ResultCode] = [
            .SQLITE_BUSY, .SQLITE_LOCKED, .SQLITE_FULL, .SQLITE_IOERR, .SQLITE_READONLY, .SQLITE_CANTOPEN,
            .SQLITE_CORRUPT, .SQLITE_NOMEM, .SQLITE_PROTOCOL, .SQLITE_NOTADB,
        ]
        return storage.contains(error.resultCode)
    }
}

private final class ResultBox<T>: @unchecked Sendable {
    var value: T?
}

/// Counters read by `/v1/metrics`.
final class WriterMetrics: @unchecked Sendable {
    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0
        func add(_ amount: Int) { lock.withLock { value += amount } }
        var current: Int { lock.withLock { value } }
    }
    let batches = Counter()
    let jobs = Counter()
    let failedBatches = Counter()
}
