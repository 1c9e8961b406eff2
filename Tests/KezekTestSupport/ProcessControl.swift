import Foundation

extension Process {
    /// Waits at most `timeout` seconds for the process to end. True when it has ended.
    @discardableResult
    public func waitForExit(timeout: Double) -> Bool {
        poll(timeout: timeout, interval: 0.01) { isRunning ? nil : true } ?? false
    }

    /// Sends `signal` to the process if it is still running.
    public func send(signal: Int32) {
        if isRunning { kill(processIdentifier, signal) }
    }

    /// SIGTERM, then SIGKILL if it has not ended after `grace` seconds; then waits for it.
    public func stop(grace: Double = 5) {
        guard isRunning else { return }
        send(signal: SIGTERM)
        if !waitForExit(timeout: grace) {
            send(signal: SIGKILL)
            waitForExit(timeout: 10)
        }
    }

    /// The exit status when it exited normally, nil when a signal ended it or it still runs.
    public var exitStatus: Int32? {
        guard !isRunning, terminationReason == .exit else { return nil }
        return terminationStatus
    }
}

/// The environment of this process without any `KEZEK_` variable, so a test sees only what
/// it sets itself.
public func cleanEnvironment(adding extra: [String: String] = [:]) -> [String: String] {
    var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("KEZEK_") }
    for (key, value) in extra { environment[key] = value }
    return environment
}

/// Runs a short-lived program to its end (at most `timeout` seconds, then SIGKILL).
/// Returns nil as status when it had to be killed or a signal ended it.
/// `stdin`: a file to read standard input from (none when nil).
public func runProgram(
    _ path: String, _ arguments: [String], environment: [String: String]? = nil,
    stdin: String? = nil, timeout: Double = 10
)
    throws -> (status: Int32?, stdout: String, stderr: String)
{
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
        "kezek-run-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let outPath = directory.appendingPathComponent("stdout").path
    let errPath = directory.appendingPathComponent("stderr").path
    _ = FileManager.default.createFile(atPath: outPath, contents: nil)
    _ = FileManager.default.createFile(atPath: errPath, contents: nil)
    let out = FileHandle(forWritingAtPath: outPath)!
    let err = FileHandle(forWritingAtPath: errPath)!
    defer { try? out.close(); try? err.close() }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    process.environment = environment ?? cleanEnvironment()
    if let stdin {
        guard let input = FileHandle(forReadingAtPath: stdin) else {
            throw TestSetupError("cannot read \(stdin)")
        }
        process.standardInput = input
    } else {
        process.standardInput = FileHandle.nullDevice
    }
    process.standardOutput = out
    process.standardError = err
    try process.run()
    var status: Int32? = nil
    if process.waitForExit(timeout: timeout) {
        status = process.exitStatus
    } else {
        process.send(signal: SIGKILL)
        process.waitForExit(timeout: 10)
    }
    let stdout = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
    let stderr = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
    return (status, stdout, stderr)
}

/// A file handle appending to `path` (created when missing).
public func appendingHandle(_ path: String) -> FileHandle {
    if !FileManager.default.fileExists(atPath: path) {
        _ = FileManager.default.createFile(atPath: path, contents: nil)
    }
    let handle = FileHandle(forWritingAtPath: path)!
    handle.seekToEndOfFile()
    return handle
}
