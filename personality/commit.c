/*
 * commit.c - docker diff, export and commit over the port layer (see commit.h).
 */
#include "personality/commit.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/cleanup.h"
#include "lib/execconfig.h"
#include "lib/httpc.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "personality/common.h"
#include "personality/inspect.h"

#define EXPORT_STALL_MS   (5 * 60 * 1000)
#define MAX_CHANGES_BYTES (1u << 20)
#define MAX_EXPOSED_RANGE 65536

/* ---- the Dockerfile's words ---- */

/* The value of NAME (len bytes) in env (["NAME=value", ...]; the last one counts), or NULL. */
static const char *env_get(const json_t *env, const char *name, size_t len)
{
    const char *found = NULL;
    size_t i;
    const json_t *v;
    json_array_foreach(env, i, v)
    {
        const char *kv = json_string_value(v);
        if (kv && strncmp(kv, name, len) == 0 && kv[len] == '=')
            found = kv + len + 1;
    }
    return found;
}

typedef struct lexer {
    const char *p;
    const json_t *env; /* the variables (may be NULL: none) */
} lexer;

static int is_name(int c)
{
    return isalnum(c) || c == '_';
}

static int lex_until(lexer *lx, vic_buf *out, char stop, vic_err **err);

/* A substitution; lx->p is just past the '$'. */
static int lex_var(lexer *lx, vic_buf *out, vic_err **err)
{
    const char *p = lx->p;
    if (*p != '{') {
        size_t n = 0;
        while (is_name((unsigned char)p[n]))
            n++;
        if (n == 0) {
            vic_buf_append(out, "$", 1);
            return 0;
        }
        const char *v = env_get(lx->env, p, n);
        if (v)
            vic_buf_append(out, v, strlen(v));
        lx->p = p + n;
        return 0;
    }
    p++;
    size_t n = 0;
    while (is_name((unsigned char)p[n]))
        n++;
    if (n == 0)
        return vic_err_set(err, VIC_EINVAL, "bad substitution: ${%.32s", p);
    const char *v = env_get(lx->env, p, n);
    const char *name = p;
    p += n;
    if (*p == '}') {
        if (v)
            vic_buf_append(out, v, strlen(v));
        lx->p = p + 1;
        return 0;
    }
    if (*p == '\0')
        return vic_err_set(err, VIC_EINVAL, "missing '}' in substitution of %.*s", (int)n, name);
    if (*p != ':' || (p[1] != '-' && p[1] != '+' && p[1] != '?'))
        return vic_err_set(err, VIC_EINVAL, "unsupported modifier (%c) in substitution",
                           *p ? *p : '?');
    char mod = p[1];
    lx->p = p + 2;
    vic_buf word cleanup_buf = VIC_BUF_INIT;
    vic_buf_append(&word, "", 0);
    int rc = lex_until(lx, &word, '}', err);
    if (rc < 0)
        return rc;
    if (*lx->p != '}')
        return vic_err_set(err, VIC_EINVAL, "missing '}' in substitution of %.*s", (int)n, name);
    lx->p++;
    int set = v && *v;
    if (mod == '?' && !set)
        return vic_err_set(err, VIC_EINVAL, "%.*s: %s", (int)n, name,
                           word.len ? word.data : "is not allowed to be unset");
    const char *use = mod == '-' ? (set ? v : word.data) : mod == '+' ? (set ? word.data : "") : v;
    vic_buf_append(out, use, strlen(use));
    return 0;
}

/* Reads one word's text into out: quotes removed, escapes and substitutions done, up to an
 * unquoted stop character (' ': any white space; '\0': the end). */
