import CoreMetrics
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

    /// The writer's life: it accepts work, then drains (commits what is queued, refuses anything
    /// new), then is closed (its thread has ended).
    enum Phase: Sendable { case accepting, draining, closed }

    private let condition = NSCondition()
    private var pending: [Pending] = []  // guarded by `condition`
    private var phase = Phase.accepting  // guarded by `condition`
    private let pool: DatabasePool
    private let state: WriterState  // only used on the writer thread
    private let maxBatch: Int
    let metrics: WriterMetrics

    private let commitTimer: CoreMetrics.Timer
    private let groupSize: Recorder
    private let queueDepth: Gauge
    private let transactions: CoreMetrics.Counter
    private let requests: CoreMetrics.Counter
    private let failedTransactions: CoreMetrics.Counter

    init(pool: DatabasePool, state: WriterState, maxBatch: Int = 1024, metrics factory: any MetricsFactory) {
        self.pool = pool
        self.state = state
        self.maxBatch = maxBatch
        self.metrics = WriterMetrics()
        commitTimer = Timer(label: "pathwayd_writer_commit_seconds", factory: factory)
        groupSize = Recorder(label: "pathwayd_writer_group_requests", aggregate: true, factory: factory)
        queueDepth = Gauge(label: "pathwayd_writer_queue_depth", factory: factory)
        transactions = Counter(label: "pathwayd_writer_transactions_total", factory: factory)
        requests = Counter(label: "pathwayd_writer_requests_total", factory: factory)
        failedTransactions = Counter(label: "pathwayd_writer_failed_transactions_total", factory: factory)
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
            guard phase == .accepting else {
                condition.unlock()
                continuation.resume(throwing: StorageUnavailable(description: "the database is closing"))
                return
            }
            pending.append(job)
            condition.signal()
            condition.unlock()
        }
    }

    /// Commits what is queued, then stops the thread. Submissions from now on are refused.
    func stop() {
        condition.lock()
        if phase == .accepting { phase = .draining }
        condition.signal()
        while phase != .closed { condition.wait() }
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while pending.isEmpty && phase == .accepting { condition.wait() }
            if pending.isEmpty && phase == .draining {
                phase = .closed
                condition.broadcast()
                condition.unlock()
                return
            }
            let batch = Array(pending.prefix(maxBatch))
            pending.removeFirst(batch.count)
            let waiting = pending.count
            condition.unlock()
            queueDepth.record(waiting)
            commit(batch)
        }
    }

    private func commit(_ batch: [Pending]) {
        var batch = batch
        let started = ContinuousClock.now
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
                failedTransactions.increment()
                if let culprit, !Self.isStorageFailure(culprit.error) {
                    // One job failed by itself (its own error, not the database's): it alone is
                    // refused, with its error, and the others are committed without it.
                    batch.remove(at: culprit.index).fail(culprit.error)
                    continue
                }
                // The database refused the transaction (busy, full, I/O): every job is refused,
                // and each may be retried.
                let failure = StorageUnavailable(description: Self.describe(error))
                for job in batch { job.fail(failure) }
                return
            }
            metrics.batches.add(1)
            metrics.jobs.add(batch.count)
            transactions.increment()
            requests.increment(by: batch.count)
            groupSize.record(batch.count)
            let elapsed = (ContinuousClock.now - started).components
            commitTimer.recordNanoseconds(elapsed.seconds * 1_000_000_000 + elapsed.attoseconds / 1_000_000_000)
            for job in batch { job.commit() }
            return
        }
    }

    /// The error as an operator reads it: SQLite's extended result code too (which I/O error).
    static func describe(_ error: any Error) -> String {
        guard let error = error as? DatabaseError, error.extendedResultCode != error.resultCode else {
            return "\(error)"
        }
        return "\(error) (extended code \(error.extendedResultCode.rawValue))"
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
