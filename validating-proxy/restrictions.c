#include "validating-proxy/restrictions.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/mem.h"

#define MAX_LIST    64
#define MAX_NAME    256
#define MAX_PREFIX  32
#define MAX_CEILING (1LL << 40)

typedef enum { K_TARGET, K_PATH, K_LIST, K_CEILING, K_PREFIX, K_BOOL, K_DEPTH } kind;

typedef struct member {
    const char *name;
    kind k;
} member;

/* The order of the canonical object, and of problems reported. */
static const member members[] = {
    {"target", K_TARGET},         {"compute", K_PATH},
    {"image_datastores", K_LIST}, {"volume_datastores", K_LIST},
    {"networks", K_LIST},         {"max_vchs", K_CEILING},
    {"cpu_mhz", K_CEILING},       {"memory_mb", K_CEILING},
    {"storage_gb", K_CEILING},    {"containers_per_vch", K_CEILING},
    {"name_prefix", K_PREFIX},    {"tls_required", K_BOOL},
    {"uses", K_CEILING},          {"delegation_depth", K_DEPTH},
};
#define N_MEMBERS (sizeof(members) / sizeof(members[0]))

__attribute__((format(printf, 2, 3))) static void problem(json_t *problems, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = xvasprintf(fmt, ap);
    va_end(ap);
    json_array_append_new(problems, vic_json_string_lossy(s));
    free(s);
}

static int printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

static int prefix_chars(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_' || *s == '.'))
            return 0;
    return 1;
}

/* Checks the shape of one requested member; appends problems and returns 0 when malformed. */
static int well_formed(const member *m, const json_t *v, json_t *problems)
{
    const char *n = m->name;
    switch (m->k) {
    case K_TARGET:
        if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > MAX_NAME ||
            !printable(json_string_value(v))) {
            problem(problems, "restrictions.%s: must be a target name of 1 to %d characters", n,
                    MAX_NAME);
            return 0;
        }
        return 1;
    case K_PATH:
        if (json_is_null(v))
            return 1;
        if (!json_is_string(v) || json_string_value(v)[0] != '/' || json_string_length(v) > 1024 ||
            !printable(json_string_value(v)) || strstr(json_string_value(v), "//") ||
            strstr(json_string_value(v), "/../") || strstr(json_string_value(v), "/./")) {
            problem(problems,
                    "restrictions.%s: must be null or a resource pool path starting "
                    "with /",
                    n);
            return 0;
        }
        return 1;
    case K_LIST: {
        if (json_is_null(v))
            return 1;
        if (!json_is_array(v) || json_array_size(v) > MAX_LIST) {
            problem(problems, "restrictions.%s: must be null or an array of at most %d names", n,
                    MAX_LIST);
            return 0;
        }
        size_t i;
        json_t *e;
        int ok = 1;
        json_array_foreach(v, i, e)
        {
            if (!json_is_string(e) || json_string_length(e) == 0 ||
                json_string_length(e) > MAX_NAME || !printable(json_string_value(e))) {
                problem(problems, "restrictions.%s[%zu]: must be a name of 1 to %d characters", n,
                        i, MAX_NAME);
                ok = 0;
            }
        }
        return ok;
    }
    case K_CEILING:
        if (json_is_null(v))
            return 1;
        if (!json_is_integer(v) || json_integer_value(v) < 1 ||
            json_integer_value(v) > MAX_CEILING) {
            problem(problems, "restrictions.%s: must be null (unlimited) or a positive integer", n);
            return 0;
        }
        return 1;
    case K_PREFIX:
        if (!json_is_string(v) || json_string_length(v) > MAX_PREFIX ||
            !prefix_chars(json_string_value(v))) {
            problem(problems, "restrictions.%s: must be up to %d letters, digits, '-', '_' or '.'",
                    n, MAX_PREFIX);
            return 0;
        }
        return 1;
    case K_BOOL:
        if (!json_is_boolean(v)) {
            problem(problems, "restrictions.%s: must be true or false", n);
            return 0;
        }
        return 1;
    case K_DEPTH:
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > VP_MAX_DELEGATION_DEPTH) {
            problem(problems, "restrictions.%s: must be an integer from 0 to %d", n,
                    VP_MAX_DELEGATION_DEPTH);
            return 0;
        }
        return 1;
    }
    return 0;
}