static int lex_until(lexer *lx, vic_buf *out, char stop, vic_err **err)
{
    for (;;) {
        char c = *lx->p;
        if (c == '\0' || (stop == ' ' && isspace((unsigned char)c)) || (stop != ' ' && c == stop))
            return 0;
        lx->p++;
        if (c == '\\') {
            if (*lx->p == '\0') {
                vic_buf_append(out, "\\", 1);
                continue;
            }
            vic_buf_append(out, lx->p, 1);
            lx->p++;
        } else if (c == '\'') {
            const char *end = strchr(lx->p, '\'');
            if (end == NULL)
                return vic_err_set(err, VIC_EINVAL,
                                   "unexpected end of statement while looking for matching "
                                   "single-quote");
            vic_buf_append(out, lx->p, (size_t)(end - lx->p));
            lx->p = end + 1;
        } else if (c == '"') {
            for (;;) {
                char d = *lx->p;
                if (d == '\0')
                    return vic_err_set(err, VIC_EINVAL,
                                       "unexpected end of statement while looking for matching "
                                       "double-quote");
                lx->p++;
                if (d == '"')
                    break;
                if (d == '\\' && (*lx->p == '"' || *lx->p == '\\' || *lx->p == '$')) {
                    vic_buf_append(out, lx->p, 1);
                    lx->p++;
                } else if (d == '$') {
                    int rc = lex_var(lx, out, err);
                    if (rc < 0)
                        return rc;
                } else {
                    vic_buf_append(out, &d, 1);
                }
            }
        } else if (c == '$') {
            int rc = lex_var(lx, out, err);
            if (rc < 0)
                return rc;
        } else {
            vic_buf_append(out, &c, 1);
        }
    }
}

/* The words of text (split at unquoted white space), each processed; a new array. */
static int words_of(const char *text, const json_t *env, json_t **out, vic_err **err)
{
    *out = json_array();
    lexer lx = {text, env};
    for (;;) {
        while (isspace((unsigned char)*lx.p))
            lx.p++;
        if (*lx.p == '\0')
            return 0;
        vic_buf w cleanup_buf = VIC_BUF_INIT;
        vic_buf_append(&w, "", 0);
        int rc = lex_until(&lx, &w, ' ', err);
        if (rc < 0) {
            json_decref(*out);
            *out = NULL;
            return rc;
        }
        json_array_append_new(*out, json_stringn(w.data, w.len));
    }
}

/* text as one word (white space kept); caller frees. */
static int word_of(const char *text, const json_t *env, char **out, vic_err **err)
{
    *out = NULL;
    lexer lx = {text, env};
    vic_buf w cleanup_buf = VIC_BUF_INIT;
    vic_buf_append(&w, "", 0);
    int rc = lex_until(&lx, &w, '\0', err);
    if (rc < 0)
        return rc;
    *out = vic_buf_steal(&w);
    return 0;
}

/* ---- the instructions ---- */

/* A JSON array of strings (the exec form), or NULL when text is not one. */
static json_t *exec_form(const char *text)
{
    if (*text != '[')
        return NULL;
    json_t *a = json_loads(text, 0, NULL);
    if (!json_is_array(a)) {
        json_decref(a);
        return NULL;
    }
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) if (!json_is_string(v))
    {
        json_decref(a);
        return NULL;
    }
    return a;
}

static json_t *command_of(const char *rest)
{
    json_t *a = exec_form(rest);
    return a ? a : json_pack("[s, s, s]", "/bin/sh", "-c", rest);
}

/* Sets (or replaces) NAME=value in cfg's Env. */
static void env_set(json_t *cfg, const char *name, size_t nlen, const char *value)
{
    json_t *env = json_object_get(cfg, "Env");
    if (!json_is_array(env)) {
        env = json_array();
        json_object_set_new(cfg, "Env", env);
    }
    json_t *kv = json_sprintf("%.*s=%s", (int)nlen, name, value);
    size_t i;
    json_t *v;
    json_array_foreach(env, i, v)
    {
        const char *s = json_string_value(v);
        if (s && strncmp(s, name, nlen) == 0 && (s[nlen] == '=' || s[nlen] == '\0')) {
            json_array_set_new(env, i, kv);
            return;
        }
    }
    json_array_append_new(env, kv);
}

