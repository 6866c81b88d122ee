#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "mem.h"

/* PRAGMA application_id: "VICC". Distinguishes our files from other sqlite databases. */
#define VIC_STORE_APP_ID 0x56494343

struct vic_store {
    sqlite3 *db;
    char *path;
    int version;
    pthread_mutex_t lock;
};

int vic_store_error(vic_err **err, sqlite3 *db, int rc, const char *what)
{
    int code = VIC_EIO;
    switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        code = VIC_ECORRUPT;
        break;
    case SQLITE_CONSTRAINT:
        code = VIC_ECONFLICT;
        break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        code = VIC_EUNAVAIL;
        break;
    case SQLITE_TOOBIG:
        code = VIC_ETOOBIG;
        break;
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
    case SQLITE_ERROR:
        code = VIC_EINTERNAL;
        break;
    default:
        break;
    }
    const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    return vic_err_set(err, code, "%s: %s", what, msg);
}

int vic_store_prepare(sqlite3 *db, sqlite3_stmt **out, const char *sql, vic_err **err)
{
    int rc = sqlite3_prepare_v2(db, sql, -1, out, NULL);
    if (rc != SQLITE_OK)
        return vic_store_error(err, db, rc, "prepare statement");
    return 0;
}

static int exec(sqlite3 *db, const char *sql, const char *what, vic_err **err)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc == SQLITE_OK)
        return 0;
    int code = vic_store_error(err, db, rc, what);
    sqlite3_free(msg);
    return code;
}

static int pragma_int(sqlite3 *db, const char *sql, int *out, vic_err **err)
{
    sqlite3_stmt *st cleanup_stmt = NULL;
    int rc = vic_store_prepare(db, &st, sql, err);
    if (rc < 0)
        return rc;
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
        return vic_store_error(err, db, rc, sql);
    *out = sqlite3_column_int(st, 0);
    return 0;
}

/* A cheap structural check: catches truncated or overwritten files at start, not mid-request. */
static int quick_check(vic_store *s, vic_err **err)
{
    sqlite3_stmt *st cleanup_stmt = NULL;
    int rc = vic_store_prepare(s->db, &st, "PRAGMA quick_check(1)", err);
    if (rc < 0)
        return rc;
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
        return vic_store_error(err, s->db, rc, "integrity check");
    const char *res = (const char *)sqlite3_column_text(st, 0);
    if (res == NULL || strcmp(res, "ok") != 0)
        return vic_err_set(err, VIC_ECORRUPT, "integrity check failed: %s", res ? res : "?");
    return 0;
}

static int migrate(vic_store *s, const vic_migration *migs, size_t n_migs, vic_err **err)
{
    for (size_t i = 0; i < n_migs; i++) {
        if (migs[i].version != (int)i + 1)
            return vic_err_set(err, VIC_EINTERNAL, "migration %zu is numbered %d", i + 1,
                               migs[i].version);
        if (migs[i].version <= s->version)
            continue;
        int rc = exec(s->db, "BEGIN IMMEDIATE", "begin migration", err);
        if (rc < 0)
            return rc;
        /* another process may have migrated since we looked: look again under the lock */
        if ((rc = pragma_int(s->db, "PRAGMA user_version", &s->version, err)) < 0) {
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            return rc;
        }
        if (migs[i].version <= s->version) {
            sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
            continue;
        }
        char *set = xasprintf("PRAGMA user_version = %d; PRAGMA application_id = %d;",
                              migs[i].version, VIC_STORE_APP_ID);
        rc = exec(s->db, migs[i].sql, "apply migration", err);
        if (rc == 0)
            rc = exec(s->db, set, "record schema version", err);
        free(set);
        if (rc == 0)
            rc = exec(s->db, "COMMIT", "commit migration", err);
        if (rc < 0) {
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            return vic_err_wrap(err, rc, "schema migration to version %d", migs[i].version);
        }
        s->version = migs[i].version;
    }
    return 0;
}

/* Switches a new database to WAL. Another process doing the same (or migrating) holds the
 * lock the switch needs, and sqlite answers that with SQLITE_BUSY at once, without its busy
 * handler: wait for it here, as long as the busy timeout would. */
