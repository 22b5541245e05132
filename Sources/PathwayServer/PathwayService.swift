import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PathwayAPI
import PathwayCore
import PathwayStore

/// The four roles of contract §2.
enum Role: String, Sendable {
    case ehr, clinician, auditor, admin
}

/// Who may call a route: anyone (health), any role at all, or one of some roles.
enum Access: Sendable {
    case anyone
    case anyRole
    case roles([Role])
}

/// Everything the routes share: the store, the running rules, roles, limits, metrics.
final class PathwayService: Sendable {
    let store: Store
    let rules: RulesHolder
    let roleMap: RoleMap
    let configuration: DaemonConfiguration
    let metrics = DaemonMetrics()
    let startedAt = ContinuousClock.now
    let logger: Logger
    let notifier: SystemdNotifier
    private let reloads = ReloadSerializer()
    let refusals: RefusalLimiter

    init(
        store: Store, rules: RulesHolder, roleMap: RoleMap, configuration: DaemonConfiguration, logger: Logger,
        notifier: SystemdNotifier
    ) {
        self.store = store
        self.rules = rules
        self.roleMap = roleMap
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

    // MARK: Routing

    func router() -> Router<PathwayContext> {
        let router = Router(context: PathwayContext.self)
        router.add(middleware: ErrorBodyMiddleware())
        route(router, .get, "/v1/health", .anyone, health)
        route(router, .post, "/v1/events", .roles([.ehr]), postEvents)
        route(router, .get, "/v1/patients/:id", .roles([.clinician]), patientState)
        route(router, .get, "/v1/patients/:id/recommendations", .roles([.clinician]), recommendations)
        route(router, .post, "/v1/patients/:id/feedback", .roles([.clinician]), feedback)
        route(router, .post, "/v1/evaluate", .roles([.clinician]), whatIf)
        route(router, .get, "/v1/rules", .anyRole, rulesStatus)
        route(router, .post, "/v1/rules/reload", .roles([.admin]), reloadRoute)
        route(router, .post, "/v1/rules/impact", .roles([.admin]), rulesImpact)
        route(router, .get, "/v1/audit/decisions", .roles([.auditor]), auditList)
        route(router, .get, "/v1/audit/decisions/:id", .roles([.auditor]), auditShow)
        route(router, .post, "/v1/audit/decisions/:id/replay", .roles([.auditor]), replay)
        route(router, .get, "/v1/audit/verify", .roles([.auditor]), auditVerify)
        route(router, .get, "/v1/audit/export", .roles([.auditor]), auditExport)
        route(router, .get, "/v1/reports/adherence", .roles([.auditor, .clinician]), adherence)
        route(router, .get, "/v1/metrics", .roles([.admin]), metricsRoute)
        return router
    }

    typealias Handler = @Sendable (Request, PathwayContext, Actor) async throws -> Response

    /// Registers a route behind the role check: a peer without the role gets `403 forbidden`, and
    /// the refusal is written to the audit trail before it is answered.
    private func route(
        _ router: Router<PathwayContext>, _ method: HTTPRequest.Method, _ path: String, _ access: Access,
        _ handler: @escaping Handler
    ) {
        router.on(RouterPath(path), method: method) { [self] request, context -> Response in
            let response: Response
            do {
                try Self.checkIdentifiers(context: context, route: path)
                let actor = try await actor(of: context)
                try await authorize(actor, access, request: request, context: context, route: path)
                response = try await handler(request, context, actor)
            } catch let error as APIError {
                response = error.response
            } catch let error as StorageUnavailable {
                logger.error("storage unavailable", metadata: ["error": "\(error.description)"])
                response = APIError(
                    .serviceUnavailable, "storage-unavailable",
                    "the database could not be written; nothing was stored, and the request may be retried"
                ).response
            } catch {
                logger.error("internal error", metadata: ["error": "\(error)"])
                response = APIError(.internalServerError, "internal-error", "internal error").response
            }
            metrics.request(route: "\(method) \(path)", status: response.status.code)
            return response
        }
    }

    private func actor(of context: PathwayContext) async throws -> Actor {
        do { return roleMap.actor(for: try await PeerCredentials.of(context.channel)) } catch {
            throw APIError(.forbidden, "forbidden", "the peer's credentials could not be read")
        }
    }

    private func authorize(
        _ actor: Actor, _ access: Access, request: Request, context: PathwayContext, route: String
    ) async throws {
        let allowed: Bool
        let needed: String
        switch access {
        case .anyone:
            return
        case .anyRole:
            allowed = !actor.roles.isEmpty
            needed = "any role"
        case .roles(let roles):
            allowed = roles.contains { actor.roles.contains($0.rawValue) }
            needed = roles.map(\.rawValue).joined(separator: " or ")
        }
        if allowed { return }
        // Identifiers were checked against the contract's limits before this point, so the record
        // is bounded: method, route template, the path (≤ 64 + 64 bytes with `:id`), peer.
        let patientId = route.hasPrefix("/v1/patients/") ? context.parameters.get("id") : nil
        let message = "\(actor.user) (uid \(actor.uid)) may not \(request.method) \(route): needs \(needed)"
        metrics.refusal()
        let at = now()
        switch refusals.decide(uid: actor.uid, at: at) {
        case .suppress:
            metrics.refusalSuppressed()
        case .write(let suppressed, let since):
            if suppressed > 0, let since {
                let summary = try CanonicalJSON.encode([
                    "suppressedRefusals": "\(suppressed)", "since": since.description, "uid": "\(actor.uid)",
                    "limitPerMinute": "\(refusals.limit)",
                ])
                try await audit(actor: actor, action: "denied-summary", patientId: nil, input: summary, output: "{}")
            }
            let input = try CanonicalJSON.encode(["method": "\(request.method)", "path": request.uri.path, "route": route])
            let output = try CanonicalJSON.encode(ErrorResponseV1(code: "forbidden", message: message))
            try await audit(actor: actor, action: "denied", patientId: patientId, input: input, output: output)
        }
        throw APIError(.forbidden, "forbidden", message)
    }

    /// Path identifiers are checked against the contract's limits before anything else: a patient
    /// id is 1–64 of `A-Z a-z 0-9 . _ : -`, a decision id 1–128 printable ASCII. Nothing longer
    /// reaches a record, an error message or the store.
    static func checkIdentifiers(context: PathwayContext, route: String) throws {
        guard let id = context.parameters.get("id") else { return }
        if route.hasPrefix("/v1/patients/") {
            guard (1...64).contains(id.utf8.count), id.utf8.allSatisfy(EventDecoder.isPatientIdByte) else {
                throw APIError(.badRequest, "invalid-request", "id: a patient id is 1–64 characters of A-Z a-z 0-9 . _ : -", field: "id")
            }
        } else {
            guard (1...128).contains(id.utf8.count), id.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
                throw APIError(.badRequest, "invalid-request", "id: a decision id is 1–128 printable ASCII characters", field: "id")
            }
        }
    }