/* ENV and LABEL: NAME=value pairs, or the legacy "NAME value". fn gets each pair. */
static int name_values(json_t *cfg, const char *what, const char *rest, int is_env, vic_err **err)
{
    const json_t *env = json_object_get(cfg, "Env");
    if (*rest == '\0')
        return vic_err_set(err, VIC_EINVAL, "%s requires at least one argument", what);
    /* the first word (quotes read) holds '=' unless this is the legacy NAME value form */
    lexer lx = {rest, env};
    vic_buf w0 cleanup_buf = VIC_BUF_INIT;
    vic_buf_append(&w0, "", 0);
    int lrc = lex_until(&lx, &w0, ' ', err);
    if (lrc < 0)
        return lrc;
    size_t first = strcspn(rest, " \t");
    json_t *pairs cleanup_json = json_array();
    if (strchr(w0.data, '=') == NULL) { /* legacy: NAME value */
        const char *v = rest + first;
        while (isspace((unsigned char)*v))
            v++;
        if (*v == '\0')
            return vic_err_set(err, VIC_EINVAL, "%s must have two arguments", what);
        cleanup_free char *name = xstrndup(rest, first), *value = NULL;
        int rc = word_of(v, env, &value, err);
        if (rc < 0)
            return rc;
        json_array_append_new(pairs, json_pack("[s, s]", name, value));
    } else {
        json_t *words cleanup_json = NULL;
        int rc = words_of(rest, env, &words, err);
        if (rc < 0)
            return rc;
        size_t i;
        json_t *w;
        json_array_foreach(words, i, w)
        {
            const char *s = json_string_value(w);
            const char *e = strchr(s, '=');
            if (e == NULL || e == s)
                return vic_err_set(err, VIC_EINVAL,
                                   "Syntax error - can't find = in \"%.200s\". Must be of the "
                                   "form: name=value",
                                   s);
            json_array_append_new(pairs, json_pack("[s%, s]", s, (size_t)(e - s), e + 1));
        }
    }
    size_t i;
    json_t *pr;
    json_array_foreach(pairs, i, pr)
    {
        const char *name = json_string_value(json_array_get(pr, 0));
        const char *value = json_string_value(json_array_get(pr, 1));
        if (is_env) {
            env_set(cfg, name, strlen(name), value);
        } else {
            json_t *labels = json_object_get(cfg, "Labels");
            if (!json_is_object(labels)) {
                labels = json_object();
                json_object_set_new(cfg, "Labels", labels);
            }
            json_object_set_new(labels, name, json_string(value));
        }
    }
    return 0;
}

static int port_number(const char *s, size_t len, long *out)
{
    if (len == 0 || len > 5 || strspn(s, "0123456789") < len)
        return -1;
    long v = strtol(s, NULL, 10);
    if (v < 1 || v > 65535)
        return -1;
    *out = v;
    return 0;
}