static json_t *root_default(const member *m)
{
    if (strcmp(m->name, "target") == 0)
        return json_string("local");
    if (strcmp(m->name, "max_vchs") == 0 || strcmp(m->name, "uses") == 0)
        return json_integer(1);
    if (strcmp(m->name, "name_prefix") == 0)
        return json_string("");
    if (strcmp(m->name, "tls_required") == 0)
        return json_true();
    if (strcmp(m->name, "delegation_depth") == 0)
        return json_integer(0);
    return json_null();
}

static char *list_text(const json_t *list)
{
    vic_buf b = VIC_BUF_INIT;
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        vic_buf_appendf(&b, "%s%s", i ? ", " : "", json_string_value(e));
    }
    if (b.len == 0)
        vic_buf_appendf(&b, "none");
    return vic_buf_steal(&b);
}

static int in_list(const json_t *list, const char *name)
{
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        if (strcmp(json_string_value(e), name) == 0)
            return 1;
    }
    return 0;
}

int vp_path_within(const char *path, const char *prefix)
{
    size_t n = strlen(prefix);
    while (n > 1 && prefix[n - 1] == '/')
        n--;
    if (strncmp(path, prefix, n) != 0)
        return 0;
    return path[n] == '\0' || path[n] == '/' || (n == 1 && prefix[0] == '/');
}

/* Appends a problem for each way the child member c widens the parent's p. */
static void narrowing(const member *m, const json_t *c, const json_t *p, long long uses_left,
                      json_t *problems)
{
    const char *n = m->name;
    switch (m->k) {
    case K_TARGET:
        if (strcmp(json_string_value(c), json_string_value(p)) != 0)
            problem(problems, "restrictions.%s: %s is not the parent's target %s", n,
                    json_string_value(c), json_string_value(p));
        return;
    case K_PATH:
        if (json_is_null(p))
            return;
        if (json_is_null(c))
            problem(problems, "restrictions.%s: any resource pool is wider than the parent's %s", n,
                    json_string_value(p));
        else if (!vp_path_within(json_string_value(c), json_string_value(p)))
            problem(problems, "restrictions.%s: %s is not within the parent's %s", n,
                    json_string_value(c), json_string_value(p));
        return;
    case K_LIST: {
        if (json_is_null(p))
            return;
        cleanup_free char *allowed = list_text(p);
        if (json_is_null(c)) {
            problem(problems, "restrictions.%s: any is wider than the parent's (%s)", n, allowed);
            return;
        }
        size_t i;
        json_t *e;
        json_array_foreach(c, i, e)
        {
            if (!in_list(p, json_string_value(e)))
                problem(problems, "restrictions.%s: %s is not among the parent's (%s)", n,
                        json_string_value(e), allowed);
        }
        return;
    }
    case K_CEILING: {
        int is_uses = strcmp(n, "uses") == 0;
        long long limit = is_uses ? uses_left : (json_is_null(p) ? -1 : json_integer_value(p));
        if (limit < 0)
            return;
        const char *whose = is_uses ? "the parent's remaining" : "the parent's";
        if (json_is_null(c))
            problem(problems, "restrictions.%s: unlimited exceeds %s %lld", n, whose, limit);
        else if (json_integer_value(c) > limit)
            problem(problems, "restrictions.%s: %lld exceeds %s %lld", n,
                    (long long)json_integer_value(c), whose, limit);
        return;
    }
    case K_PREFIX:
        if (strncmp(json_string_value(c), json_string_value(p), json_string_length(p)) != 0)
            problem(problems, "restrictions.%s: \"%s\" does not start with the parent's \"%s\"", n,
                    json_string_value(c), json_string_value(p));
        return;
    case K_BOOL:
        if (json_is_true(p) && !json_is_true(c))
            problem(problems, "restrictions.%s: false would lift the parent's requirement", n);
        return;
    case K_DEPTH: {
        long long left = json_integer_value(p) - 1;
        if (json_integer_value(c) > left)
            problem(problems, "restrictions.%s: %lld exceeds the parent's remaining %lld", n,
                    (long long)json_integer_value(c), left < 0 ? 0 : left);
        return;
    }
    }
}

