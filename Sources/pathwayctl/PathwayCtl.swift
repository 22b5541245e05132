import ArgumentParser

@main
struct PathwayCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pathwayctl",
        abstract: "Work with pathwayd rule packs offline: check, test, evaluate, benchmark.",
        subcommands: [Rules.self, Eval.self, Bench.self]
    )
}

struct Rules: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check or test a rules directory.", subcommands: [Check.self, Test.self])
}
