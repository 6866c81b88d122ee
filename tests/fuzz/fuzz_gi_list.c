/*
 * fuzz_gi_list.c - libFuzzer harness for guestinfo's list items (lib/guestinfo.c): string
 * array items and map keys are arbitrary byte strings (NUL aside), and encode -> decode must
 * give them back unchanged.
 *
 * The input is a list of records: an op byte, a length byte, then that many bytes (NULs
 * dropped). op % 5: 0 starts a session (a struct map key), 1 adds an argument to the last
 * session (a string array item), 2 adds an annotation key (a string map key), 3 sets the last
 * annotation's value, 4 adds a secret string array item. The sample description
 * (guestinfo_sample.h) is encoded, decoded and compared; it aborts when
 *   - encoding or decoding fails,
 *   - the decoded value differs from the one encoded (maps sorted by key),
 *   - an argument list with no "|" and only UTF-8 is not written as vic writes it (the items
 *     joined by "|", a "%" kept as it is),
 *   - a session's fields are not under vic_gi_map_entry_key's name for it,
 *   - encoding the decoded value gives other keys or values (secrets apart: nonces differ).
 *
 *   make FUZZ=1 fuzzers
 *   build-fuzz/fuzz/fuzz_gi_list -max_total_time=60 tests/fuzz/corpus/fuzz_gi_list
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/err.h"
#include "lib/guestinfo.h"
#include "lib/mem.h"
#include "tests/fuzz/guestinfo_sample.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ITEMS 64

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_gi_list: %s: %s\n", what, detail ? detail : "");
    abort();
}

static int utf8_ok(const char *s)
{
    json_t *j = json_string(s);
    json_decref(j);
    return j != NULL;
}

static void push(char ***v, size_t *n, char *s)
{
    *v = xrealloc(*v, (*n + 1) * sizeof(char *));
    (*v)[(*n)++] = s;
}

/* 1 when key may join the map keys[0..n): non-empty, short enough, not there yet. */
static int new_key(char *const *keys, size_t n, const char *key)
{
    if (key[0] == '\0' || strlen(key) > VIC_GI_MAX_MAP_KEY || n >= MAX_ITEMS)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(keys[i], key) == 0)
            return 0;
    return 1;
}

static void build(gi_config *c, const uint8_t *data, size_t size)
{
    memset(c, 0, sizeof(*c));
    c->common.id = xstrdup("x");
    size_t i = 0;
    while (i + 2 <= size) {
        unsigned op = data[i] % 5;
        size_t len = data[i + 1];
        i += 2;
        if (len > size - i)
            len = size - i;
        char *s = xmalloc(len + 1), *w = s;
        for (size_t j = 0; j < len; j++)
            if (data[i + j] != 0)
                *w++ = (char)data[i + j];
        *w = '\0';
        i += len;
        if (op == 0 && new_key(c->session_ids, c->n_sessions, s)) {
            c->sessions = xrealloc(c->sessions, (c->n_sessions + 1) * sizeof(gi_session));
            memset(&c->sessions[c->n_sessions], 0, sizeof(gi_session));
            c->sessions[c->n_sessions].cmd.path = xstrdup("/p");
            push(&c->session_ids, &c->n_sessions, s); /* counts sessions[] as well */
        } else if (op == 1 && c->n_sessions > 0 &&
                   c->sessions[c->n_sessions - 1].cmd.n_args < MAX_ITEMS) {
            gi_cmd *cmd = &c->sessions[c->n_sessions - 1].cmd;
            push(&cmd->args, &cmd->n_args, s);
        } else if (op == 2 && new_key(c->anno_keys, c->n_annos, s)) {
            c->anno_values = xrealloc(c->anno_values, (c->n_annos + 1) * sizeof(char *));
            c->anno_values[c->n_annos] = xstrdup("");
            push(&c->anno_keys, &c->n_annos, s);
        } else if (op == 3 && c->n_annos > 0 && utf8_ok(s)) {
            /* map values are stored as they are: UTF-8 only */
            free(c->anno_values[c->n_annos - 1]);
            c->anno_values[c->n_annos - 1] = s;
        } else if (op == 4 && c->n_secret_env < MAX_ITEMS) {
            push(&c->secret_env, &c->n_secret_env, s);
        } else {
            free(s);
        }
    }
}

static int cmp_idx(const void *a, const void *b, void *keys)
{
    char *const *k = keys;
    return strcmp(k[*(const size_t *)a], k[*(const size_t *)b]);
}

