import Foundation
import PathwayAPI
import PathwayCore
import PathwayRulesIO
import PathwayStore
import Synchronization

/// A compiled rules set with the sources it came from.
struct LoadedRules: Sendable {
    var rules: CompiledRules
    var sources: [RuleSource]
    var loadedAt: Instant
}

/// Why a rules set was refused: every diagnostic and failing pack test, with file and line.
struct RulesRefused: Error, Sendable {
    var problems: [String]
}

/// The running rules set. Each request takes one snapshot and keeps it to the end; a reload
/// builds the new set beside it and swaps the reference (contract §11).
final class RulesHolder: Sendable {
    private let current: Mutex<LoadedRules>
    /// Compiled archived revisions, for replay.
    private let archive = Mutex<[String: CompiledRules]>([:])
    let directory: String

    init(initial: LoadedRules, directory: String) {
        current = Mutex(initial)
        self.directory = directory
    }

    var snapshot: LoadedRules { current.withLock { $0 } }

    func swap(to rules: LoadedRules) -> LoadedRules {
        current.withLock { old in
            let previous = old
            old = rules
            return previous
        }
    }

    /// Reads, compiles and tests the rules in `directory`. Nothing here touches the running set.
    static func load(directory: String, at now: Instant, safetyPatients: Int) throws(RulesRefused) -> LoadedRules {
        let sources: [RuleSource]
        do { sources = try RuleDirectory.load(directory) } catch { throw RulesRefused(problems: [error.description]) }
        return try compile(sources, label: directory, at: now, safetyPatients: safetyPatients)
    }

    /// Compiles, runs the pack tests, then checks the safety invariants on `safetyPatients`
    /// generated patients; any problem refuses the set.
    static func compile(
        _ sources: [RuleSource], label: String, at now: Instant, safetyPatients: Int
    ) throws(RulesRefused) -> LoadedRules {
        let (loaded, problems) = try compileForPreview(sources, label: label, at: now, safetyPatients: safetyPatients)
        // A set whose tests fail, or that can offer something unsafe, never goes live: refused
        // like a syntax error.
        guard problems.isEmpty else { throw RulesRefused(problems: problems) }
        return loaded
    }

    /// Compiles (refusing only a set that does not compile) and returns the failing pack tests and
    /// broken safety invariants beside it: what `rules impact` shows an author next to the impact.
    static func compileForPreview(
        _ sources: [RuleSource], label: String, at now: Instant, safetyPatients: Int
    ) throws(RulesRefused) -> (LoadedRules, problems: [String]) {
        let prefix = label.hasSuffix("/") ? label : label + "/"
        let result = RuleCompiler.compile(sources)
        guard let rules = result.rules, result.errors.isEmpty else {
            throw RulesRefused(problems: result.errors.map { prefix + $0.description })
        }
        var problems = rules.runTests().filter { !$0.passed }.map { test in
            "\(prefix)\(test.location): error: pack-test-failed: \(test.name): " + test.failures.joined(separator: "; ")
        }
        let safety = SafetyCheck.run(rules, patients: safetyPatients)
        if !safety.diagnostics.isEmpty {
            problems += safety.diagnostics.map { prefix + $0.description } + [safety.summary]
        }
        return (LoadedRules(rules: rules, sources: sources, loadedAt: now), problems)
    }

    /// The compiled rules of an archived revision (the running one, or compiled from the archive).
    func rules(revision: String, store: any PathwayStoring) async throws -> CompiledRules? {
        let running = snapshot.rules
        if running.revision == revision { return running }
        if let cached = archive.withLock({ $0[revision] }) { return cached }
        guard let sources = try await store.archivedRules(revision) else { return nil }
        let compiled = RuleCompiler.compile(sources)
        guard let rules = compiled.rules, rules.revision == revision else { return nil }
        archive.withLock { $0[revision] = rules }
        return rules
    }
}