static int use_wal(sqlite3 *db, vic_err **err)
{
    for (int waited_ms = 0;; waited_ms += 10) {
        sqlite3_stmt *st cleanup_stmt = NULL;
        int rc = vic_store_prepare(db, &st, "PRAGMA journal_mode = WAL", err);
        if (rc < 0)
            return vic_err_wrap(err, rc, "configure");
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            const char *mode = (const char *)sqlite3_column_text(st, 0);
            if (mode && strcmp(mode, "wal") == 0)
                return 0;
            return vic_err_set(err, VIC_EIO, "configure: the database stays in %s journal mode",
                               mode ? mode : "an unknown");
        }
        if (((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED) || waited_ms >= 5000)
            return vic_store_error(err, db, rc, "configure");
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* The database and its journal files are for this service alone: 0600, also when an earlier
 * version made them readable to others. SQLite gives new journal files the database's mode. */
static int make_private(const char *path, vic_err **err)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return vic_err_sys(err, VIC_EIO, errno, "open %s", path);
    int rc = fchmod(fd, 0600) < 0 ? vic_err_sys(err, VIC_EIO, errno, "chmod %s", path) : 0;
    close(fd);
    static const char *const journals[] = {"-wal", "-shm", "-journal"};
    for (size_t i = 0; i < 3 && rc == 0; i++) {
        cleanup_free char *j = xasprintf("%s%s", path, journals[i]);
        if (chmod(j, 0600) < 0 && errno != ENOENT)
            rc = vic_err_sys(err, VIC_EIO, errno, "chmod %s", j);
    }
    return rc;
}

static int open_checked(vic_store *s, const vic_migration *migs, size_t n_migs, vic_err **err)
{
    if (strcmp(s->path, ":memory:") != 0 && make_private(s->path, err) < 0)
        return VIC_EIO;
    int rc = sqlite3_open_v2(
        s->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK)
        return vic_store_error(err, s->db, rc, "open");
    sqlite3_busy_timeout(s->db, 5000);
    sqlite3_extended_result_codes(s->db, 1);

    /* Both from one snapshot: another process may be applying the first migration, which
     * sets the two together, and reading them apart could see one without the other. */
    int app_id = 0;
    if ((rc = exec(s->db, "BEGIN", "begin reading the header", err)) < 0)
        return rc;
    if ((rc = pragma_int(s->db, "PRAGMA application_id", &app_id, err)) == 0)
        rc = pragma_int(s->db, "PRAGMA user_version", &s->version, err);
    sqlite3_exec(s->db, rc == 0 ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
    if (rc < 0)
        return rc;
    if (app_id != 0 && app_id != VIC_STORE_APP_ID)
        return vic_err_set(err, VIC_ECORRUPT, "not a VIC-C database (application id %#x)",
                           (unsigned)app_id);
    if (app_id == 0 && s->version != 0)
        return vic_err_set(err, VIC_ECORRUPT, "not a VIC-C database (foreign schema version %d)",
                           s->version);
    if (s->version > (int)n_migs)
        return vic_err_set(err, VIC_ECORRUPT,
                           "schema version %d is newer than this build knows (%zu): it was "
                           "written by a newer VIC-C; run that version or restore a backup",
                           s->version, n_migs);
    if ((rc = quick_check(s, err)) < 0)
        return rc;
    if ((rc = use_wal(s->db, err)) < 0 ||
        (rc = exec(s->db, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;", "configure",
                   err)) < 0)
        return rc;
    return migrate(s, migs, n_migs, err);
}

int vic_store_open(vic_store **out, const char *path, const vic_migration *migs, size_t n_migs,
                   vic_err **err)
{
    *out = NULL;
    vic_store *s = xzalloc(sizeof(*s));
    s->path = xstrdup(path);
    pthread_mutex_init(&s->lock, NULL);
    int rc = open_checked(s, migs, n_migs, err);
    if (rc < 0) {
        if (rc == VIC_ECORRUPT)
            vic_err_wrap(err, rc, "database %s refused", path);
        else
            vic_err_wrap(err, rc, "database %s", path);
        vic_store_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void vic_store_free(vic_store *s)
{
    if (s == NULL)
        return;
    sqlite3_close_v2(s->db);
    pthread_mutex_destroy(&s->lock);
    free(s->path);
    free(s);
}

int vic_store_version(const vic_store *s)
{
    return s->version;
}

static int run_tx(vic_store *s, const char *begin, vic_store_fn fn, void *payload, vic_err **err)
{
    pthread_mutex_lock(&s->lock);
    int rc = exec(s->db, begin, "begin transaction", err);
    if (rc == 0) {
        rc = fn(s->db, payload, err);
        if (rc == 0)
            rc = exec(s->db, "COMMIT", "commit", err);
        if (rc < 0)
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int vic_store_write(vic_store *s, vic_store_fn fn, void *payload, vic_err **err)
{
    return run_tx(s, "BEGIN IMMEDIATE", fn, payload, err);
}

int vic_store_read(vic_store *s, vic_store_fn fn, void *payload, vic_err **err)
{
    return run_tx(s, "BEGIN DEFERRED", fn, payload, err);
}
