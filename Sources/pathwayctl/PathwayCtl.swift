import ArgumentParser
import PathwayAPI

@main
struct PathwayCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pathwayctl",
        abstract: "Talk to pathwayd, and work with rule packs offline.",
        discussion:
            "The daemon's socket: --socket, else $PATHWAYD_SOCKET, else --config's socket.path, else .run/pathwayd.sock.",
        version: PathwayVersion.current,
        subcommands: [
            Post.self, Patient.self, Recommend.self, WhatIf.self, Feedback.self, Audit.self, Report.self, Rules.self,
            Eval.self, Bench.self, Load.self, Backfill.self,
        ]
    )
}

struct Rules: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Offline: check or test a rules directory. Online: status, reload, impact.",
        subcommands: [Check.self, Test.self, Matrix.self, Status.self, Reload.self, Impact.self])
}
