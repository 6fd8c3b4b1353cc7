import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real program started by a test, with its output collected line by line.
public final class ChildProcess: @unchecked Sendable {
    // Invariant: `stdoutLines`/`stderrLines` are guarded by `lock`.
    public let process = Process()
    private let stdinPipe = Pipe()
    private let stdoutPipe = Pipe()
    private let stderrPipe = Pipe()
    private let lock = NSLock()
    private var out: [String] = []
    private var err: [String] = []
    private var outPartial = Data()
    private var errPartial = Data()
    public let name: String
    /// Echo the child's stderr to the test's stderr (useful when a test fails).
    public var echo = ProcessInfo.processInfo.environment["GATEWAYD_TEST_ECHO"] != nil

    public init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                currentDirectory: String? = nil) throws {
        name = URL(fileURLWithPath: executable).lastPathComponent
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment {
            var env = ProcessInfo.processInfo.environment
            env.merge(environment) { $1 }
            process.environment = env
        }
        if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
        process.standardInput = stdinPipe
        process.standardOutput = stdoutPipe
        process.standardError = stderrPipe
        try process.run()
        // One reader per pipe, reading to end of file, so nothing the child wrote is ever cut off.
        for (pipe, isStderr) in [(stdoutPipe, false), (stderrPipe, true)] {
            let done = DispatchSemaphore(value: 0)
            readersDone.append(done)
            let handle = pipe.fileHandleForReading
            Thread.detachNewThread { [weak self] in
                while true {
                    let data = handle.availableData
                    if data.isEmpty { break }
                    self?.collect(data, stderr: isStderr)
                }
                self?.finishPartialLine(stderr: isStderr)
                done.signal()
            }
        }
    }

    private var readersDone: [DispatchSemaphore] = []

    /// Waits (bounded) until both pipes reached end of file.
    private func waitForOutput(timeout: TimeInterval) {
        for done in readersDone { _ = done.wait(timeout: .now() + timeout) }
    }

    private func finishPartialLine(stderr: Bool) {
        lock.lock(); defer { lock.unlock() }
        let rest = stderr ? errPartial : outPartial
        guard !rest.isEmpty else { return }
        let line = String(decoding: rest, as: UTF8.self)
        if stderr { err.append(line); errPartial = Data() } else { out.append(line); outPartial = Data() }
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    private func collect(_ data: Data, stderr: Bool) {
        guard !data.isEmpty else { return }
        lock.lock(); defer { lock.unlock() }
        var buffer = (stderr ? errPartial : outPartial) + data
        while let nl = buffer.firstIndex(of: 0x0A) {
            let line = String(decoding: buffer[buffer.startIndex..<nl], as: UTF8.self)
            buffer = Data(buffer[buffer.index(after: nl)...])
            if stderr { err.append(line) } else { out.append(line) }
            if echo { FileHandle.standardError.write(Data("[\(name)] \(line)\n".utf8)) }
        }
        if stderr { errPartial = buffer } else { outPartial = buffer }
    }

    public var stdoutLines: [String] { lock.lock(); defer { lock.unlock() }; return out }
    public var stderrLines: [String] { lock.lock(); defer { lock.unlock() }; return err }
    public var allOutput: String { (stdoutLines + stderrLines).joined(separator: "\n") }

    /// Waits for a line (stdout or stderr) containing `text`; returns it, or nil on timeout.
    @discardableResult
    public func waitForLine(containing text: String, timeout: TimeInterval = 10) -> String? {
        var found: String?
        TestPaths.waitUntil(timeout: timeout) {
            found = (stdoutLines + stderrLines).first { $0.contains(text) }
            return found != nil
        }
        return found
    }

    public func send(_ line: String) {
        stdinPipe.fileHandleForWriting.write(Data((line + "\n").utf8))
    }

    public func signal(_ sig: Int32) {
        if process.isRunning { kill(process.processIdentifier, sig) }
    }

    /// Waits for the process to end; returns its exit status, or nil on timeout.
    public func waitForExit(timeout: TimeInterval = 15) -> Int32? {
        guard TestPaths.waitUntil(timeout: timeout, { !process.isRunning }) else { return nil }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// SIGKILL and reap.
    public func kill9() {
        signal(SIGKILL)
        _ = waitForExit(timeout: 10)
    }

    public var isRunning: Bool { process.isRunning }

    /// Runs a program to completion and returns (status, stdout, stderr).
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                           stdin: String? = nil, timeout: TimeInterval = 60) throws -> (status: Int32, stdout: String, stderr: String) {
        let p = try ChildProcess(executable, arguments, environment: environment)
        if let stdin { p.send(stdin) }
        try? p.stdinPipe.fileHandleForWriting.close()
        guard let status = p.waitForExit(timeout: timeout) else {
            p.kill9()
            throw NSError(domain: "ChildProcess", code: 1, userInfo: [NSLocalizedDescriptionKey: "\(executable) did not finish within \(timeout) s"])
        }
        p.waitForOutput(timeout: 10)
        return (status, p.stdoutLines.joined(separator: "\n"), p.stderrLines.joined(separator: "\n"))
    }
}
