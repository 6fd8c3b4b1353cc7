import GatewayModel

/// One thing wrong with a configuration file, located by line and key path.
///
/// `key` is a path such as `bus[1].baud` or `device[0].point[2].type` (0-based
/// indices in the order the tables appear in the file). `description` is the
/// one-line form `config check` prints: `FILE:LINE: key: message`.
public struct ConfigProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var key: String
    public var message: String

    public init(file: String, line: Int, key: String, message: String) {
        self.file = file
        self.line = line
        self.key = key
        self.message = message
    }

    public var description: String { "\(file):\(line): \(key): \(message)" }
}

/// Every problem found in one file, in file order. Thrown by `ConfigReader`.
public struct ConfigProblems: Error, Sendable, CustomStringConvertible {
    public var problems: [ConfigProblem]

    public init(problems: [ConfigProblem]) { self.problems = problems }

    /// One problem per line, no trailing newline.
    public var description: String { problems.map(\.description).joined(separator: "\n") }
}

/// What the configuration is read for; it decides what must be declared.
public enum ConfigPurpose: Sendable {
    /// The full daemon configuration: detectors must name declared devices and points.
    case gateway
    /// `gatewayctl detect --replay`: only `[gateway].id` and `[[detector]]` are needed;
    /// the devices and points detectors name come from the CSV and need not be declared.
    case replay
}