static int fail_with(vic_err **err, int code, const json_t *problems)
{
    vic_buf b = VIC_BUF_INIT;
    size_t i;
    json_t *e;
    json_array_foreach(problems, i, e)
    {
        vic_buf_appendf(&b, "%s%s", i ? "; " : "", json_string_value(e));
    }
    int rc = vic_err_set(err, code, "%s", b.data);
    vic_buf_free(&b);
    return rc;
}

int vp_restrictions_normalize(json_t **out, const json_t *in, const json_t *parent,
                              long long parent_uses_left, vic_err **err)
{
    *out = NULL;
    json_t *problems cleanup_json = json_array();
    if (in != NULL && !json_is_object(in))
        return vic_err_set(err, VIC_EINVAL, "restrictions: must be an object");
    if (in) {
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)in, key, v)
        {
            int known = 0;
            for (size_t i = 0; i < N_MEMBERS && !known; i++)
                known = strcmp(members[i].name, key) == 0;
            if (!known)
                problem(problems, "restrictions.%s: unknown field", key);
        }
    }
    json_t *canon cleanup_json = json_object();
    for (size_t i = 0; i < N_MEMBERS; i++) {
        const member *m = &members[i];
        json_t *v = in ? json_object_get(in, m->name) : NULL;
        if (v && !well_formed(m, v, problems))
            continue;
        if (v == NULL && parent == NULL)
            json_object_set_new(canon, m->name, root_default(m));
        else if (v == NULL && strcmp(m->name, "delegation_depth") == 0)
            /* a child goes one level further down, unless it asks for less */
            json_object_set_new(
                canon, m->name,
                json_integer(json_integer_value(json_object_get(parent, m->name)) - 1));
        else if (v == NULL && strcmp(m->name, "uses") == 0 && parent_uses_left >= 0 &&
                 (json_is_null(json_object_get(parent, "uses")) ||
                  json_integer_value(json_object_get(parent, "uses")) > parent_uses_left))
            /* inheriting uses means what is left of them */
            json_object_set_new(canon, m->name,
                                parent_uses_left > 0 ? json_integer(parent_uses_left)
                                                     : json_integer(1));
        else
            json_object_set(canon, m->name, v ? v : json_object_get(parent, m->name));
    }
    if (json_array_size(problems))
        return fail_with(err, VIC_EINVAL, problems);
    if (parent) {
        for (size_t i = 0; i < N_MEMBERS; i++)
            narrowing(&members[i], json_object_get(canon, members[i].name),
                      json_object_get(parent, members[i].name), parent_uses_left, problems);
        if (json_array_size(problems))
            return fail_with(err, VIC_EFORBIDDEN, problems);
    }
    *out = steal_ptr(canon);
    return 0;
}

long long vp_restr_int(const json_t *r, const char *key)
{
    const json_t *v = json_object_get(r, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

const char *vp_restr_str(const json_t *r, const char *key)
{
    return json_string_value(json_object_get(r, key));
}

const json_t *vp_restr_list(const json_t *r, const char *key)
{
    const json_t *v = json_object_get(r, key);
    return json_is_array(v) ? v : NULL;
}

int vp_restr_allows(const json_t *r, const char *key, const char *name)
{
    const json_t *list = vp_restr_list(r, key);
    return list == NULL || in_list(list, name);
}