/* EXPOSE: port[-port][/proto] words. */
static int expose(json_t *cfg, const char *rest, vic_err **err)
{
    json_t *words cleanup_json = NULL;
    int rc = words_of(rest, json_object_get(cfg, "Env"), &words, err);
    if (rc < 0)
        return rc;
    if (json_array_size(words) == 0)
        return vic_err_set(err, VIC_EINVAL, "EXPOSE requires at least one argument");
    json_t *set = json_object_get(cfg, "ExposedPorts");
    if (!json_is_object(set)) {
        set = json_object();
        json_object_set_new(cfg, "ExposedPorts", set);
    }
    size_t i;
    json_t *w;
    json_array_foreach(words, i, w)
    {
        const char *s = json_string_value(w);
        const char *slash = strchr(s, '/');
        const char *proto = slash ? slash + 1 : "tcp";
        size_t plen = slash ? (size_t)(slash - s) : strlen(s);
        if (strcasecmp(proto, "tcp") != 0 && strcasecmp(proto, "udp") != 0 &&
            strcasecmp(proto, "sctp") != 0)
            return vic_err_set(err, VIC_EINVAL, "Invalid proto: %.32s", proto);
        const char *dash = memchr(s, '-', plen);
        long lo, hi;
        if (port_number(s, dash ? (size_t)(dash - s) : plen, &lo) < 0 ||
            (dash && port_number(dash + 1, plen - (size_t)(dash - s) - 1, &hi) < 0))
            return vic_err_set(err, VIC_EINVAL, "Invalid containerPort: %.*s", (int)plen, s);
        if (!dash)
            hi = lo;
        if (hi < lo)
            return vic_err_set(err, VIC_EINVAL, "Invalid range specified for the Port: %.*s",
                               (int)plen, s);
        for (long p = lo; p <= hi; p++) {
            char key[32];
            snprintf(key, sizeof(key), "%ld/%s", p, proto);
            for (char *k = key; *k; k++)
                *k = (char)tolower((unsigned char)*k);
            json_object_set_new(set, key, json_object());
        }
    }
    return 0;
}

/* VOLUME: a JSON array or words. */
static int volume(json_t *cfg, const char *rest, vic_err **err)
{
    json_t *words cleanup_json = exec_form(rest);
    if (words == NULL) {
        int rc = words_of(rest, json_object_get(cfg, "Env"), &words, err);
        if (rc < 0)
            return rc;
    }
    if (json_array_size(words) == 0)
        return vic_err_set(err, VIC_EINVAL, "VOLUME requires at least one argument");
    json_t *set = json_object_get(cfg, "Volumes");
    if (!json_is_object(set)) {
        set = json_object();
        json_object_set_new(cfg, "Volumes", set);
    }
    size_t i;
    json_t *w;
    json_array_foreach(words, i, w)
    {
        const char *v = json_string_value(w);
        size_t n = strlen(v);
        while (n && isspace((unsigned char)v[n - 1]))
            n--;
        if (n == 0)
            return vic_err_set(err, VIC_EINVAL, "VOLUME specified can not be an empty string");
        cleanup_free char *key = xstrndup(v, n);
        json_object_set_new(set, key, json_object());
    }
    return 0;
}

/* WORKDIR: absolute, or relative to the current one; cleaned. */
static int workdir(json_t *cfg, const char *rest, vic_err **err)
{
    cleanup_free char *w = NULL;
    int rc = word_of(rest, json_object_get(cfg, "Env"), &w, err);
    if (rc < 0)
        return rc;
    if (*w == '\0')
        return vic_err_set(err, VIC_EINVAL, "WORKDIR requires exactly one argument");
    const char *cur = vic_json_str(cfg, "WorkingDir");
    cleanup_free char *joined = w[0] == '/' ? xstrdup(w) : xasprintf("/%s/%s", cur ? cur : "", w);
    /* lexically cleaned: no ".", "..", or repeated '/' */
    vic_buf out cleanup_buf = VIC_BUF_INIT;
    vic_buf_append(&out, "", 0);
    for (char *save = NULL, *part = strtok_r(joined, "/", &save); part;
         part = strtok_r(NULL, "/", &save)) {
        if (strcmp(part, ".") == 0)
            continue;
        if (strcmp(part, "..") == 0) {
            char *slash = strrchr(out.data, '/');
            out.len = slash ? (size_t)(slash - out.data) : 0;
            out.data[out.len] = '\0';
            continue;
        }
        vic_buf_appendf(&out, "/%s", part);
    }
    json_object_set_new(cfg, "WorkingDir", json_string(out.len ? out.data : "/"));
    return 0;
}

/* One instruction (keyword lowercased, rest trimmed). cmd_set: whether a CMD came before in
 * these changes (an ENTRYPOINT resets the command unless one did, as in a Dockerfile). */
