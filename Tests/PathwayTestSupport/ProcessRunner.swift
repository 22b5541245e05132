import Foundation

/// The repository root, found from this file's path.
public let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// Where `swift build` put the binaries the tests run: beside the test bundle, or `.build/debug`.
public let binaries: URL = {
    let bundle = Bundle.main.bundleURL
    let candidates = [
        bundle.deletingLastPathComponent(), bundle, repositoryRoot.appendingPathComponent(".build/debug"),
    ]
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0.appendingPathComponent("pathwayd").path) }
        ?? candidates[2]
}()

/// What a finished program wrote and how it ended.
public struct Run: Sendable {
    public var status: Int32
    public var output: String
    public var errors: String
}

/// Runs a program to completion in the repository root. Standard output and standard error are
/// read at the same time, each on its own thread, so a child that fills one pipe (64 KiB) while
/// the other is being read cannot deadlock the test.
public func run(
    _ executable: String, _ arguments: [String], environment: [String: String]? = nil, input: Data? = nil
) throws -> Run {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.currentDirectoryURL = repositoryRoot
    if let environment { process.environment = environment }
    let output = Pipe()
    let errors = Pipe()
    let stdin = Pipe()
    process.standardOutput = output
    process.standardError = errors
    process.standardInput = input == nil ? FileHandle.nullDevice : stdin
    try process.run()
    let collected = Collected()
    let group = DispatchGroup()
    for (pipe, isOutput) in [(output, true), (errors, false)] {
        group.enter()
        Thread.detachNewThread {
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            collected.set(data, isOutput: isOutput)
            group.leave()
        }
    }
    if let input {
        stdin.fileHandleForWriting.write(input)
        try? stdin.fileHandleForWriting.close()
    }
    group.wait()
    process.waitUntilExit()
    return Run(
        status: process.terminationStatus, output: String(decoding: collected.output, as: UTF8.self),
        errors: String(decoding: collected.errors, as: UTF8.self))
}

/// Runs one of the package's own binaries (`pathwayd`, `pathwayctl`).
public func runBinary(_ name: String, _ arguments: [String], environment: [String: String]? = nil) throws -> Run {
    try run(binaries.appendingPathComponent(name).path, arguments, environment: environment)
}

/// Another process holding the database's write lock (`BEGIN IMMEDIATE` in the sqlite3 tool) for
/// `seconds`, longer than the writer waits (5 s). Returns once the lock is taken; wait for the
/// process to exit to have it released.
public func holdingWriteLock(_ database: String, seconds: Int) async throws -> Process {
    let holder = Process()
    holder.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
    holder.arguments = [database]
    let input = Pipe()
    holder.standardInput = input
    holder.standardOutput = FileHandle.nullDevice
    // sqlite3 touches a file once it holds the lock; this returns then, not after a guess at how
    // long that takes (a busy machine can take seconds to start a process).
    let marker = database + ".locked-\(UUID().uuidString.prefix(8))"
    try holder.run()
    input.fileHandleForWriting.write(
        Data("BEGIN IMMEDIATE;\n.shell touch '\(marker)'\n.shell sleep \(seconds)\nCOMMIT;\n".utf8))
    try input.fileHandleForWriting.close()
    let deadline = Date().addingTimeInterval(60)
    while !FileManager.default.fileExists(atPath: marker) {
        guard holder.isRunning, Date() < deadline else {
            throw HarnessError("sqlite3 could not take the write lock of \(database)")
        }
        try await Task.sleep(for: .milliseconds(20))
    }
    try? FileManager.default.removeItem(atPath: marker)
    return holder
}

private final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var outputData = Data()
    private var errorData = Data()

    func set(_ data: Data, isOutput: Bool) {
        lock.lock()
        defer { lock.unlock() }
        if isOutput { outputData = data } else { errorData = data }
    }

    var output: Data { lock.lock(); defer { lock.unlock() }; return outputData }
    var errors: Data { lock.lock(); defer { lock.unlock() }; return errorData }
}

public struct HarnessError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
