import Testing

@testable import PathwayCore

@Suite("Compiled rules are freed when dropped")
struct LeakProbeTests {
    @Test("no reference cycle keeps a rule set's options or requirements alive (a reload must not leak)")
    func freed() throws {
        weak var option: Option?
        weak var requirement: Requirement?
        weak var item: CatalogueItem?
        do {
            let rules = try #require(RuleCompiler.compile(SafetyTests.sources).rules)
            let first = try #require(rules.pathways.first?.options.first { !$0.regimen.isEmpty })
            option = first
            requirement = first.requires.last
            item = first.regimen.first?.first
            #expect(option != nil && requirement != nil && item != nil)
        }
        #expect(option == nil)
        #expect(requirement == nil)
        #expect(item == nil)
    }
}
