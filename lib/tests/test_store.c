#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/mem.h"
#include "lib/store.h"

static const vic_migration migs[] = {
    {1, "CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER NOT NULL);"},
    {2, "ALTER TABLE kv ADD COLUMN note TEXT;"},
};

typedef struct fixture {
    char dir[64];
    char path[96];
} fixture;

static int setup(void **state)
{
    fixture *f = xzalloc(sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/vic-test-store-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char *cmd = xasprintf("rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(f);
    return 0;
}

typedef struct put_args {
    const char *k;
    int v;
    int fail_after;
} put_args;

static int put(sqlite3 *db, void *payload, vic_err **err)
{
    put_args *a = payload;
    sqlite3_stmt *st cleanup_stmt = NULL;
    int rc = vic_store_prepare(db, &st,
                               "INSERT INTO kv(k, v) VALUES(?, ?) "
                               "ON CONFLICT(k) DO UPDATE SET v = v + excluded.v",
                               err);
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, a->k, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, a->v);
    if ((rc = sqlite3_step(st)) != SQLITE_DONE)
        return vic_store_error(err, db, rc, "put");
    if (a->fail_after)
        return vic_err_set(err, VIC_EINVAL, "callback failed after writing");
    return 0;
}

typedef struct get_args {
    const char *k;
    int v;
    int found;
} get_args;

static int get(sqlite3 *db, void *payload, vic_err **err)
{
    get_args *a = payload;
    sqlite3_stmt *st cleanup_stmt = NULL;
    int rc = vic_store_prepare(db, &st, "SELECT v FROM kv WHERE k = ?", err);
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, a->k, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    a->found = rc == SQLITE_ROW;
    if (a->found)
        a->v = sqlite3_column_int(st, 0);
    return 0;
}

static void test_store_migrates_and_reopens(void **state)
{
    fixture *f = *state;
    vic_store *s = NULL;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(vic_store_open(&s, f->path, migs, 1, &err), 0);
    assert_int_equal(vic_store_version(s), 1);
    vic_store_free(s);
    assert_int_equal(vic_store_open(&s, f->path, migs, 2, &err), 0);
    assert_int_equal(vic_store_version(s), 2);
    put_args p = {.k = "a", .v = 1};
    assert_int_equal(vic_store_write(s, put, &p, &err), 0);
    vic_store_free(s);
    assert_int_equal(vic_store_open(&s, f->path, migs, 2, &err), 0);
    get_args g = {.k = "a"};
    assert_int_equal(vic_store_read(s, get, &g, &err), 0);
    assert_true(g.found);
    assert_int_equal(g.v, 1);
    vic_store_free(s);
}

static void test_store_failed_write_rolls_back(void **state)
{
    fixture *f = *state;
    vic_store *s = NULL;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(vic_store_open(&s, f->path, migs, 2, &err), 0);
    put_args p = {.k = "half", .v = 5, .fail_after = 1};
    assert_int_equal(vic_store_write(s, put, &p, &err), VIC_EINVAL);
    get_args g = {.k = "half"};
    assert_int_equal(vic_store_read(s, get, &g, &err), 0);
    assert_false(g.found);
    vic_store_free(s);
}

static void test_store_refuses_newer_schema(void **state)
{
    fixture *f = *state;
    vic_store *s = NULL;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(vic_store_open(&s, f->path, migs, 2, &err), 0);
    vic_store_free(s);
    assert_int_equal(vic_store_open(&s, f->path, migs, 1, &err), VIC_ECORRUPT);
    assert_null(s);
    assert_non_null(strstr(err->msg, "newer"));
    assert_non_null(strstr(err->msg, f->path));
}

static void test_store_refuses_garbage_unchanged(void **state)
{
    fixture *f = *state;
    char junk[4096];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (char)(i * 7 + 3);
    FILE *fp = fopen(f->path, "w");
    assert_non_null(fp);
    assert_int_equal(fwrite(junk, 1, sizeof(junk), fp), sizeof(junk));
    fclose(fp);
    vic_store *s = NULL;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(vic_store_open(&s, f->path, migs, 2, &err), VIC_ECORRUPT);
    assert_non_null(strstr(err->msg, "refused"));
    char back[4096];
    fp = fopen(f->path, "r");
    assert_int_equal(fread(back, 1, sizeof(back), fp), sizeof(back));
    fclose(fp);
    assert_memory_equal(junk, back, sizeof(junk));
}

static void test_store_refuses_foreign_database(void **state)
{
    fixture *f = *state;
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db, "CREATE TABLE t(x); PRAGMA user_version = 3;", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    vic_store *s = NULL;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(vic_store_open(&s, f->path, migs, 2, &err), VIC_ECORRUPT);
    assert_non_null(strstr(err->msg, "not a VIC-C database"));
}

static void test_store_bad_migration_keeps_version(void **state)
{
    fixture *f = *state;
    static const vic_migration broken[] = {
        {1, "CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER NOT NULL);"},
        {2, "CREATE TABLE half (x); THIS IS NOT SQL;"},
    };
    vic_store *s = NULL;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(vic_store_open(&s, f->path, broken, 2, &err), VIC_EINTERNAL);
    assert_non_null(strstr(err->msg, "migration to version 2"));
    vic_err_free(&err);
    assert_int_equal(vic_store_open(&s, f->path, broken, 1, &err), 0);
    assert_int_equal(vic_store_version(s), 1);
    sqlite3_stmt *st = NULL;
    /* the failed migration's first statement was rolled back too */
    vic_store_free(s);
    sqlite3 *db = NULL;
    sqlite3_open(f->path, &db);
    assert_int_not_equal(sqlite3_prepare_v2(db, "SELECT * FROM half", -1, &st, NULL), SQLITE_OK);
    sqlite3_close(db);
}

typedef struct thread_args {
    vic_store *s;
    int n;
} thread_args;

static void *writer(void *p)
{
    thread_args *t = p;
    for (int i = 0; i < t->n; i++) {
        put_args a = {.k = "counter", .v = 1};
        vic_err *err cleanup_err = NULL;
        if (vic_store_write(t->s, put, &a, &err) < 0)
            return (void *)1;
    }
    return NULL;
}

static void test_store_concurrent_writers(void **state)
{
    fixture *f = *state;
    vic_store *s = NULL;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(vic_store_open(&s, f->path, migs, 2, &err), 0);
    pthread_t th[4];
    thread_args t = {.s = s, .n = 50};
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, writer, &t);
    for (int i = 0; i < 4; i++) {
        void *ret = NULL;
        pthread_join(th[i], &ret);
        assert_null(ret);
    }
    get_args g = {.k = "counter"};
    assert_int_equal(vic_store_read(s, get, &g, &err), 0);
    assert_int_equal(g.v, 200);
    vic_store_free(s);
}