static int instruction(json_t *cfg, const char *kw, const char *rest, int *cmd_set, vic_err **err)
{
    const json_t *env = json_object_get(cfg, "Env");
    if (strcmp(kw, "cmd") == 0) {
        json_object_set_new(cfg, "Cmd", command_of(rest));
        *cmd_set = 1;
        return 0;
    }
    if (strcmp(kw, "entrypoint") == 0) {
        json_object_set_new(cfg, "Entrypoint", command_of(rest));
        if (!*cmd_set)
            json_object_set_new(cfg, "Cmd", json_null());
        return 0;
    }
    if (strcmp(kw, "env") == 0)
        return name_values(cfg, "ENV", rest, 1, err);
    if (strcmp(kw, "label") == 0)
        return name_values(cfg, "LABEL", rest, 0, err);
    if (strcmp(kw, "expose") == 0)
        return expose(cfg, rest, err);
    if (strcmp(kw, "volume") == 0)
        return volume(cfg, rest, err);
    if (strcmp(kw, "workdir") == 0)
        return workdir(cfg, rest, err);
    if (strcmp(kw, "user") == 0 || strcmp(kw, "stopsignal") == 0) {
        cleanup_free char *v = NULL;
        int rc = word_of(rest, env, &v, err);
        if (rc < 0)
            return rc;
        int user = kw[0] == 'u';
        if (*v == '\0' || strpbrk(v, " \t"))
            return vic_err_set(err, VIC_EINVAL, "%s requires exactly one argument",
                               user ? "USER" : "STOPSIGNAL");
        if (!user && vic_signal_parse(v, 0) < 0)
            return vic_err_set(err, VIC_EINVAL, "Invalid signal: %.64s", v);
        json_object_set_new(cfg, user ? "User" : "StopSignal", json_string(v));
        return 0;
    }
    if (strcmp(kw, "onbuild") == 0) {
        size_t n = strcspn(rest, " \t");
        if (n == 0)
            return vic_err_set(err, VIC_EINVAL, "ONBUILD requires at least one argument");
        if ((n == 7 && strncasecmp(rest, "onbuild", 7) == 0))
            return vic_err_set(err, VIC_EINVAL,
                               "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
        if ((n == 4 && strncasecmp(rest, "from", 4) == 0) ||
            (n == 10 && strncasecmp(rest, "maintainer", 10) == 0))
            return vic_err_set(err, VIC_EINVAL, "%.*s isn't allowed as an ONBUILD trigger", (int)n,
                               rest);
        json_t *ob = json_object_get(cfg, "OnBuild");
        if (!json_is_array(ob)) {
            ob = json_array();
            json_object_set_new(cfg, "OnBuild", ob);
        }
        json_array_append_new(ob, json_string(rest));
        return 0;
    }
    if (strcmp(kw, "healthcheck") == 0)
        return vic_err_set(err, VIC_EINVAL,
                           "HEALTHCHECK is not supported: a VCH runs no health checks");
    return vic_err_set(err, VIC_EINVAL, "%.64s is not a valid change command", kw);
}

int engine_commit_changes(json_t *cfg, const char *text, vic_err **err)
{
    if (strlen(text) > MAX_CHANGES_BYTES)
        return vic_err_set(err, VIC_EINVAL, "changes: more than %u bytes", MAX_CHANGES_BYTES);
    int cmd_set = 0;
    const char *p = text;
    while (*p) {
        /* one logical line: physical lines joined where one ends in a backslash */
        vic_buf line cleanup_buf = VIC_BUF_INIT;
        vic_buf_append(&line, "", 0);
        for (;;) {
            size_t n = strcspn(p, "\n");
            const char *next = p[n] ? p + n + 1 : p + n;
            size_t m = n;
            while (m && (p[m - 1] == '\r' || p[m - 1] == ' ' || p[m - 1] == '\t'))
                m--;
            const char *t = p;
            while (t < p + m && isspace((unsigned char)*t))
                t++;
            int comment = *t == '#';
            int cont = !comment && m > 0 && p[m - 1] == '\\';
            if (!comment)
                vic_buf_append(&line, p, cont ? m - 1 : m);
            p = next;
            if (!cont || *p == '\0')
                break;
        }
        const char *s = line.data;
        while (isspace((unsigned char)*s))
            s++;
        if (*s == '\0' || *s == '#')
            continue;
        size_t kn = strcspn(s, " \t");
        char kw[32];
        snprintf(kw, sizeof(kw), "%.*s", (int)(kn < sizeof(kw) - 1 ? kn : sizeof(kw) - 1), s);
        for (char *k = kw; *k; k++)
            *k = (char)tolower((unsigned char)*k);
        const char *rest = s + kn;
        while (isspace((unsigned char)*rest))
            rest++;
        size_t rn = strlen(rest);
        while (rn && isspace((unsigned char)rest[rn - 1]))
            rn--;
        cleanup_free char *r = xstrndup(rest, rn);
        int rc = instruction(cfg, kw, r, &cmd_set, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- Docker's merge ---- */

static int unset(const json_t *v)
{
    return v == NULL || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0) ||
           (json_is_array(v) && json_array_size(v) == 0) ||
           (json_is_object(v) && json_object_size(v) == 0);
}

void engine_commit_merge(json_t *user, const json_t *ccfg)
{
    static const char *const strs[] = {"User", "WorkingDir", "StopSignal"};
    for (size_t i = 0; i < 3; i++)
        if (unset(json_object_get(user, strs[i])) && !unset(json_object_get(ccfg, strs[i])))
            json_object_set(user, strs[i], json_object_get(ccfg, strs[i]));
    static const char *const sets[] = {"ExposedPorts", "Volumes", "Labels"};
    for (size_t i = 0; i < 3; i++) {
        json_t *mine = json_object_get(user, sets[i]);
        const json_t *theirs = json_object_get(ccfg, sets[i]);
        if (!json_is_object(theirs))
            continue;
        if (!json_is_object(mine)) {
            json_object_set_new(user, sets[i], json_deep_copy(theirs));
            continue;
        }
        /* the given win, except Volumes, where the container's are laid over (as Docker) */
        if (strcmp(sets[i], "Volumes") == 0)
            json_object_update(mine, (json_t *)theirs);
        else
            json_object_update_missing(mine, (json_t *)theirs);
    }
    json_t *env = json_object_get(user, "Env");
    const json_t *cenv = json_object_get(ccfg, "Env");
    if (unset(env)) {
        if (json_is_array(cenv))
            json_object_set_new(user, "Env", json_deep_copy(cenv));
    } else {
        size_t i;
        const json_t *e;
        json_array_foreach(cenv, i, e)
        {
            const char *kv = json_string_value(e);
            if (kv == NULL)
                continue;
            size_t kl = strcspn(kv, "=");
            int found = 0;
            size_t j;
            json_t *u;
            json_array_foreach(env, j, u)
            {
                const char *us = json_string_value(u);
                found |= us && strcspn(us, "=") == kl && strncmp(us, kv, kl) == 0;
            }
            if (!found)
                json_array_append(env, (json_t *)e);
        }
    }
    if (unset(json_object_get(user, "Entrypoint"))) {
        if (unset(json_object_get(user, "Cmd")))
            json_object_set(user, "Cmd", json_object_get(ccfg, "Cmd") ?: json_null());
        if (json_object_get(user, "Entrypoint") == NULL)
            json_object_set(user, "Entrypoint", json_object_get(ccfg, "Entrypoint") ?: json_null());
    }
}

/* ---- the handlers ---- */

int engine_container_changes_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                     vic_err **err)
{
    engine_ctx *c = payload;
    cleanup_free char *path = engine_pl_path(req, "/changes", err);
    if (path == NULL)
        return VIC_ENOTFOUND;
    json_t *out cleanup_json = NULL;
    int rc = vic_httpc_json(c->pl, "GET", path, NULL, 120000, &out, err);
    if (rc < 0)
        return engine_docker_err(rc, ENGINE_OBJ_CONTAINER, vic_http_req_param(req, "id"), err);
    json_t *arr = json_array();
    size_t i;
    json_t *ch;
    json_array_foreach(out, i, ch)
    {
        json_array_append_new(arr,
                              json_pack("{s:s, s:I}", "Path", vic_json_str(ch, "path") ?: "",
                                        "Kind", json_integer_value(json_object_get(ch, "kind"))));
    }
    vic_http_resp_json(resp, 200, arr);
    return 0;
}

typedef struct relay {
    engine_ctx *c;
    char *path;
    char *id;
    vic_http_stream *s;
} relay;

static int relay_chunk(const void *data, size_t len, void *payload)
{
    relay *r = payload;
    return vic_http_stream_write_wait(r->s, data, len, EXPORT_STALL_MS, NULL) < 0 ? -1 : 0;
}

static void *relay_thread(void *arg)
{
    relay *r = arg;
    vic_err *err = NULL;
    if (vic_httpc_raw(r->c->pl, "GET", r->path, -1, NULL, EXPORT_STALL_MS, relay_chunk, r, &err) <
            0 &&
        err->code != VIC_EUNAVAIL)
        /* the status is sent already: the client sees a cut archive */
        vic_log(VIC_LOG_WARN, "event=export_relay_failed id=%s err=\"%s\"", r->id, err->msg);
    vic_err_free(&err);
    vic_http_stream_close(r->s);
    vic_http_stream_release(r->s);
    free(r->path);
    free(r->id);
    free(r);
    return NULL;
}

int engine_container_export_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                    vic_err **err)
{
    engine_ctx *c = payload;
    cleanup_free char *path = NULL;
    json_t *x cleanup_json = NULL;
    /* an unknown container is a 404, not a stream */
    int rc = engine_container_lookup(c, req, &path, &x, err);
    if (rc < 0)
        return rc;
    relay *r = xzalloc(sizeof(*r));
    r->c = c;
    r->path = xasprintf("/containers/%s/export", vic_json_str(x, "id"));
    r->id = xstrdup(vic_json_str(x, "id"));
    r->s = vic_http_resp_stream(resp, 200, "application/x-tar");
    pthread_t th;
    if (pthread_create(&th, NULL, relay_thread, r) != 0) {
        vic_http_stream_close(r->s);
        vic_http_stream_release(r->s);
        free(r->path);
        free(r->id);
        free(r);
        return vic_err_set(err, VIC_EINTERNAL, "cannot start the export");
    }
    pthread_detach(th);
    return 0;
}

/* The command a commit's history shows: the container's Cmd, joined by spaces (Docker's). */
static char *created_by(const json_t *ccfg)
{
    vic_buf b = VIC_BUF_INIT;
    vic_buf_append(&b, "", 0);
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(ccfg, "Cmd"), i, v)
    {
        if (i)
            vic_buf_append(&b, " ", 1);
        const char *s = json_string_value(v);
        if (s)
            vic_buf_append(&b, s, strlen(s));
    }
    return vic_buf_steal(&b);
}

