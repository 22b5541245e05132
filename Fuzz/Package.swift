// swift-tools-version:6.2
// libFuzzer targets for the code that reads untrusted bytes. Build and run with Fuzz/run.
// `pathwayd` is a symlink to the repository root, so that the package identity does not depend on
// the name of the folder the repository was cloned into.
import PackageDescription

let core: [Target.Dependency] = [
    .product(name: "PathwayCore", package: "pathwayd"), .product(name: "PathwayAPI", package: "pathwayd"),
]

let package = Package(
    name: "pathwayd-fuzz",
    dependencies: [.package(path: "pathwayd")],
    targets: [
        .executableTarget(name: "FuzzRules", dependencies: core, swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
        .executableTarget(name: "FuzzEvents", dependencies: core, swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
        .executableTarget(
            name: "FuzzRequests", dependencies: core + [.product(name: "PathwayFHIR", package: "pathwayd")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
    ]
)
