#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/json.h"

static const char *const shares[] = {"low", "normal", "high", NULL};
static const vic_schema_field cpu_fields[] = {
    {.name = "limit", .type = VIC_JSON_INT, .min = 1},
    {.name = "shares", .type = VIC_JSON_STRING, .choices = shares},
};
static const vic_schema cpu_schema = VIC_SCHEMA(cpu_fields);
static const vic_schema_field compute_fields[] = {
    {.name = "cpu", .type = VIC_JSON_OBJECT, .object = &cpu_schema},
};
static const vic_schema compute_schema = VIC_SCHEMA(compute_fields);
static const vic_schema_field store_fields[] = {
    {.name = "datastore", .type = VIC_JSON_STRING, .required = 1, .min = 1},
};
static const vic_schema store_schema = VIC_SCHEMA(store_fields);
static const vic_schema_field top_fields[] = {
    {.name = "name", .type = VIC_JSON_STRING, .required = 1, .min = 1, .max = 80},
    {.name = "compute", .type = VIC_JSON_OBJECT, .object = &compute_schema},
    {.name = "stores",
     .type = VIC_JSON_ARRAY,
     .items = VIC_JSON_OBJECT,
     .object = &store_schema,
     .max = 2},
    {.name = "debug", .type = VIC_JSON_INT, .min = 0, .max = 3},
};
static const vic_schema top_schema = VIC_SCHEMA(top_fields);

static json_t *parse(const char *s)
{
    json_t *v = NULL;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(vic_json_parse(&v, s, strlen(s), 0, &err), 0);
    return v;
}

static void test_json_parse_reports_position(void **state)
{
    (void)state;
    json_t *v = NULL;
    vic_err *err cleanup_err = NULL;
    const char *bad = "{\n  \"a\": 1,\n  \"b\": }";
    assert_int_equal(vic_json_parse(&v, bad, strlen(bad), 0, &err), VIC_EINVAL);
    assert_null(v);
    assert_non_null(strstr(err->msg, "line 3"));
}

static void test_json_parse_rejects_duplicates_and_size(void **state)
{
    (void)state;
    json_t *v = NULL;
    vic_err *err cleanup_err = NULL;
    const char *dup = "{\"a\":1,\"a\":2}";
    assert_int_equal(vic_json_parse(&v, dup, strlen(dup), 0, &err), VIC_EINVAL);
    vic_err_free(&err);
    assert_int_equal(vic_json_parse(&v, "[1,2,3]", 7, 5, &err), VIC_ETOOBIG);
    vic_err_free(&err);
    assert_int_equal(vic_json_parse(&v, "", 0, 0, &err), VIC_EINVAL);
    assert_null(v);
}

static void test_json_check_valid(void **state)
{
    (void)state;
    json_t *v cleanup_json =
        parse("{\"name\":\"vch1\",\"compute\":{\"cpu\":{\"limit\":4,\"shares\":\"high\"}},"
              "\"stores\":[{\"datastore\":\"ds1\"}],\"debug\":3}");
    json_t *problems cleanup_json = NULL;
    assert_int_equal(vic_json_check(&problems, v, &top_schema, ""), 0);
    assert_null(problems);
}

static int has_problem(json_t *problems, const char *want)
{
    size_t i;
    json_t *p;
    json_array_foreach(problems, i, p)
    {
        if (strcmp(json_string_value(p), want) == 0)
            return 1;
    }
    return 0;
}

static void test_json_check_reports_every_problem_with_path(void **state)
{
    (void)state;
    json_t *v cleanup_json =
        parse("{\"compute\":{\"cpu\":{\"limit\":0,\"shares\":\"max\"}},\"stores\":[{},"
              "{\"datastore\":\"\"},{\"datastore\":\"x\"}],\"debug\":7,\"extra\":true}");
    json_t *problems cleanup_json = NULL;
    size_t n = vic_json_check(&problems, v, &top_schema, "");
    assert_true(has_problem(problems, "name: is required"));
    assert_true(has_problem(problems, "compute.cpu.limit: must be a positive integer"));
    assert_true(has_problem(problems, "compute.cpu.shares: must be one of: low, normal, high"));
    assert_true(has_problem(problems, "stores: must have at most 2 elements"));
    assert_true(has_problem(problems, "stores[0].datastore: is required"));
    assert_true(has_problem(problems, "stores[1].datastore: must not be empty"));
    assert_true(has_problem(problems, "debug: must be between 0 and 3"));
    assert_true(has_problem(problems, "extra: unknown field"));
    assert_int_equal(n, json_array_size(problems));
    assert_int_equal(n, 8);
}

static void test_json_check_wrong_types(void **state)
{
    (void)state;
    json_t *v cleanup_json = parse("{\"name\":5,\"compute\":{\"cpu\":{\"limit\":\"4\"}}}");
    json_t *problems cleanup_json = NULL;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(vic_json_validate(v, &top_schema, &problems, &err), VIC_EINVAL);
    assert_true(has_problem(problems, "name: must be a string"));
    assert_true(has_problem(problems, "compute.cpu.limit: must be a positive integer"));
    assert_non_null(strstr(err->msg, "; "));
}

static void test_json_check_non_object_body(void **state)
{
    (void)state;
    json_t *v cleanup_json = parse("[1]");
    vic_err *err cleanup_err = NULL;
    assert_int_equal(vic_json_validate(v, &top_schema, NULL, &err), VIC_EINVAL);
    assert_string_equal(err->msg, "(body): must be an object");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_parse_reports_position),
        cmocka_unit_test(test_json_parse_rejects_duplicates_and_size),
        cmocka_unit_test(test_json_check_valid),
        cmocka_unit_test(test_json_check_reports_every_problem_with_path),
        cmocka_unit_test(test_json_check_wrong_types),
        cmocka_unit_test(test_json_check_non_object_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
