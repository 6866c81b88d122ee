/*
 * Image references (docker's grammar and defaults) and sha256 digests: pure, no I/O.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/err.h"
#include "portlayer/reference.h"

static void test_reference_parse(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } ok[] = {
        {"busybox", "docker.io/library/busybox:latest"},
        {"busybox:1.36", "docker.io/library/busybox:1.36"},
        {"library/busybox", "docker.io/library/busybox:latest"},
        {"user/app", "docker.io/user/app:latest"},
        {"docker.io/busybox", "docker.io/library/busybox:latest"},
        {"index.docker.io/busybox", "docker.io/library/busybox:latest"},
        {"127.0.0.1:5000/busybox:latest", "127.0.0.1:5000/busybox:latest"},
        {"localhost/a/b/c:v1.0-rc_2", "localhost/a/b/c:v1.0-rc_2"},
        {"Registry.Example/x", "Registry.Example/x:latest"},
        {"my-reg.example.com:443/team/app__x.y-z", "my-reg.example.com:443/team/app__x.y-z:latest"},
        {"busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
         "docker.io/library/busybox@sha256:"
         "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        pl_ref *r = NULL;
        vic_err *err cleanup_err = NULL;
        if (pl_ref_parse(&r, ok[i].in, &err) < 0)
            fail_msg("%s: %s", ok[i].in, err->msg);
        cleanup_free char *s = pl_ref_string(r);
        assert_string_equal(s, ok[i].out);
        pl_ref_free(r);
    }
    pl_ref *r = NULL;
    assert_int_equal(pl_ref_parse(&r, "busybox", NULL), 0);
    assert_string_equal(pl_ref_registry_host(r), "registry-1.docker.io");
    pl_ref_free(r);
    static const char *bad[] = {
        "",
        "BusyBox",
        "busybox:",
        "busybox:-x",
        "a//b",
        "/busybox",
        "busybox/",
        "bu..sy",
        "-busybox",
        "busybox@sha256:abc",
        "busybox@md5:0123456789abcdef0123456789abcdef",
        "host:port/x",
        "reg.example:99999999/x",
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "busybox:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        vic_err *err cleanup_err = NULL;
        if (pl_ref_parse(&r, bad[i], &err) != VIC_EINVAL)
            fail_msg("accepted bad reference \"%s\"", bad[i]);
        assert_null(r);
    }
}

static void test_reference_name_and_host(void **state)
{
    (void)state;
    pl_ref *r = NULL;
    assert_int_equal(pl_ref_parse(&r, "127.0.0.1:5000/team/app:v2", NULL), 0);
    cleanup_free char *name = pl_ref_name(r);
    assert_string_equal(name, "127.0.0.1:5000/team/app");
    assert_string_equal(pl_ref_registry_host(r), "127.0.0.1:5000");
    assert_string_equal(r->tag, "v2");
    assert_null(r->digest);
    pl_ref_free(r);
    assert_int_equal(pl_ref_parse(&r, "busybox", NULL), 0);
    assert_string_equal(r->domain, PL_DOCKER_HUB_DOMAIN);
    assert_string_equal(r->tag, PL_DEFAULT_TAG);
    assert_string_equal(pl_ref_registry_host(r), PL_DOCKER_HUB_REGISTRY);
    pl_ref_free(r);
    pl_ref_free(NULL);
}

static void test_reference_digest(void **state)
{
    (void)state;
    const char *abc = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    assert_true(pl_digest_valid(abc));
    assert_false(pl_digest_valid(NULL));
    assert_false(pl_digest_valid(""));
    assert_false(
        pl_digest_valid("sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"));
    assert_false(
        pl_digest_valid("sha512:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    assert_false(
        pl_digest_valid("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a"));
    assert_false(pl_digest_valid(
        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad0"));
    assert_false(
        pl_digest_valid("sha256:ga7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));

    /* streamed in pieces, the digest is the whole's */
    EVP_MD_CTX *md = pl_digest_new();
    EVP_DigestUpdate(md, "a", 1);
    EVP_DigestUpdate(md, "bc", 2);
    char out[72];
    pl_digest_final(out, md);
    EVP_MD_CTX_free(md);
    assert_string_equal(out, abc);
    assert_true(pl_digest_valid(out));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_parse),
        cmocka_unit_test(test_reference_name_and_host),
        cmocka_unit_test(test_reference_digest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
