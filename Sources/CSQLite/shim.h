#include <sqlite3.h>

// sqlite3_db_config is variadic, which Swift cannot call.
static inline int gatewayd_sqlite3_set_lookaside(sqlite3 *db, int slot_size, int slots) {
    return sqlite3_db_config(db, SQLITE_DBCONFIG_LOOKASIDE, (void *)0, slot_size, slots);
}
