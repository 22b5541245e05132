import Foundation
import Hummingbird
import Logging
import PathwayAPI
import PathwayServer
import PathwayTestSupport
import Testing

/// The OpenAPI document and the router agree: every route the router serves is in the document
/// with its method, and every operation of the document is served.
@Suite("the OpenAPI document")
struct OpenAPITests {
    /// `GET /v1/audit/decisions/{id}` for each route of the router (`:id` written `{id}`).
    func served(_ harness: InProcessDaemon) async throws -> Set<String> {
        var logger = Logger(label: "pathwayd-test")
        logger.logLevel = .warning
        let service = try await PathwayService.open(configuration: harness.configuration, logger: logger)
        let router = buildRouter(service: service, callers: TestCallers())
        let routes = Set(
            router.routes.map { route in
                let path = route.path.description.split(separator: "/", omittingEmptySubsequences: false).map {
                    $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0)
                }
                return "\(route.method.rawValue) " + path.joined(separator: "/")
            })
        try await service.close()
        return routes
    }

    /// The same for the document's operations.
    func documented(_ document: JSONValue) -> Set<String> {
        guard case .object(let paths)? = document.at("paths") else { return [] }
        return Set(
            paths.flatMap { path, item -> [String] in
                guard case .object(let operations) = item else { return [] }
                return operations.keys.map { "\($0.uppercased()) \(path)" }
            })
    }

    @Test(
        "every served route is documented and every documented operation is served; the document is served as committed"
    )
    func complete() async throws {
        let harness = try InProcessDaemon()
        let routes = try await served(harness)
        let answer = try await harness.run { daemon in try await daemon.get("/v1/openapi.json", as: [.auditor]) }
        #expect(answer.status == 200)
        #expect(answer.headers[.contentType] == "application/json")
        let committed = try Data(
            contentsOf: repositoryRoot.appendingPathComponent("Sources/PathwayServer/openapi.json"))
        #expect(Data(answer.body) == committed)
        let document = try answer.json()
        #expect(document.at("openapi") == "3.1.0")
        let operations = documented(document)
        #expect(routes.count >= 21)
        #expect(
            routes.subtracting(operations).isEmpty, "served, not documented: \(routes.subtracting(operations).sorted())"
        )
        #expect(
            operations.subtracting(routes).isEmpty, "documented, not served: \(operations.subtracting(routes).sorted())"
        )
    }

    @Test("every operation names its roles and every schema reference resolves")
    func wellFormed() throws {
        let data = try Data(contentsOf: repositoryRoot.appendingPathComponent("Sources/PathwayServer/openapi.json"))
        let document = try JSONDecoder().decode(JSONValue.self, from: data)
        guard case .object(let paths)? = document.at("paths"),
            case .object(let schemas)? = document.at("components.schemas")
        else {
            Issue.record("no paths or schemas")
            return
        }
        for (path, item) in paths {
            guard case .object(let operations) = item else { continue }
            for (method, operation) in operations {
                #expect(operation.at("x-pathwayd-roles")?.array?.isEmpty == false, "\(method) \(path)")
                #expect(operation.at("responses") != nil, "\(method) \(path)")
            }
        }
        var references: Set<String> = []
        func collect(_ value: JSONValue) {
            switch value {
            case .object(let members):
                if case .string(let target)? = members["$ref"] { references.insert(target) }
                members.values.forEach(collect)
            case .array(let items): items.forEach(collect)
            default: break
            }
        }
        collect(document)
        for target in references {
            let name = target.replacingOccurrences(of: "#/components/schemas/", with: "")
            #expect(schemas[name] != nil, "unresolved \(target)")
        }
    }
}