    // MARK: Health, rules, metrics

    @Sendable func health(_ request: Request, _ context: PathwayContext, _ actor: Actor) async throws -> Response {
        try .json(
            encoding: HealthV1(status: "ok", rules: .init(revision: rules.snapshot.rules.revision), uptimeSeconds: uptimeSeconds))
    }

    @Sendable func rulesStatus(_ request: Request, _ context: PathwayContext, _ actor: Actor) async throws -> Response {
        let loaded = rules.snapshot
        return try .json(
            encoding: RulesStatusV1(
                revision: loaded.rules.revision, packs: loaded.rules.packs, counts: loaded.rules.counts,
                loadedAt: loaded.loadedAt.description, directory: rules.directory,
                parameters: loaded.rules.parameterDefaults.merging(configuration.rules.parameters ?? [:]) { $1 },
                files: loaded.sources.map(\.name)))
    }

    @Sendable func metricsRoute(_ request: Request, _ context: PathwayContext, _ actor: Actor) async throws -> Response {
        let counts = store.writerCounts
        let head = try await store.head
        let text = metrics.render(extra: [
            ("pathwayd_uptime_seconds", "Seconds since the daemon started.", "gauge", [("", Double(uptimeSeconds))]),
            (
                "pathwayd_rules_info", "The running rules revision.", "gauge",
                [("revision=\"\(rules.snapshot.rules.revision)\"", 1)]
            ),
            ("pathwayd_writer_transactions_total", "Transactions committed by the writer.", "counter", [("", Double(counts.batches))]),
            ("pathwayd_writer_requests_total", "Requests committed by the writer.", "counter", [("", Double(counts.jobs))]),
            ("pathwayd_writer_failed_transactions_total", "Writer transactions that failed and were rolled back.", "counter", [("", Double(counts.failed))]),
            ("pathwayd_audit_head_sequence", "Sequence number of the last audit record.", "gauge", [("", Double(head.seq))]),
        ])
        var buffer = ByteBuffer()
        buffer.writeString(text)
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: ResponseBody(byteBuffer: buffer))
    }

    @Sendable func reloadRoute(_ request: Request, _ context: PathwayContext, _ actor: Actor) async throws -> Response {
        let outcome = try await reload(by: actor, reason: "POST /v1/rules/reload")
        switch outcome {
        case .success(let result): return try .json(encoding: result)
        case .failure(let refused):
            throw APIError(
                .unprocessableContent, "rules-invalid",
                "the rules in \(rules.directory) were refused (\(refused.problems.count) problem(s)); the running set stays in force: "
                    + (refused.problems.first ?? ""),
                details: refused.problems)
        }
    }

    /// Loads, validates and tests the rules beside the running set, then swaps atomically. Every
    /// attempt, accepted or refused, is audited. Requests in flight keep their snapshot.
    func reload(by actor: Actor, reason: String) async throws -> Result<ReloadResultV1, RulesRefused> {
        await reloads.acquire()
        defer { Task { await reloads.release() } }
        notifier.notify(["RELOADING=1", "MONOTONIC_USEC=\(SystemdNotifier.monotonicMicroseconds())", "STATUS=reloading rules"])
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
        let input = try CanonicalJSON.encode(["directory": directory, "reason": reason, "runningRevision": previous.rules.revision])
        switch loaded {
        case .success(let candidate):
            let archived = try ArchivedRules(rules: candidate.rules, sources: candidate.sources)
            let result = ReloadResultV1(
                status: candidate.rules.revision == previous.rules.revision ? "unchanged" : "reloaded",
                from: previous.rules.revision, to: candidate.rules.revision, counts: candidate.rules.counts)
            let output = try CanonicalJSON.encode(result)
            do {
                try await store.write { transaction in
                    try transaction.archive(rules: archived, at: at)
                    try transaction.appendAudit(
                        decisionId: decisionId, at: at, actor: actor, action: "rules-reload", patientId: nil,
                        revision: candidate.rules.revision, input: input, output: output)
                }
            } catch {
                notifier.notify(["READY=1", "STATUS=serving rules \(previous.rules.revision) (reload failed: storage)"])
                throw error
            }
            _ = rules.swap(to: candidate)
            metrics.reload(result.status)
            logger.notice(
                "rules \(result.status)", metadata: ["from": "\(previous.rules.revision)", "to": "\(candidate.rules.revision)"])
            notifier.notify(["READY=1", "STATUS=serving rules \(candidate.rules.revision)"])
            return .success(result)
        case .failure(let refused):
            let output = try CanonicalJSON.encode(
                JSONValue.object(["status": "refused", "problems": .array(refused.problems.map(JSONValue.string))]))
            try await store.write { transaction in
                try transaction.appendAudit(
                    decisionId: decisionId, at: at, actor: actor, action: "rules-reload", patientId: nil,
                    revision: previous.rules.revision, input: input, output: output)
            }
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

/// Turns Hummingbird's own errors (unknown route, wrong method) into contract §10 bodies.
struct ErrorBodyMiddleware: RouterMiddleware {
    typealias Context = PathwayContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do { return try await next(request, context) } catch let error as HTTPError {
            let code =
                switch error.status {
                case .notFound: "not-found"
                case .methodNotAllowed: "method-not-allowed"
                case .contentTooLarge: "body-too-large"
                default: "http-\(error.status.code)"
                }
            let message =
                error.status == .notFound
                ? "no route \(request.method) \(request.uri.path)" : (error.body ?? error.status.reasonPhrase)
            return APIError(error.status, code, message).response
        }
    }
}