/* Sorts both maps by key, as decode returns them. */
static void sort_maps(gi_config *c)
{
    size_t *order = xcalloc(MAX_ITEMS, sizeof(size_t));
    char **keys = xcalloc(MAX_ITEMS, sizeof(char *));
    gi_session *sess = xcalloc(MAX_ITEMS, sizeof(gi_session));
    char **vals = xcalloc(MAX_ITEMS, sizeof(char *));
    for (size_t i = 0; i < c->n_sessions; i++)
        order[i] = i;
    qsort_r(order, c->n_sessions, sizeof(size_t), cmp_idx, c->session_ids);
    for (size_t i = 0; i < c->n_sessions; i++) {
        keys[i] = c->session_ids[order[i]];
        sess[i] = c->sessions[order[i]];
    }
    if (c->n_sessions) { /* the arrays are NULL when empty */
        memcpy(c->session_ids, keys, c->n_sessions * sizeof(char *));
        memcpy(c->sessions, sess, c->n_sessions * sizeof(gi_session));
    }
    for (size_t i = 0; i < c->n_annos; i++)
        order[i] = i;
    qsort_r(order, c->n_annos, sizeof(size_t), cmp_idx, c->anno_keys);
    for (size_t i = 0; i < c->n_annos; i++) {
        keys[i] = c->anno_keys[order[i]];
        vals[i] = c->anno_values[order[i]];
    }
    if (c->n_annos) {
        memcpy(c->anno_keys, keys, c->n_annos * sizeof(char *));
        memcpy(c->anno_values, vals, c->n_annos * sizeof(char *));
    }
    free(order);
    free(keys);
    free(sess);
    free(vals);
}

/* The session's arguments as vic joins them, when they need no escaping; NULL otherwise. */
static char *plain_join(const gi_cmd *cmd)
{
    vic_buf b = VIC_BUF_INIT;
    vic_buf_append(&b, "", 0);
    for (size_t i = 0; i < cmd->n_args; i++) {
        if (strchr(cmd->args[i], '|') != NULL || !utf8_ok(cmd->args[i])) {
            vic_buf_free(&b);
            return NULL;
        }
        if (i > 0)
            vic_buf_append(&b, "|", 1);
        vic_buf_append(&b, cmd->args[i], strlen(cmd->args[i]));
    }
    return vic_buf_steal(&b);
}

static void check_layout(const gi_config *c, const json_t *kv)
{
    for (size_t i = 0; i < c->n_sessions; i++) {
        char *entry = vic_gi_map_entry_key(VIC_GI_PREFIX "/sessions", c->session_ids[i], true);
        char *path = xasprintf("%s/cmd/Path", entry);
        if (json_object_get(kv, path) == NULL)
            die("a session is not under vic_gi_map_entry_key's name", path);
        const gi_cmd *cmd = &c->sessions[i].cmd;
        char *plain = plain_join(cmd);
        if (plain != NULL && cmd->n_args > 0) {
            char *args = xasprintf("%s/cmd/Args~", entry);
            const char *got = json_string_value(json_object_get(kv, args));
            if (got == NULL || strcmp(got, plain) != 0)
                die("arguments with nothing to escape are not written as vic writes them", args);
            free(args);
        }
        free(plain);
        free(path);
        free(entry);
    }
}

/* Same keys, and the same values except for encrypted ones. */
static int same_layout(const json_t *a, const json_t *b)
{
    if (json_object_size(a) != json_object_size(b))
        return 0;
    const char *key;
    json_t *va;
    json_object_foreach((json_t *)a, key, va)
    {
        json_t *vb = json_object_get(b, key);
        if (vb == NULL)
            return 0;
        if (strstr(key, "@secret") == NULL && !json_equal(va, vb))
            return 0;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static vic_gi_key *key;
    if (key == NULL && vic_gi_key_from_hex(&key, GI_SAMPLE_KEY_HEX, NULL) < 0)
        abort();

    gi_config a, b;
    build(&a, data, size);
    sort_maps(&a);
    memset(&b, 0, sizeof(b));
    vic_err *err = NULL;
    json_t *kv = json_object(), *kv2 = json_object();
    if (vic_gi_encode(kv, &gi_config_desc, &a, "", key, &err) < 0)
        die("encode failed", err->msg);
    check_layout(&a, kv);
    if (vic_gi_decode(&b, &gi_config_desc, kv, "", key, &err) < 0)
        die("decode of an encoded value failed", err->msg);
    if (!vic_gi_equal(&gi_config_desc, &a, &b))
        die("decode(encode(x)) differs from x", NULL);
    if (vic_gi_encode(kv2, &gi_config_desc, &b, "", key, &err) < 0)
        die("encoding a decoded value failed", err->msg);
    if (!same_layout(kv, kv2))
        die("encoding the decoded value gives other keys or values", NULL);

    vic_gi_free(&gi_config_desc, &a);
    vic_gi_free(&gi_config_desc, &b);
    json_decref(kv);
    json_decref(kv2);
    return 0;
}
