#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import GatewayModel

/// Turns a TOML file into a validated `GatewayConfiguration`.
///
/// One reader serves the daemon's start and reload, `gatewayctl config check`
/// and `detect --replay`. Reading never stops at the first problem: it
/// throws `ConfigProblems` listing every problem found, each as
/// `FILE:LINE: key: message`. Pure computation on the caller's thread apart
/// from `load` reading the file (one small blocking read).
public enum ConfigReader {
    /// Reads and validates the file at `path`.
    ///
    /// - Throws: `ConfigProblems` with every problem found; a file that cannot
    ///   be read gives one problem at line 1 with key `file` and the system's reason.
    public static func load(path: String, purpose: ConfigPurpose = .gateway) throws -> GatewayConfiguration {
        let text: String
        do {
            text = try readFile(path)
        } catch let failure as FileReadFailure {
            throw ConfigProblems(problems: [ConfigProblem(file: path, line: 1, key: "file", message: failure.message)])
        }
        return try parse(text: text, path: path, purpose: purpose)
    }

    /// Validates `text` as if read from `path` (used in messages and `sourcePath`).
    ///
    /// - Throws: `ConfigProblems` with every problem found. A TOML syntax error
    ///   stops reading there and is the only problem reported (key `syntax`).
    public static func parse(text: String, path: String, purpose: ConfigPurpose = .gateway) throws -> GatewayConfiguration {
        if let line = tripleBracketHeaderLine(text) {
            throw ConfigProblems(problems: [ConfigProblem(file: path, line: line, key: "syntax",
                message: "a table header opens with three brackets; use [table] or [[array-of-tables]]")])
        }
        let root: ConfigValue
        do {
            root = try TOMLDocument.parse(text)
        } catch let error as TOMLSyntaxError {
            let line = max(1, error.line)
            throw ConfigProblems(problems: [ConfigProblem(file: path, line: line, key: "syntax",
                                                          message: syntaxMessage(error.message, line: lineText(text, line)))])
        }
        guard case .table(let values) = root else {
            throw ConfigProblems(problems: [ConfigProblem(file: path, line: 1, key: "syntax", message: "not a TOML document")])
        }
        let log = ProblemLog(file: path, index: KeyLineIndex(text: text))
        let document = ConfigDocument(root: ConfigSection(path: "", values: values, log: log), purpose: purpose)
        let configuration = document.read(sourcePath: path)
        if let configuration, log.problems.isEmpty { return configuration }
        var problems = log.sorted
        if problems.isEmpty {
            // read() only returns nil after reporting; this keeps a bug from passing silently.
            problems = [ConfigProblem(file: path, line: 1, key: "gateway", message: "the configuration could not be read")]
        }
        throw ConfigProblems(problems: problems)
    }

    /// The first line whose header opens with `[[[`: toml++ trips an internal
    /// assertion (an abort, not a parse error) on it, so it is caught here first.
    static func tripleBracketHeaderLine(_ text: String) -> Int? {
        var line = 1
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if raw.drop(while: { $0 == " " || $0 == "\t" }).hasPrefix("[[[") { return line }
            line += 1
        }
        return nil
    }

    /// toml++'s message with a lower-case first letter, plus a hint for the most
    /// common mistake in the field: text written without quotes (`host = 192.0.2.10`).
    static func syntaxMessage(_ text: String, line: String) -> String {
        let trimmed = text.trimmingSpacesAndTabs()
        guard let first = trimmed.first else { return "invalid TOML" }
        var message = first.lowercased() + trimmed.dropFirst()
        if let equals = line.firstIndex(of: "=") {
            let key = line[..<equals].trimmingSpacesAndTabs()
            var value = Substring(line[line.index(after: equals)...])
            if let hash = value.firstIndex(of: "#") { value = value[..<hash] }
            let v = value.trimmingSpacesAndTabs()
            let plain = v.replacingUnderscores()
            let looksLikeText = !v.isEmpty && !"\"'[{".contains(v.first!) && v != "true" && v != "false"
                && Int(plain) == nil && Double(plain) == nil
            if looksLikeText && !key.isEmpty {
                message += " (text values need quotes: \(key) = \"\(v)\")"
            }
        }
        return message
    }

    private static func lineText(_ text: String, _ number: Int) -> String {
        var n = 1
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if n == number { return String(line) }
            n += 1
        }
        return ""
    }

    fileprivate struct FileReadFailure: Error { var message: String }

    private static func readFile(_ path: String) throws -> String {
        let bytes: [UInt8]
        do {
            // A config is a few kilobytes; refuse to slurp a wrong path such as a disk image.
            bytes = try PlainFile.read(path, limit: 16 << 20)
        } catch PlainFileError.tooLarge {
            throw FileReadFailure(message: "the file is larger than 16 MB; is this really the configuration?")
        } catch let failure as PlainFileError {
            let code = failure.errno ?? EIO
            var message = "cannot read the configuration file: \(SystemCall.errorText(code))"
            if code == ENOENT { message += " (check the path given to --config)" }
            if code == EACCES { message += " (check the file's owner and permissions)" }
            throw FileReadFailure(message: message)
        }
        let text = String(decoding: bytes, as: UTF8.self)
        // Decoding replaces invalid sequences, so a changed byte count means the file was not UTF-8.
        guard text.utf8.count == bytes.count, text.utf8.elementsEqual(bytes) else {
            throw FileReadFailure(message: "the file is not UTF-8 text")
        }
        return text
    }
}

private extension String {
    func replacingUnderscores() -> String { String(filter { $0 != "_" }) }
}
