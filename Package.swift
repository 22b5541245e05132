// swift-tools-version:6.2
import PackageDescription

/// Warnings are errors in our own targets; dependencies keep their own settings.
let strict: [SwiftSetting] = [
    .unsafeFlags(["-warnings-as-errors"]),
]

let package = Package(
    name: "pathwayd",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "pathwayctl", targets: ["pathwayctl"]),
        .library(name: "PathwayCore", targets: ["PathwayCore"]),
        .library(name: "PathwayAPI", targets: ["PathwayAPI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
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
        .executableTarget(
            name: "pathwayctl",
            dependencies: [
                "PathwayCore", "PathwayAPI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "PathwayCoreTests",
            dependencies: ["PathwayCore", "PathwayAPI"],
            exclude: ["Fixtures"],  // read from disk by path, not bundled
            swiftSettings: strict
        ),
    ]
)
