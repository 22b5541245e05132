import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PathwayAPI
import PathwayCore
import PathwayStore
import Synchronization

/// Everything the routes share: the store, the running rules, roles, limits, metrics. Made by
/// `open(configuration:…)`, served by `buildApplication(service:)`, closed by `close()`.
public final class PathwayService: Sendable {
    let store: any PathwayStoring
    let rules: RulesHolder
    let roleMap: RoleMap
    /// The CDS Hooks clients whose JWTs identify calls through the gateway.
    let cdsClients: CDSClientTokens
    let configuration: DaemonConfiguration
    let metrics: DaemonMetrics
    let startedAt = ContinuousClock.now
    let logger: Logger
    let notifier: SystemdNotifier
    private let reloads = ReloadSerializer()
    let refusals: RefusalLimiter
    /// The daemon itself, as the audit trail names it for start-up and SIGHUP reloads.
    let selfCaller: Caller
    let closed = Mutex(false)

    init(
        store: any PathwayStoring, rules: RulesHolder, roleMap: RoleMap, cdsClients: CDSClientTokens,
        configuration: DaemonConfiguration, logger: Logger,
        notifier: SystemdNotifier, selfCaller: Caller, metrics: DaemonMetrics
    ) {
        self.metrics = metrics
        self.selfCaller = selfCaller
        self.store = store
        self.rules = rules
        self.roleMap = roleMap
        self.cdsClients = cdsClients
        self.configuration = configuration
        self.logger = logger
        self.notifier = notifier
        refusals = RefusalLimiter(limit: configuration.refusalsPerMinute)
    }

    var settings: EvaluationSettings {
        EvaluationSettings(rules: rules.snapshot.rules, parameters: configuration.rules.parameters ?? [:])
    }

    var uptimeSeconds: Int {
        Int((ContinuousClock.now - startedAt).components.seconds)
    }

    /// Loads, validates and tests the rules beside the running set, then swaps atomically. Every
    /// attempt, accepted or refused, is audited. Requests in flight keep their snapshot.
    func reload(by actor: Caller, reason: String) async throws -> Result<ReloadResultV1, RulesRefused> {
        await reloads.acquire()
        defer { Task { await reloads.release() } }
        notifier.notify([
            "RELOADING=1", "MONOTONIC_USEC=\(SystemdNotifier.monotonicMicroseconds())", "STATUS=reloading rules",
        ])
        let previous = rules.snapshot
        let directory = rules.directory
        let at = now()
        let decisionId = newDecisionId()
        // Compiling takes milliseconds to a second: off the request executors.
        let patients = configuration.safetyPatients
        let loaded = await Task.detached {
            Result { () throws(RulesRefused) in
                try RulesHolder.load(directory: directory, at: at, safetyPatients: patients)
            }
        }.value
        let input = try CanonicalJSON.encode([
            "directory": directory, "reason": reason, "runningRevision": previous.rules.revision,
        ])
        switch loaded {
        case .success(let candidate):
            let archived = try ArchivedRules(rules: candidate.rules, sources: candidate.sources)
            let result = ReloadResultV1(
                status: candidate.rules.revision == previous.rules.revision ? "unchanged" : "reloaded",
                from: previous.rules.revision, to: candidate.rules.revision, counts: candidate.rules.counts)
            let output = try CanonicalJSON.encode(result)
            do {
                try await store.record(
                    [
                        AuditEntry(
                            decisionId: decisionId, at: at, actor: actor, action: .rulesReload, patientId: nil,
                            revision: candidate.rules.revision, input: input, output: output)
                    ], archiving: archived)
            } catch {
                notifier.notify(["READY=1", "STATUS=serving rules \(previous.rules.revision) (reload failed: storage)"])
                throw error
            }
            _ = rules.swap(to: candidate)
            metrics.reload(result.status)
            logger.notice(
                "rules \(result.status)",
                metadata: ["from": "\(previous.rules.revision)", "to": "\(candidate.rules.revision)"])
            notifier.notify(["READY=1", "STATUS=serving rules \(candidate.rules.revision)"])
            return .success(result)
        case .failure(let refused):
            let output = try CanonicalJSON.encode(
                JSONValue.object(["status": "refused", "problems": .array(refused.problems.map(JSONValue.string))]))
            try await store.record(
                AuditEntry(
                    decisionId: decisionId, at: at, actor: actor, action: .rulesReload, patientId: nil,
                    revision: previous.rules.revision, input: input, output: output))
            metrics.reload("refused")
            logger.error("rules refused; the running set stays", metadata: ["problems": "\(refused.problems.count)"])
            for problem in refused.problems { logger.error("\(problem)") }
            notifier.notify(["READY=1", "STATUS=serving rules \(previous.rules.revision) (reload refused)"])
            return .failure(refused)
        }
    }
}

/// Serialises reloads: one at a time, in arrival order.
actor ReloadSerializer {
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func acquire() async {
        if !busy {
            busy = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func release() {
        if waiters.isEmpty { busy = false } else { waiters.removeFirst().resume() }
    }
}
