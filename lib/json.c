#include "json.h"

#include <stdlib.h>
#include <string.h>

#include "mem.h"

int vic_json_parse(json_t **out, const char *buf, size_t len, size_t max_len, vic_err **err)
{
    *out = NULL;
    if (max_len && len > max_len)
        return vic_err_set(err, VIC_ETOOBIG, "JSON document of %zu bytes exceeds the limit of %zu",
                           len, max_len);
    if (len == 0)
        return vic_err_set(err, VIC_EINVAL, "invalid JSON: empty body");
    json_error_t je;
    json_t *v = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (v == NULL)
        return vic_err_set(err, VIC_EINVAL, "invalid JSON at line %d column %d: %s", je.line,
                           je.column, je.text);
    *out = v;
    return 0;
}

static const char *type_name(vic_json_type t)
{
    switch (t) {
    case VIC_JSON_STRING:
        return "a string";
    case VIC_JSON_INT:
        return "an integer";
    case VIC_JSON_NUMBER:
        return "a number";
    case VIC_JSON_BOOL:
        return "a boolean";
    case VIC_JSON_OBJECT:
        return "an object";
    case VIC_JSON_ARRAY:
        return "an array";
    case VIC_JSON_ANY:
        break;
    }
    return "a value";
}

static int type_matches(const json_t *v, vic_json_type t)
{
    switch (t) {
    case VIC_JSON_STRING:
        return json_is_string(v);
    case VIC_JSON_INT:
        return json_is_integer(v);
    case VIC_JSON_NUMBER:
        return json_is_number(v);
    case VIC_JSON_BOOL:
        return json_is_boolean(v);
    case VIC_JSON_OBJECT:
        return json_is_object(v);
    case VIC_JSON_ARRAY:
        return json_is_array(v);
    case VIC_JSON_ANY:
        return 1;
    }
    return 0;
}

static void add_problem(json_t **problems, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void add_problem(json_t **problems, const char *path, const char *fmt, ...)
{
    if (*problems == NULL)
        *problems = json_array();
    va_list ap;
    va_start(ap, fmt);
    char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    char *line = xasprintf("%s: %s", path && *path ? path : "(body)", msg);
    json_array_append_new(*problems, json_string(line));
    free(msg);
    free(line);
}

static char *join_path(const char *path, const char *name)
{
    if (path == NULL || *path == '\0')
        return xstrdup(name);
    return xasprintf("%s.%s", path, name);
}

static size_t check_value(json_t **problems, const json_t *v, const vic_schema_field *f,
                          vic_json_type type, const char *path);

static size_t check_bounds(json_t **problems, const json_t *v, const vic_schema_field *f,
                           vic_json_type type, const char *path)
{
    size_t n = 0;
    if (type == VIC_JSON_STRING) {
        size_t len = json_string_length(v);
        if (f->min > 0 && len < (size_t)f->min) {
            add_problem(problems, path,
                        f->min == 1 ? "must not be empty" : "must be at least %lld characters",
                        f->min);
            n++;
        }
        if (f->max > 0 && len > (size_t)f->max) {
            add_problem(problems, path, "must be at most %lld characters", f->max);
            n++;
        }
        if (f->choices) {
            const char *s = json_string_value(v);
            int ok = 0;
            vic_buf allowed = VIC_BUF_INIT;
            for (const char *const *c = f->choices; *c; c++) {
                if (strcmp(*c, s) == 0)
                    ok = 1;
                vic_buf_appendf(&allowed, "%s%s", c == f->choices ? "" : ", ", *c);
            }
            if (!ok) {
                add_problem(problems, path, "must be one of: %s", allowed.data);
                n++;
            }
            vic_buf_free(&allowed);
        }
    } else if (type == VIC_JSON_INT || type == VIC_JSON_NUMBER) {
        double d = json_number_value(v);
        if ((f->min != 0 || f->max != 0) &&
            (d < (double)f->min || (f->max && d > (double)f->max))) {
            if (f->max)
                add_problem(problems, path, "must be between %lld and %lld", f->min, f->max);
            else if (f->min == 1 && type == VIC_JSON_INT)
                add_problem(problems, path, "must be a positive integer");
            else
                add_problem(problems, path, "must be at least %lld", f->min);
            n++;
        }
    } else if (type == VIC_JSON_ARRAY) {
        size_t len = json_array_size(v);
        if (f->min > 0 && len < (size_t)f->min) {
            add_problem(problems, path, "must have at least %lld element%s", f->min,
                        f->min == 1 ? "" : "s");
            n++;
        }
        if (f->max > 0 && len > (size_t)f->max) {
            add_problem(problems, path, "must have at most %lld elements", f->max);
            n++;
        }
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            char *ep = xasprintf("%s[%zu]", path, i);
            vic_schema_field ef = {.name = NULL, .type = f->items, .object = f->object};
            n += check_value(problems, e, &ef, f->items, ep);
            free(ep);
        }
    } else if (type == VIC_JSON_OBJECT && f->object) {
        n += vic_json_check(problems, v, f->object, path);
    }
    return n;
}

static size_t check_value(json_t **problems, const json_t *v, const vic_schema_field *f,
                          vic_json_type type, const char *path)
{
    if (!type_matches(v, type)) {
        if (type == VIC_JSON_INT && f->min == 1)
            add_problem(problems, path, "must be a positive integer");
        else
            add_problem(problems, path, "must be %s", type_name(type));
        return 1;
    }
    return check_bounds(problems, v, f, type, path);
}

size_t vic_json_check(json_t **problems, const json_t *value, const vic_schema *schema,
                      const char *path)
{
    if (!json_is_object(value)) {
        add_problem(problems, path, "must be an object");
        return 1;
    }
    size_t n = 0;
    for (size_t i = 0; i < schema->n_fields; i++) {
        const vic_schema_field *f = &schema->fields[i];
        json_t *v = json_object_get(value, f->name);
        char *fp = join_path(path, f->name);
        if (v == NULL || json_is_null(v)) {
            if (f->required) {
                add_problem(problems, fp, "is required");
                n++;
            }
        } else {
            n += check_value(problems, v, f, f->type, fp);
        }
        free(fp);
    }
    if (!schema->allow_unknown) {
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)value, key, v)
        {
            int known = 0;
            for (size_t i = 0; i < schema->n_fields && !known; i++)
                known = strcmp(schema->fields[i].name, key) == 0;
            if (!known) {
                char *fp = join_path(path, key);
                add_problem(problems, fp, "unknown field");
                free(fp);
                n++;
            }
        }
    }
    return n;
}

int vic_json_validate(const json_t *value, const vic_schema *schema, json_t **problems_out,
                      vic_err **err)
{
    json_t *problems = NULL;
    if (problems_out)
        *problems_out = NULL;
    if (vic_json_check(&problems, value, schema, "") == 0) {
        json_decref(problems);
        return 0;
    }
    vic_buf msg = VIC_BUF_INIT;
    size_t i;
    json_t *p;
    json_array_foreach(problems, i, p)
    {
        vic_buf_appendf(&msg, "%s%s", i ? "; " : "", json_string_value(p));
    }
    int rc = vic_err_set(err, VIC_EINVAL, "%s", msg.data);
    vic_buf_free(&msg);
    if (problems_out)
        *problems_out = problems;
    else
        json_decref(problems);
    return rc;
}

const char *vic_json_str(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

json_t *vic_json_string_lossy(const char *s)
{
    json_t *j = json_string(s ? s : "");
    if (j)
        return j;
    char *copy = xstrdup(s);
    for (char *p = copy; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    j = json_string(copy);
    free(copy);
    return j;
}
