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
    guard let status = exitStatus(of: process, within: 600) else {
        throw HarnessError("\(executable) did not exit within 600 s")
    }
    return Run(
        status: status, output: String(decoding: collected.output, as: UTF8.self),
        errors: String(decoding: collected.errors, as: UTF8.self))
}

/// Runs one of the package's own binaries (`pathwayd`, `pathwayctl`).
public func runBinary(_ name: String, _ arguments: [String], environment: [String: String]? = nil) throws -> Run {
    try run(binaries.appendingPathComponent(name).path, arguments, environment: environment)
}

/// The exit status once the process has exited, or nil after `seconds`, blocking the calling
/// thread. Foundation can miss a child's exit under load (seen in CI: `waitUntilExit` blocked on
/// a zombie for minutes), so a zombie's status is read from /proc without reaping it.
public func exitStatus(of process: Process, within seconds: Double) -> Int32? {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if let status = exitStatusNow(of: process) { return status }
        usleep(20_000)
    }
    return nil
}

/// `exitStatus(of:within:)` for async callers: polls without holding a thread of the cooperative
/// pool (two tests blocked in `waitUntilExit` on a two-core machine stalled every other test).
@discardableResult
public func waitForExit(_ process: Process, within seconds: Double = 120) async throws -> Int32 {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if let status = exitStatusNow(of: process) { return status }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw HarnessError("process \(process.processIdentifier) did not exit within \(seconds) s")
}

/// The exit status if the process has exited: Foundation's, or a zombie's `exit_code` (the last
/// field of /proc/<pid>/stat) when Foundation has not noticed yet. Foundation still reaps it.
private func exitStatusNow(of process: Process) -> Int32? {
    if !process.isRunning { return process.terminationStatus }
    guard let stat = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8),
        let fields = stat.split(separator: ")").last?.split(separator: " "),
        fields.first == "Z",
        let code = fields.last.flatMap({ Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) })
    else { return nil }
    return code & 0x7f != 0 ? code & 0x7f : (code >> 8) & 0xff
}

/// Another process (the sqlite3 tool) holding the write lock of a database until the test
/// releases it: a write meanwhile waits for the busy timeout and fails, however slowly the test
/// itself runs (a fixed hold once ran out on a loaded machine before the test's write began).
public final class WriteLockHolder: Sendable {
    let process: Process
    let release: String

    /// Returns once sqlite3 holds the lock. sqlite3 touches a file then, so this does not guess
    /// how long starting a process takes. `.timeout` lets it wait for a lock another connection
    /// holds for a moment, and `.bail` stops it at an error, so the marker never appears unless
    /// BEGIN IMMEDIATE succeeded: sqlite3 reading a script from a pipe otherwise goes on past a
    /// failed statement. It lets go when `release()` creates the release file, or after 10 minutes.
    public init(_ database: String) async throws {
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        holder.arguments = [database]
        let input = Pipe()
        holder.standardInput = input
        holder.standardOutput = FileHandle.nullDevice
        let tag = UUID().uuidString.prefix(8)
        let marker = database + ".locked-\(tag)"
        release = database + ".release-\(tag)"
        try holder.run()
        input.fileHandleForWriting.write(
            Data(
                """
                .bail on
                .timeout 30000
                BEGIN IMMEDIATE;
                .shell touch '\(marker)'
                .shell i=0; while [ ! -e '\(release)' ] && [ $i -lt 12000 ]; do sleep 0.05; i=$((i+1)); done
                COMMIT;

                """.utf8))
        try input.fileHandleForWriting.close()
        process = holder
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: marker) {
            guard holder.isRunning, Date() < deadline else {
                throw HarnessError("sqlite3 could not take the write lock of \(database)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        try? FileManager.default.removeItem(atPath: marker)
    }

    /// A test that failed before `release()` does not leave the lock held.
    deinit { if process.isRunning { process.terminate() } }

    /// Lets go of the lock and waits until sqlite3 has exited.
    public func release() async throws {
        _ = FileManager.default.createFile(atPath: release, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: release) }
        _ = try await waitForExit(process)
    }
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
