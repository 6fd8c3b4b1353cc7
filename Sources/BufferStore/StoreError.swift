import CSQLite

/// What went wrong with the buffer, in words a maintainer can act on.
public enum StoreError: Error, CustomStringConvertible, Equatable {
    /// SQLITE_FULL or ENOSPC: the disk holding the buffer is full.
    case diskFull(path: String)
    /// The file is not a usable SQLite database (truncated, overwritten, damaged).
    case corrupt(path: String, detail: String)
    /// Another process holds a lock longer than the busy timeout.
    case locked(path: String, detail: String)
    /// The file or its directory cannot be opened (permissions, missing directory, read-only mount).
    case cannotOpen(path: String, detail: String)
    /// The database was written by a newer gatewayd.
    case newerSchema(path: String, found: Int, supported: Int)
    /// Any other SQLite failure, with the statement we were running.
    case sqlite(code: Int32, message: String, doing: String)

    public var description: String {
        switch self {
        case .diskFull(let path):
            return "the disk holding the buffer \(path) is full — free space or lower buffer.max_size"
        case .corrupt(let path, let detail):
            return "the buffer \(path) is damaged (\(detail))"
        case .locked(let path, let detail):
            return "the buffer at \(path) is locked by another process (\(detail)) — is another gatewayd or a long gatewayctl export running?"
        case .cannotOpen(let path, let detail):
            return "cannot open the buffer \(path): \(detail) — check that data_dir exists and is writable by the gatewayd user"
        case .newerSchema(let path, let found, let supported):
            return "the buffer \(path) has schema version \(found), this gatewayd understands up to \(supported) — upgrade gatewayd"
        case .sqlite(let code, let message, let doing):
            return "SQLite error \(code) (\(message)) while \(doing)"
        }
    }

    static func classify(code: Int32, message: String, path: String, doing: String) -> StoreError {
        switch code & 0xFF {
        case SQLITE_FULL: return .diskFull(path: path)
        case SQLITE_CORRUPT, SQLITE_NOTADB: return .corrupt(path: path, detail: message)
        case SQLITE_BUSY, SQLITE_LOCKED: return .locked(path: path, detail: message)
        case SQLITE_CANTOPEN, SQLITE_PERM, SQLITE_READONLY: return .cannotOpen(path: path, detail: message)
        case SQLITE_IOERR where code == (SQLITE_IOERR | (3 << 8)) || message.contains("disk is full"):
            // SQLITE_IOERR_WRITE (a macro Swift cannot import): ENOSPC surfaces here on some writes.
            return .diskFull(path: path)
        default: return .sqlite(code: code, message: message, doing: doing)
        }
    }
}
