import Foundation
import Glibc
import Logging
import PathwayAPI
import PathwayCore
import PathwayStore

extension PathwayService {
    /// Everything before the server listens: loads and safety-checks the rules, opens the database,
    /// checks the audit trail's integrity from the last checkpoint, and records the start-up (the
    /// rules archived, the version, any integrity override) in the trail.
    public static func open(
        configuration: DaemonConfiguration, logger: Logger, notifier: SystemdNotifier = SystemdNotifier(),
        acceptDamagedAuditTrail: Bool = false
    ) async throws -> PathwayService {
        try Daemon.makeParentDirectory(of: configuration.database.path)
        let cdsClients = try await CDSClientTokens.load(configuration)
        if configuration.roles[Role.gateway.rawValue] != nil && cdsClients.isEmpty {
            logger.warning(
                "roles.gateway is granted but cdsHooks.clients names no client: every call through the gateway is refused (401)"
            )
        }
        let startedAt = now()
        let loaded: LoadedRules
        do {
            loaded = try RulesHolder.load(
                directory: configuration.rules.directory, at: startedAt, safetyPatients: configuration.safetyPatients)
        } catch {
            for problem in error.problems { logger.critical("\(problem)") }
            throw DaemonError("the rules in \(configuration.rules.directory) were refused; not starting")
        }
        let metrics = DaemonMetrics()
        let store: any PathwayStoring = try Store(
            path: configuration.database.path,
            synchronous: configuration.database.synchronous == "normal" ? .normal : .full, metrics: metrics.factory)
        if configuration.database.synchronous == "normal" {
            logger.warning("database.synchronous is normal: acknowledged writes may be lost if the machine loses power")
        }
        let selfCaller = Caller.daemon(uid: getuid(), user: RoleMap.lookupUser(getuid()) ?? String(getuid()))
        // Before anything is written or a checkpoint logged: the triggers exist and the chain
        // verifies from the last checkpoint this daemon recorded.
        let integrity = try await store.checkIntegrity()
        var override: String?
        if !integrity.isIntact {
            logger.critical("audit trail integrity check failed: \(integrity.problems)")
            guard acceptDamagedAuditTrail else {
                try? store.close()
                throw DaemonError(
                    "the audit trail failed its start-up check (\(integrity.problems)); not starting. Investigate with "
                        + "`pathwayctl audit verify` offline (docs/audit.md); --accept-damaged-audit-trail starts "
                        + "anyway and records the override")
            }
            try await store.restoreTriggers()
            override = try CanonicalJSON.encode([
                "problems": integrity.problems,
                "lastCheckpoint": integrity.lastCheckpoint.map { "\($0.seq):\($0.hash)" } ?? "none",
            ])
        }
        let archived = try ArchivedRules(rules: loaded.rules, sources: loaded.sources)
        let startupInput = try CanonicalJSON.encode([
            "directory": configuration.rules.directory, "reason": "startup", "version": PathwayVersion.current,
        ])
        let startupOutput = try CanonicalJSON.encode(
            JSONValue.object([
                "status": "loaded", "to": .string(loaded.rules.revision),
                "counts": .object(loaded.rules.counts.mapValues { .number(Double($0)) }),
            ]))
        var entries: [AuditEntry] = []
        if let override {
            entries.append(
                AuditEntry(
                    decisionId: newDecisionId(), at: startedAt, actor: selfCaller, action: .integrityOverride,
                    patientId: nil, revision: archived.revision, input: override, output: "{}"))
        }
        entries.append(
            AuditEntry(
                decisionId: newDecisionId(), at: startedAt, actor: selfCaller, action: .rulesReload, patientId: nil,
                revision: archived.revision, input: startupInput, output: startupOutput))
        try await store.record(entries, archiving: archived)
        try await Daemon.logCheckpoint(store, logger, "start")
        return PathwayService(
            store: store, rules: RulesHolder(initial: loaded, directory: configuration.rules.directory),
            roleMap: RoleMap(grants: configuration.roles), cdsClients: cdsClients, configuration: configuration,
            logger: logger,
            notifier: notifier, selfCaller: selfCaller, metrics: metrics)
    }

    /// After the server has drained: records the stop checkpoint, lets the writer commit what is
    /// queued, and closes the database. Once; later calls do nothing.
    public func close() async throws {
        guard
            closed.withLock({ closed in
                defer { closed = true }; return !closed
            })
        else { return }
        try await Daemon.logCheckpoint(store, logger, "stop")
        try store.close()
    }
}
