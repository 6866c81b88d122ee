/*
 * store.h - the sqlite store: one database file, WAL mode, numbered migrations.
 *
 * vic_store_open() applies every migration newer than the file's schema version, each in its
 * own transaction, and refuses a file that is not ours, is corrupt, or was written by a newer
 * build. Every write goes through vic_store_write(), which runs a callback inside
 * BEGIN IMMEDIATE ... COMMIT and rolls back when the callback fails, so nothing is ever
 * half-written. The connection is shared by threads and serialised by a mutex.
 */
#ifndef VIC_STORE_H
#define VIC_STORE_H

#include <sqlite3.h>
#include <stddef.h>

#include "err.h"

typedef struct vic_store vic_store;

/* Migration i (1-based) brings the schema from version i-1 to i. */
typedef struct vic_migration {
    int version;
    const char *sql;
} vic_migration;

/* Callback run inside a transaction; return 0 or a negative vic_code (with err set). */
typedef int (*vic_store_fn)(sqlite3 *db, void *payload, vic_err **err);

/* Opens (creating when absent) the database at path and migrates it. VIC_ECORRUPT when the
 * file is not a VIC-C database, is damaged, or has a schema newer than migs know. */
int vic_store_open(vic_store **out, const char *path, const vic_migration *migs, size_t n_migs,
                   vic_err **err);

void vic_store_free(vic_store *s);

/* Runs fn in a write transaction (BEGIN IMMEDIATE); commits when fn returns 0. */
int vic_store_write(vic_store *s, vic_store_fn fn, void *payload, vic_err **err);

/* Runs fn in a read transaction: a consistent snapshot, no writes. */
int vic_store_read(vic_store *s, vic_store_fn fn, void *payload, vic_err **err);

/* The schema version the file is at after open. */
int vic_store_version(const vic_store *s);

/* Turns an sqlite result code into a vic_err ("what: message"); returns the vic_code. */
int vic_store_error(vic_err **err, sqlite3 *db, int rc, const char *what);

/* Prepares sql, failing with a vic_err. *out must be finalised by the caller. */
int vic_store_prepare(sqlite3 *db, sqlite3_stmt **out, const char *sql, vic_err **err);

static inline void vic_cleanup_stmt_(sqlite3_stmt **st)
{
    sqlite3_finalize(*st);
}
#define cleanup_stmt __attribute__((cleanup(vic_cleanup_stmt_)))

#endif
