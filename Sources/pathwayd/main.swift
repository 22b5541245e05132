import ArgumentParser
import Foundation
import Logging
import PathwayAPI
import PathwayServer

@main
struct PathwayDaemon: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pathwayd",
        abstract: "Treatment-pathway decision support: serves the v1 contract on a Unix socket.",
        discussion: """
            Without --config, the development defaults of Config/development.yaml apply: socket and \
            database under ./.run/, rules from ./Rules, and the invoking user holds every role.
            SIGHUP reloads the rules; SIGTERM or SIGINT stops after the requests in flight.
            """,
        version: PathwayVersion.current)

    @Option(help: "A YAML configuration file (contract §12).") var config: String?
    @Option(help: "The Unix socket path (overrides the configuration).") var socket: String?
    @Option(help: "The SQLite database path (overrides the configuration).") var database: String?
    @Option(help: "The rules directory (overrides the configuration).") var rules: String?
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel: String = "info"
    @Flag(help: "Print the configuration in force and exit.") var printConfig = false
    @Flag(
        help: """
            Start although the audit trail failed its start-up check (broken chain, missing append-only \
            triggers). The override, with the problem found, is written to the trail; the triggers are recreated.
            """)
    var acceptDamagedAuditTrail = false

    func run() async throws {
        var configuration: DaemonConfiguration
        do {
            configuration =
                try config.map(DaemonConfiguration.load)
                ?? DaemonConfiguration.parse(DaemonConfiguration.developmentYAML, file: "(development defaults)")
        } catch {
            FileHandle.standardError.write(Data("pathwayd: \(error)\n".utf8))
            throw ExitCode(2)
        }
        if let socket { configuration.socket.path = socket }
        if let database { configuration.database.path = database }
        if let rules { configuration.rules.directory = rules }
        if printConfig {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(configuration), as: UTF8.self))
            return
        }
        guard let level = Logger.Level(rawValue: logLevel) else {
            FileHandle.standardError.write(Data("pathwayd: unknown log level \(logLevel)\n".utf8))
            throw ExitCode(2)
        }
        LoggingSystem.bootstrap { label in
            var handler = JournalLogHandler(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "pathwayd")
        do {
            try await Daemon.run(
                configuration: configuration, logger: logger, acceptDamagedAuditTrail: acceptDamagedAuditTrail)
        } catch {
            logger.critical("\(error)")
            throw ExitCode(1)
        }
    }
}