/* Removes a database with its WAL and shared-memory files. */
static void remove_database(const char *path)
{
    char *wal = xasprintf("%s-wal", path), *shm = xasprintf("%s-shm", path);
    unlink(path);
    unlink(wal);
    unlink(shm);
    free(wal);
    free(shm);
}

static void *opener(void *p)
{
    const char *path = p;
    vic_store *s = NULL;
    vic_err *err cleanup_err = NULL;
    int rc = vic_store_open(&s, path, migs, 2, &err);
    if (rc < 0)
        fprintf(stderr, "concurrent open: %s\n", err->msg);
    vic_store_free(s);
    return rc < 0 ? (void *)1 : NULL;
}

/* Several processes (here: connections) opening a new database at once: one applies the
 * migrations, the others see either nothing yet or the whole result, never half of it. */
static void test_store_concurrent_first_opens(void **state)
{
    fixture *f = *state;
    for (int round = 0; round < 20; round++) {
        remove_database(f->path);
        pthread_t th[6];
        for (int i = 0; i < 6; i++)
            pthread_create(&th[i], NULL, opener, f->path);
        for (int i = 0; i < 6; i++) {
            void *ret = NULL;
            pthread_join(th[i], &ret);
            assert_null(ret);
        }
    }
}

/* The same with real processes: sqlite's file locks are per process, and a first open's
 * switch to WAL meets another process's lock without sqlite's busy handler. */
static void test_store_concurrent_first_opens_by_processes(void **state)
{
    fixture *f = *state;
    for (int round = 0; round < 30; round++) {
        remove_database(f->path);
        pid_t kids[6];
        for (int i = 0; i < 6; i++) {
            kids[i] = fork();
            assert_true(kids[i] >= 0);
            if (kids[i] == 0)
                _exit(opener(f->path) == NULL ? 0 : 1);
        }
        for (int i = 0; i < 6; i++) {
            int st = 0;
            assert_int_equal(waitpid(kids[i], &st, 0), kids[i]);
            assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store_migrates_and_reopens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_failed_write_rolls_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_refuses_newer_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_refuses_garbage_unchanged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_refuses_foreign_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_bad_migration_keeps_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_concurrent_writers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_concurrent_first_opens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_concurrent_first_opens_by_processes, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
