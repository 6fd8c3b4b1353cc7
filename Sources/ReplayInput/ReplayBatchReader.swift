import GatewayModel

/// Rows parsed on the reader thread, in file order.
struct ReplayBatch {
    var ts: [Int64] = []
    /// NaN where the row had no value.
    var values: [Double] = []
    var pairIndexes: [Int32] = []
    /// Names of the pairs first numbered in this batch, in pair order.
    var newNames: [(device: String, point: String)] = []
    /// The problem that ended the file after these rows, if any.
    var failure: ReplayInputError?
}

/// Reads and parses a replay CSV on its own thread (`replay-read`: gzip
/// inflate, splitting, number parsing), handing rows over in batches, so the
/// caller's thread only runs detection: the two overlap on two cores.
///
/// Queue policy: at most `queueBatches` batches wait; a full queue blocks the
/// reader (never drops). `stop` closes the queue, which ends the reader at its
/// next hand-over, and joins it.
final class ReplayBatchReader {
    static let rowsPerBatch = 16_384
    static let queueBatches = 4

    private let queue = BoundedQueue<ReplayBatch>(capacity: ReplayBatchReader.queueBatches)
    private var thread: OwnerThread?

    /// Opens the file and checks the header on the caller's thread (so those
    /// errors throw here), then starts the reader thread.
    init(path: String) throws {
        let source = try ChunkedSource(path: path)
        let parser = try ReplayRowParser(source: source)
        // The source and parser move to the reader thread and are used only there from now on.
        let thread = OwnerThread(name: "replay-read") { [queue] in
            ReplayBatchReader.read(source, parser, into: queue)
        }
        self.thread = thread
        thread.start()
    }

    deinit { stop() }

    /// The next batch, blocking until the reader has one; `nil` after the last.
    func next() -> ReplayBatch? {
        queue.take(max: 1).first
    }

    /// Ends the reader (if still running) and waits for its thread.
    func stop() {
        queue.close()
        thread?.join()
        thread = nil
    }

    private static func read(_ source: ChunkedSource, _ parser: ReplayRowParser, into queue: BoundedQueue<ReplayBatch>) {
        var parser = parser
        var batch = emptyBatch()
        var named = 0
        func handOver(_ batch: inout ReplayBatch) -> Bool {
            let pairs = parser.pairs
            if pairs.count > named {
                batch.newNames = Array(pairs.names[named..<pairs.count])
                named = pairs.count
            }
            return queue.put(batch)
        }
        do {
            while let line = try source.nextLine() {
                guard let row = try parser.parse(line) else { continue }
                batch.ts.append(row.ts)
                batch.values.append(row.value)
                batch.pairIndexes.append(row.pairIndex)
                if batch.ts.count == rowsPerBatch {
                    guard handOver(&batch) else { return }
                    batch = emptyBatch()
                }
            }
        } catch {
            batch.failure = error as? ReplayInputError
                ?? ReplayInputError(path: parser.path, line: parser.lineNumber, message: "\(error)")
        }
        if !batch.ts.isEmpty || batch.failure != nil { _ = handOver(&batch) }
        queue.close()
    }

    private static func emptyBatch() -> ReplayBatch {
        var b = ReplayBatch()
        b.ts.reserveCapacity(rowsPerBatch)
        b.values.reserveCapacity(rowsPerBatch)
        b.pairIndexes.reserveCapacity(rowsPerBatch)
        return b
    }
}
