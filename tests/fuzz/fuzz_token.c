/*
 * libFuzzer harness: delegation-token verification (validating-proxy/token.c). Random
 * strings go through vp_verify against a fixed key set and a database holding one genuine
 * token; nothing may crash, and nothing but that token may ever be accepted.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mem.h"
#include "lib/store.h"
#include "validating-proxy/token.h"

#define NOW 1700000000

static vp *v;
static char *genuine;
static char home[] = "/tmp/vic-fuzz-token-XXXXXX";

static void remove_home(void)
{
    char *cmd = xasprintf("rm -rf '%s'", home);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz_token: could not remove %s\n", home);
    free(cmd);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (!mkdtemp(home))
        abort();
    atexit(remove_home);
    static const vic_migration migs[] = {{1, VP_SCHEMA_SQL VP_SCHEMA_SQL_2}};
    char *db = xasprintf("%s/vic.db", home), *keys = xasprintf("%s/tokens", home);
    vic_store *store = NULL;
    vic_err *err = NULL;
    if (vic_store_open(&store, db, migs, 1, &err) < 0)
        abort();
    vp_options o = {
        .key_dir = keys, .issuer = "fuzz", .audience = "vic-self-provision", .store = store};
    if (vp_open(&v, &o, NOW, &err) < 0)
        abort();
    vp_ctx c = {.now = NOW, .actor = "fuzz", .quiet = 1};
    vp_issue_opts io = {.sub = "fuzz", .ttl = 3600};
    vp_issued is = {0};
    if (vp_issue(&is, v, &io, &c, &err) < 0)
        abort();
    genuine = xstrdup(is.token);
    vp_issued_clear(&is);
    free(db);
    free(keys);
    /* the store, service and directory live for the process */
    return 0;
}

static void check(const char *token)
{
    vp_ctx c = {.now = NOW + 1, .actor = "fuzz", .quiet = 1};
    vp_token *t = NULL;
    vic_err *err = NULL;
    int rc = vp_verify(&t, v, token, &c, &err);
    if (rc == 0 && strcmp(token, genuine) != 0)
        abort(); /* accepted something that is not the token we issued */
    if (rc < 0 && (err == NULL || rc != VIC_EAUTH || err->msg[0] == '\0'))
        abort(); /* every refusal is a 401 with a reason */
    vp_token_free(t);
    vic_err_free(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = xstrndup((const char *)data, size);
    check(s);
    /* the input as the payload or signature of an otherwise genuine token */
    const char *dot1 = strchr(genuine, '.'), *dot2 = strrchr(genuine, '.');
    char *p = xasprintf("%.*s.%s%s", (int)(dot1 - genuine), genuine, s, dot2);
    check(p);
    char *q = xasprintf("%.*s.%s", (int)(dot2 - genuine), genuine, s);
    check(q);
    free(p);
    free(q);
    free(s);
    return 0;
}
