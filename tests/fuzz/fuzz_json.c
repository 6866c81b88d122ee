/* libFuzzer harness: strict JSON parsing and schema checks (lib/json.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json.h"

static const char *const kinds[] = {"a", "b", NULL};
static const vic_schema_field leaf_fields[] = {
    {.name = "n", .type = VIC_JSON_INT, .min = 1, .max = 100},
    {.name = "s", .type = VIC_JSON_STRING, .min = 1, .max = 8, .choices = kinds},
    {.name = "f", .type = VIC_JSON_NUMBER},
    {.name = "b", .type = VIC_JSON_BOOL, .required = 1},
};
static const vic_schema leaf = VIC_SCHEMA(leaf_fields);
static const vic_schema_field top_fields[] = {
    {.name = "name", .type = VIC_JSON_STRING, .required = 1, .max = 80},
    {.name = "leaf", .type = VIC_JSON_OBJECT, .object = &leaf},
    {.name = "list", .type = VIC_JSON_ARRAY, .items = VIC_JSON_OBJECT, .object = &leaf, .max = 4},
    {.name = "tags", .type = VIC_JSON_ARRAY, .items = VIC_JSON_STRING, .min = 1},
    {.name = "any", .type = VIC_JSON_ANY},
};
static const vic_schema top = VIC_SCHEMA(top_fields);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *v = NULL;
    if (vic_json_parse(&v, (const char *)data, size, 64 * 1024, NULL) < 0)
        return 0;
    json_t *problems = NULL;
    size_t n = vic_json_check(&problems, v, &top, "");
    if ((n == 0) != (problems == NULL) || (problems && json_array_size(problems) != n))
        abort(); /* the count and the list must agree */
    vic_err *err = NULL;
    int rc = vic_json_validate(v, &top, NULL, &err);
    if ((rc == 0) != (n == 0))
        abort();
    vic_err_free(&err);
    json_decref(problems);
    json_decref(v);
    return 0;
}
