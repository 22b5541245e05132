// swift-tools-version:6.2
// libFuzzer targets for the two decoders that read untrusted text. Build and run with Fuzz/run.
import PackageDescription

let package = Package(
    name: "pathwayd-fuzz",
    dependencies: [.package(path: "..")],
    targets: [
        .executableTarget(
            name: "FuzzRules",
            dependencies: [.product(name: "PathwayCore", package: "main")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
        .executableTarget(
            name: "FuzzEvents",
            dependencies: [.product(name: "PathwayCore", package: "main"), .product(name: "PathwayAPI", package: "main")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
    ]
)
