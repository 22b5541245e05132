// swift-tools-version:6.2
import PackageDescription

/// Warnings are errors in our own targets; dependencies keep their own settings.
let strict: [SwiftSetting] = [
    .unsafeFlags(["-warnings-as-errors"])
]

let package = Package(
    name: "pathwayd",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "pathwayd", targets: ["pathwayd"]),
        .executable(name: "pathwayctl", targets: ["pathwayctl"]),
        .library(name: "PathwayCore", targets: ["PathwayCore"]),
        .library(name: "PathwayAPI", targets: ["PathwayAPI"]),
        .library(name: "PathwayFHIR", targets: ["PathwayFHIR"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", exact: "7.10.0"),
        .package(
            url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1",
            traits: ["FullFoundation"]),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        // HTTPRequestPart and HTTPParserError, for the connection guard (Hummingbird uses both).
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.34.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        // The client: HTTP/1.1 over the Unix socket with timeouts (pathwayctl, the load client, the tests).
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        // /v1/metrics: the Prometheus exposition of swift-metrics (the writer) and our own collectors.
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // CDS Hooks client JWTs through the TLS gateway: signatures (ES384, RS384, …) and JWKS files.
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        // The tumor-board report: HTML and Markdown from templates that escape every value.
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
    ],
    targets: [
        // Versioned wire types of the v1 contract. Depends on nothing.
        .target(name: "PathwayAPI", swiftSettings: strict),
        // The pure engine: events → facts, rule compiler, three-valued evaluation. No I/O, no clock.
        .target(
            name: "PathwayCore",
            dependencies: [
                "PathwayAPI",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        // FHIR R4 / mCODE bundles → contract events, through the rules' terminology maps. Pure.
        .target(name: "PathwayFHIR", dependencies: ["PathwayCore", "PathwayAPI"], swiftSettings: strict),
        // What people read, from the wire types: the compact terminal view, what-if differences, the
        // readable audit record, the tumor-board report (HTML, Markdown). Shared by pathwayctl and the daemon.
        .target(
            name: "PathwayViews",
            dependencies: ["PathwayAPI", .product(name: "Mustache", package: "swift-mustache")],
            swiftSettings: strict),
        // Reading a rules directory from disk, shared by the daemon and the command line.
        .target(name: "PathwayRulesIO", dependencies: ["PathwayCore"], swiftSettings: strict),
        // SQLite through GRDB: events, patients, the hash-chained audit trail, the rules archive,
        // and the single group-committing writer.
        .target(
            name: "PathwayStore",
            dependencies: [
                "PathwayCore", "PathwayAPI",
                .product(name: "GRDB", package: "GRDB.swift"),
                // SQLite's C interface, for `verify`'s read of the whole chain.
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                "CZstd",
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: strict
        ),
        // Debian's libzstd: the outputs of v2 audit records, compressed against a dictionary of
        // the rules revision (`zstd -D` and Python's `zstandard` read them offline).
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        // `struct ucred` mirrored for Swift (glibc hides it behind _GNU_SOURCE).
        .target(name: "CPeerCredentials"),
        // The Hummingbird application on the Unix socket: roles, routes, reload, lifecycle, sd_notify.
        .target(
            name: "PathwayServer",
            dependencies: [
                "PathwayCore", "PathwayAPI", "PathwayStore", "PathwayRulesIO", "PathwayFHIR", "CPeerCredentials",
                "PathwayViews",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "JWTKit", package: "jwt-kit"),
            ],
            // The OpenAPI document, served at /v1/openapi.json: compiled into the binary, so an
            // installed daemon needs no resource bundle beside it.
            resources: [.embedInCode("openapi.json")],
            swiftSettings: strict
        ),
        // The typed v1 client on AsyncHTTPClient: pathwayctl, the load client, the daemon tests.
        .target(
            name: "PathwayClient",
            dependencies: [
                "PathwayAPI",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict),
        .executableTarget(
            name: "pathwayd",
            dependencies: [
                "PathwayServer", "PathwayAPI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "pathwayctl",
            dependencies: [
                "PathwayCore", "PathwayAPI", "PathwayRulesIO", "PathwayClient", "PathwayViews",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        // Transport floor for the load benchmark: one trivial route, same socket setup.
        .executableTarget(
            name: "pathwayd-floor",
            dependencies: [.product(name: "Hummingbird", package: "hummingbird")],
            path: "Benchmarks/Floor",
            swiftSettings: strict
        ),
        // What the test targets share: the repository's paths, one process runner, test data, a
        // CDS Hooks client that signs its JWTs.
        .target(
            name: "PathwayTestSupport",
            dependencies: ["PathwayAPI", .product(name: "JWTKit", package: "jwt-kit")],
            path: "Tests/PathwayTestSupport", swiftSettings: strict),
        // The views on the example cases: size of the compact view, ordering, escaping, what-if.
        .testTarget(
            name: "PathwayViewsTests",
            dependencies: ["PathwayViews", "PathwayCore", "PathwayAPI", "PathwayRulesIO", "PathwayTestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "PathwayCoreTests",
            dependencies: [
                "PathwayCore", "PathwayAPI", "PathwayTestSupport", .product(name: "Crypto", package: "swift-crypto"),
            ],
            exclude: ["Fixtures"],  // read from disk by path, not bundled
            swiftSettings: strict
        ),
        // The FHIR mapping on the shared mCODE examples and hand-made bundles, with the shipped rules.
        .testTarget(
            name: "PathwayFHIRTests",
            dependencies: ["PathwayFHIR", "PathwayCore", "PathwayAPI", "PathwayRulesIO", "PathwayTestSupport"],
            swiftSettings: strict
        ),
        // The store in-process on a real SQLite file: the writer's group commit and rollback, rejections.
        .testTarget(
            name: "PathwayStoreTests",
            dependencies: [
                "PathwayStore", "PathwayCore", "PathwayAPI", "PathwayRulesIO", "PathwayTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strict
        ),
        // The routes in-process, through Hummingbird's router test client, with injected callers and
        // a real SQLite file.
        .testTarget(
            name: "PathwayServerTests",
            dependencies: [
                "PathwayServer", "PathwayAPI", "PathwayStore", "PathwayTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["Fixtures"],  // read from disk by path
            swiftSettings: strict
        ),
        // Runs the real daemon binary on a real socket and database: lifecycle, signals, peer
        // credentials, sockets, crashes.
        .testTarget(
            name: "PathwayDaemonTests",
            dependencies: ["PathwayAPI", "PathwayClient", "PathwayTestSupport"],
            swiftSettings: strict
        ),
    ]
)
