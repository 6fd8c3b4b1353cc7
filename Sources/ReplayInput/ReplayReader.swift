import GatewayModel

/// A bad replay file, with where and why: `FILE:LINE: message`.
public struct ReplayInputError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    /// 1-based line number; 0 when the problem is the file itself.
    public var line: Int
    public var message: String

    public init(path: String, line: Int, message: String) {
        self.path = path
        self.line = line
        self.message = message
    }

    public var description: String { line > 0 ? "\(path):\(line): \(message)" : "\(path): \(message)" }
}

/// One reading of a replay CSV.
public struct ReplayRow: Sendable, Equatable {
    /// Milliseconds since the Unix epoch, UTC.
    public var ts: Int64
    public var device: String
    public var point: String
    /// `nil` for an empty value field: the reading carried no value (treated as `comm_error`).
    public var value: Double?
    /// Dense number of the (device, point) pair, in order of first appearance (0, 1, 2...):
    /// a replay can use it directly as a `PointID`.
    public var pairIndex: Int
    /// 1-based line in the file.
    public var line: Int

    public init(ts: Int64, device: String, point: String, value: Double?, pairIndex: Int, line: Int) {
        self.ts = ts
        self.device = device
        self.point = point
        self.value = value
        self.pairIndex = pairIndex
        self.line = line
    }
}

/// Reads `ts,device,point,value` rows (interface.md "Replay CSV") from a plain
/// or gzip file, in big chunks and at the byte level, so millions of rows take
/// seconds. Rows must be in time order; a row before its predecessor is an error.
/// Blocking file I/O: run it off the cooperative pool.
public struct ReplayReader {
    private let source: ChunkedSource
    private var parser: ReplayRowParser

    /// Opens the file (gzip is detected from its content, so `.gz` and plain both work) and checks the header.
    public init(path: String) throws {
        source = try ChunkedSource(path: path)
        parser = try ReplayRowParser(source: source)
    }

    /// The next row, or `nil` at the end of the file. Throws `ReplayInputError` naming the line for a bad row.
    public mutating func next() throws -> ReplayRow? {
        while let line = try source.nextLine() {
            guard let row = try parser.parse(line) else { continue }
            let name = parser.pairs.names[Int(row.pairIndex)]
            return ReplayRow(ts: row.ts, device: name.device, point: name.point, value: row.value.isNaN ? nil : row.value,
                             pairIndex: Int(row.pairIndex), line: parser.lineNumber)
        }
        return nil
    }
}
