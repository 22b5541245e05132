import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import PathwayAPI
import PathwayCore
import PathwayStore

/// The running rules: status (any role), reload and impact of a candidate (role `admin`).
struct RulesController {
    let service: PathwayService

    func addRoutes(to router: Router<PathwayContext>) {
        router.group("/v1/rules").add(middleware: RoleMiddleware(.anyRole, service: service))
            .get(use: status)
        router.group("/v1/rules").add(middleware: RoleMiddleware(.roles([.admin]), service: service))
            .post("reload", use: reload)
            .post("impact", use: impact)
    }

    @Sendable func status(_ request: Request, context: PathwayContext) async throws -> Response {
        let loaded = service.rules.snapshot
        return try .json(
            encoding: RulesStatusV1(
                revision: loaded.rules.revision, packs: loaded.rules.packs, counts: loaded.rules.counts,
                loadedAt: loaded.loadedAt.description, directory: service.rules.directory,
                parameters: loaded.rules.parameterDefaults.merging(service.configuration.rules.parameters ?? [:]) {
                    $1
                },
                files: loaded.sources.map(\.name)))
    }

    @Sendable func reload(_ request: Request, context: PathwayContext) async throws -> Response {
        let caller = try context.requireCaller()
        let outcome = try await service.reload(by: caller, reason: "POST /v1/rules/reload")
        switch outcome {
        case .success(let result): return try .json(encoding: result)
        case .failure(let refused):
            throw APIError(
                .unprocessableContent, .rulesInvalid,
                "the rules in \(service.rules.directory) were refused (\(refused.problems.count) problem(s)); the running set stays in force: "
                    + (refused.problems.first ?? ""),
                details: refused.problems)
        }
    }

    /// Evaluates every stored patient under the running rules and under candidate sources, and
    /// lists the patients whose options or trial statuses would change. Changes nothing.
    @Sendable func impact(_ request: Request, context: PathwayContext) async throws -> Response {
        let caller = try context.requireCaller()
        try request.requireMediaType(["application/json"])
        let body = try await request.collectBody(limit: max(service.configuration.maxBodyBytes, 16 << 20))
        let candidateRequest = try decodeBody(RulesImpactRequestV1.self, body)
        let at = now()
        let candidate: LoadedRules
        let problems: [String]
        do {
            (candidate, problems) = try RulesHolder.compileForPreview(
                candidateRequest.sources.map { RuleSource(name: $0.name, contents: $0.contents) },
                label: candidateRequest.label ?? "candidate", at: at,
                safetyPatients: service.configuration.safetyPatients)
        } catch {
            throw APIError(
                .unprocessableContent, .rulesInvalid,
                "the candidate rules were refused (\(error.problems.count) problem(s)): "
                    + (error.problems.first ?? ""),
                details: error.problems)
        }
        let running = service.settings
        let proposed = EvaluationSettings(rules: candidate.rules, parameters: running.parameters)
        var changed: [RulesImpactV1.Patient] = []
        let ids = try await service.store.patientIds()
        for id in ids {
            guard let stored = try await service.store.patientEvents(id) else { continue }
            let before = try RecordedEvaluation.evaluate(
                events: stored.events, bodies: [], patientId: id, decisionId: "impact", now: at, settings: running)
            let after = try RecordedEvaluation.evaluate(
                events: stored.events, bodies: [], patientId: id, decisionId: "impact", now: at, settings: proposed)
            let differences = changes(from: before.summary, to: after.summary)
            if !differences.isEmpty { changed.append(.init(patientId: id, changes: differences)) }
        }
        let impact = RulesImpactV1(
            running: running.rules.revision, candidate: candidate.rules.revision, patients: ids.count, changed: changed,
            problems: problems.isEmpty ? nil : problems)
        let output = try CanonicalJSON.encode(impact)
        try await service.audit(
            actor: caller, action: .rulesImpact, patientId: nil,
            input: try CanonicalJSON.encode(["candidateRevision": candidate.rules.revision]), output: output, at: at)
        return .json(output)
    }
}
