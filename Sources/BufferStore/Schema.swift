/// The buffer's tables. `records` holds readings, events and alarms under one
/// `seq` (INTEGER PRIMARY KEY = rowid, so rows lie in `seq` order on disk).
/// Names and kinds are normalised into `points` so a row is a few integers.
enum Schema {
    static let version = 1

    static let create = """
    CREATE TABLE IF NOT EXISTS meta(
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS points(
        id INTEGER PRIMARY KEY,
        device TEXT NOT NULL,
        point TEXT NOT NULL,
        device_kind TEXT NOT NULL,
        unit TEXT NOT NULL,
        UNIQUE(device, point)
    );
    CREATE TABLE IF NOT EXISTS records(
        seq INTEGER PRIMARY KEY,
        kind INTEGER NOT NULL,
        point_id INTEGER NOT NULL,
        ts INTEGER NOT NULL,
        value REAL,
        quality INTEGER NOT NULL,
        sent INTEGER NOT NULL DEFAULT 0,
        detail TEXT
    );
    -- The uplink's backlog query walks this; it only holds unsent rows, so it stays small when the uplink keeps up.
    CREATE INDEX IF NOT EXISTS records_pending ON records(seq) WHERE sent = 0;
    -- Time-filtered tail and export.
    CREATE INDEX IF NOT EXISTS records_ts ON records(ts);
    -- Ranges of seq that will never be sent, and whether `gaps` has announced them (acknowledged by the broker).
    CREATE TABLE IF NOT EXISTS gaps(
        id INTEGER PRIMARY KEY,
        first_seq INTEGER NOT NULL,
        last_seq INTEGER NOT NULL,
        count INTEGER NOT NULL,
        reason TEXT NOT NULL,
        at_ms INTEGER NOT NULL,
        announced INTEGER NOT NULL DEFAULT 0
    );
    -- Alarm state: one row per alarm id, its latest transition.
    CREATE TABLE IF NOT EXISTS alarms(
        alarm_id TEXT PRIMARY KEY,
        type TEXT NOT NULL,
        severity TEXT NOT NULL,
        state TEXT NOT NULL,
        point_id INTEGER NOT NULL,
        raised_ms INTEGER,
        changed_ms INTEGER NOT NULL,
        value REAL,
        message TEXT NOT NULL,
        seq INTEGER NOT NULL
    );
    -- Every action that changes something (purge, resend, reload), for `gatewayctl audit`.
    CREATE TABLE IF NOT EXISTS audit(
        id INTEGER PRIMARY KEY,
        at_ms INTEGER NOT NULL,
        uid INTEGER NOT NULL,
        user TEXT NOT NULL,
        action TEXT NOT NULL,
        detail TEXT NOT NULL,
        rows INTEGER NOT NULL
    );
    -- Detectors' learned baselines, so they survive a restart.
    CREATE TABLE IF NOT EXISTS detector_state(
        key TEXT PRIMARY KEY,
        state BLOB NOT NULL,
        updated_ms INTEGER NOT NULL
    );
    """
}
