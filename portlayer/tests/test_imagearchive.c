/*
 * docker load's manifest.json: Docker's and Docker 25's forms, and what is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "lib/cleanup.h"
#include "portlayer/imagearchive.h"

static json_t *parse_ok(const char *text)
{
    json_t *m = NULL;
    vic_err *err cleanup_err = NULL;
    if (pl_archive_manifest_parse(&m, text, strlen(text), &err) < 0)
        fail_msg("%s: %s", text, err->msg);
    return m;
}

static void test_archive_manifest_forms(void **state)
{
    (void)state;
    json_t *m cleanup_json =
        parse_ok("[{\"Config\":\"blobs/sha256/abc\",\"RepoTags\":[\"busybox:latest\","
                 "\"127.0.0.1:5000/x/y:1\"],\"Layers\":[\"./blobs/sha256/l1\",\"d2/layer.tar\"]},"
                 "{\"Config\":\"c2.json\",\"RepoTags\":null,\"Layers\":[]}]");
    assert_int_equal(json_array_size(m), 2);
    json_t *a = json_array_get(m, 0);
    assert_string_equal(json_string_value(json_object_get(a, "config")), "blobs/sha256/abc");
    assert_string_equal(json_string_value(json_array_get(json_object_get(a, "layers"), 0)),
                        "blobs/sha256/l1");
    json_t *tags = json_object_get(a, "repo_tags");
    assert_string_equal(json_string_value(json_array_get(tags, 0)),
                        "docker.io/library/busybox:latest");
    assert_string_equal(json_string_value(json_array_get(tags, 1)), "127.0.0.1:5000/x/y:1");
    assert_int_equal(json_array_size(json_object_get(json_array_get(m, 1), "repo_tags")), 0);
}

static void expect_bad(const char *text, const char *why)
{
    json_t *m = NULL;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(pl_archive_manifest_parse(&m, text, strlen(text), &err), VIC_EINVAL);
    assert_null(m);
    if (strstr(err->msg, why) == NULL)
        fail_msg("%s: got \"%s\", wanted \"%s\"", text, err->msg, why);
}

static void test_archive_manifest_refused(void **state)
{
    (void)state;
    expect_bad("{}", "not a JSON array");
    expect_bad("[]", "no image in it");
    expect_bad("[1]", "manifest.json[0]: not an object");
    expect_bad("[{\"Layers\":[]}]", "manifest.json[0].Config: not a path");
    expect_bad("[{\"Config\":\"../x\",\"Layers\":[]}]", "leaves the archive");
    expect_bad("[{\"Config\":\"/etc/passwd\",\"Layers\":[]}]", "leaves the archive");
    expect_bad("[{\"Config\":\"c\"}]", "manifest.json[0].Layers: not a list");
    expect_bad("[{\"Config\":\"c\",\"Layers\":[\"a/../../b\"]}]", "leaves the archive");
    expect_bad("[{\"Config\":\"c\",\"Layers\":[],\"RepoTags\":[\"Bad Name\"]}]",
               "RepoTags[0]: not a tagged reference");
    expect_bad("[{\"Config\":\"c\",\"Layers\":[],\"RepoTags\":[\"a@sha256:"
               "0000000000000000000000000000000000000000000000000000000000000000\"]}]",
               "RepoTags[0]: not a tagged reference");
    expect_bad("[{\"Config\":\"c\",\"Layers\":[],\"RepoTags\":\"x\"}]", "RepoTags: not a list");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_archive_manifest_forms),
        cmocka_unit_test(test_archive_manifest_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
