/*
 * json.h - strict JSON parsing and schema checks over jansson.
 *
 * Input from outside is parsed with a size limit and duplicate keys rejected. A vic_schema
 * describes the fields of an object (type, required, bounds, nested objects and arrays);
 * vic_json_check() reports every problem at once, each with its path, e.g.
 * `compute.cpu.limit: must be a positive integer`, and rejects unknown fields.
 */
#ifndef VIC_JSON_H
#define VIC_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "err.h"

/* Parses buf[0..len) as one JSON value; more than max_len bytes is VIC_ETOOBIG; syntax errors
 * are VIC_EINVAL naming line and column. *out is a new reference. */
int vic_json_parse(json_t **out, const char *buf, size_t len, size_t max_len, vic_err **err);

typedef enum vic_json_type {
    VIC_JSON_STRING,
    VIC_JSON_INT,
    VIC_JSON_NUMBER,
    VIC_JSON_BOOL,
    VIC_JSON_OBJECT,
    VIC_JSON_ARRAY,
    VIC_JSON_ANY,
} vic_json_type;

typedef struct vic_schema vic_schema;

/* One field of an object. Bounds apply by type: string length for STRING, value for INT and
 * NUMBER, element count for ARRAY; max == 0 means no upper bound. */
typedef struct vic_schema_field {
    const char *name;
    vic_json_type type;
    int required;
    long long min;
    long long max;
    const char *const *choices; /* NULL-terminated allowed strings, or NULL */
    const vic_schema *object;   /* for OBJECT, and for ARRAY of objects */
    vic_json_type items;        /* element type for ARRAY */
} vic_schema_field;

struct vic_schema {
    const vic_schema_field *fields;
    size_t n_fields;
    int allow_unknown; /* 0: unknown fields are errors */
};

#define VIC_SCHEMA(arr)                                                                            \
    {                                                                                              \
        (arr), sizeof(arr) / sizeof((arr)[0]), 0                                                   \
    }

/* Appends one problem per line ("path: message") to *problems (an array of strings, created
 * when NULL) and returns how many were found under this value. */
size_t vic_json_check(json_t **problems, const json_t *value, const vic_schema *schema,
                      const char *path);

/* Checks value against schema; on problems returns VIC_EINVAL whose message joins them with
 * "; ", and, when problems_out is given, hands out the array too. */
int vic_json_validate(const json_t *value, const vic_schema *schema, json_t **problems_out,
                      vic_err **err);

/* A JSON string of s; bytes that are not valid UTF-8 (as in a path or header echoed into an
 * error message) become '?', so this never fails. */
json_t *vic_json_string_lossy(const char *s);

/* Borrowed string member or NULL when absent or not a string. */
const char *vic_json_str(const json_t *obj, const char *key);

#endif
