import Foundation
import PathwayServer
import PathwayTestSupport
import Testing

/// The configuration file as an ops engineer writes it, parsed in-process: mistakes are refused
/// naming the key, never ignored.
@Suite("configuration, in-process")
struct ConfigurationTests {
    /// A complete configuration with `section` replacing the section of the same key.
    func refusal(_ section: String) -> String? {
        let key = section.prefix { $0 != ":" }
        let base = [
            "socket: { path: /tmp/x.sock }", "database: { path: /tmp/x.sqlite }", "rules: { directory: Rules }",
            "roles: { ehr: { users: [\"@self\"] } }", "limits: { maxBodyBytes: 65536 }",
        ]
        let yaml = (base.filter { !$0.hasPrefix(key + ":") } + [section]).joined(separator: "\n")
        do {
            _ = try DaemonConfiguration.parse(yaml, file: "pathwayd.yaml")
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test("the base of the cases below is accepted")
    func base() {
        #expect(refusal("audit: { checkpointIntervalSeconds: 60 }") == nil)
    }

    @Test("the embedded development defaults parse")
    func development() throws {
        let configuration = try DaemonConfiguration.parse(DaemonConfiguration.developmentYAML, file: "development")
        #expect(configuration.socket.path == ".run/pathwayd.sock")
        #expect(configuration.rules.directory == "Rules")
    }

    @Test("the shipped production configuration parses: the gateway role for nginx's workers, no CDS client yet")
    func production() throws {
        let path = repositoryRoot.appendingPathComponent("Config/production.yaml").path
        let configuration = try DaemonConfiguration.load(path)
        #expect(configuration.roles["gateway"]?.users == ["www-data"])
        #expect(configuration.cdsHooks?.baseURL == "https://pathway.example.org")
        #expect(configuration.cdsHooks?.clients == [])
    }

    @Test(
        "an unknown key, an unknown role, the daemon's own role or a bad value is refused naming it",
        arguments: [
            ("socket: { path: /tmp/x.sock, colour: blue }", "socket.colour"),
            ("limits: { maxBodyBytes: -1 }", "maxBodyBytes"),
            ("roles: { surgeon: { users: [alice] } }", "roles.surgeon"),
            ("roles: { daemon: { users: [alice] } }", "roles.daemon"),
            ("database: { path: /tmp/x.sqlite, synchronous: sometimes }", "synchronous"),
        ])
    func refused(yaml: String, named: String) {
        let message = refusal(yaml)
        #expect(message?.contains(named) == true, "\(message ?? "accepted")")
    }
}