int engine_commit_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    engine_ctx *c = payload;
    const char *container = vic_http_req_query(req, "container");
    const char *repo = vic_http_req_query(req, "repo"), *tag = vic_http_req_query(req, "tag");
    if (container == NULL || *container == '\0')
        return vic_err_set(err, VIC_EINVAL, "No container name or ID supplied");
    if ((repo == NULL || *repo == '\0') && tag && *tag)
        return vic_err_set(err, VIC_EINVAL, "tag %.128s given without a repository", tag);
    json_t *body = vic_http_req_json(req);
    if (body && !json_is_null(body) && !json_is_object(body))
        return vic_err_set(err, VIC_EINVAL, "the config must be a JSON object");
    json_t *cfg cleanup_json = json_is_object(body) ? json_deep_copy(body) : json_object();
    /* the changes, joined as a Dockerfile's lines */
    vic_buf text cleanup_buf = VIC_BUF_INIT;
    vic_buf_append(&text, "", 0);
    for (size_t i = 0;; i++) {
        const char *ch = vic_http_req_query_nth(req, "changes", i);
        if (ch == NULL)
            break;
        if (text.len + strlen(ch) > MAX_CHANGES_BYTES)
            return vic_err_set(err, VIC_EINVAL, "changes: more than %u bytes", MAX_CHANGES_BYTES);
        vic_buf_appendf(&text, "%s\n", ch);
    }
    int rc = engine_commit_changes(cfg, text.data, err);
    if (rc < 0)
        return rc;
    /* the container, by the name given */
    cleanup_free char *esc = engine_url_escape(container);
    cleanup_free char *ipath = xasprintf("/containers/%s", esc);
    json_t *x cleanup_json = NULL;
    if ((rc = vic_httpc_json(c->pl, "GET", ipath, NULL, 0, &x, err)) < 0)
        return engine_docker_err(rc, ENGINE_OBJ_CONTAINER, container, err);
    json_t *insp cleanup_json = engine_container_inspect(x);
    const json_t *ccfg = json_object_get(insp, "Config");
    engine_commit_merge(cfg, ccfg);
    cleanup_free char *by = created_by(ccfg);
    json_t *pc cleanup_json = json_pack("{s:O, s:s}", "config", cfg, "created_by", by);
    const char *comment = vic_http_req_query(req, "comment"),
               *author = vic_http_req_query(req, "author");
    if (comment && *comment)
        json_object_set_new(pc, "comment", json_string(comment));
    if (author && *author)
        json_object_set_new(pc, "author", json_string(author));
    if (repo && *repo)
        json_object_set_new(pc, "ref",
                            tag && *tag ? json_sprintf("%s:%s", repo, tag) : json_string(repo));
    cleanup_free char *cpath = xasprintf("/containers/%s/commit", vic_json_str(x, "id"));
    /* Docker pauses a running container for its commit unless asked not to (pause=0): its
     * files hold still while they are read */
    const char *pq = vic_http_req_query(req, "pause");
    bool pause = strcmp(vic_json_str(x, "state") ?: "", "running") == 0 &&
                 !(pq && (strcmp(pq, "0") == 0 || strcasecmp(pq, "false") == 0));
    cleanup_free char *ppath = xasprintf("/containers/%s/pause", vic_json_str(x, "id"));
    cleanup_free char *upath = xasprintf("/containers/%s/unpause", vic_json_str(x, "id"));
    json_t *ignored cleanup_json = NULL;
    vic_err *perr cleanup_err = NULL;
    /* a host without a freezer commits a running container as it is */
    if (pause && vic_httpc_json(c->pl, "POST", ppath, NULL, 30000, &ignored, &perr) < 0)
        pause = false;
    json_t *out cleanup_json = NULL;
    rc = vic_httpc_json(c->pl, "POST", cpath, pc, 600000, &out, err);
    if (pause) {
        vic_err *uerr cleanup_err = NULL;
        json_t *u cleanup_json = NULL;
        if (vic_httpc_json(c->pl, "POST", upath, NULL, 30000, &u, &uerr) < 0)
            vic_log(VIC_LOG_WARN, "event=commit_unpause_failed container=%.12s msg=\"%s\"",
                    vic_json_str(x, "id"), uerr->msg);
    }
    if (rc < 0)
        return engine_docker_err(rc, ENGINE_OBJ_NONE, NULL, err);
    vic_http_resp_json(resp, 201, json_pack("{s:s}", "Id", vic_json_str(out, "id") ?: ""));
    return 0;
}
