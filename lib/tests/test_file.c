#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/err.h"
#include "lib/file.h"
#include "lib/mem.h"

static void test_file_path_normalise_absolute(void **state)
{
    (void)state;
    const char *cases[][2] = {{"", "/"},
                              {"/", "/"},
                              {"a/b", "/a/b"},
                              {"/a/./b/", "/a/b"},
                              {"/../../etc", "/etc"},
                              {"/a/../../b", "/b"},
                              {"//a//b/.", "/a/b"},
                              {"a/b/..", "/a"},
                              {"./.", "/"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cleanup_free char *out = NULL;
        assert_int_equal(vic_path_normalise(&out, cases[i][0], 0), 0);
        assert_string_equal(out, cases[i][1]);
    }
    cleanup_free char *null_path = NULL;
    assert_int_equal(vic_path_normalise(&null_path, NULL, 0), 0);
    assert_string_equal(null_path, "/");
}

static void test_file_path_normalise_relative(void **state)
{
    (void)state;
    const char *cases[][2] = {{"", ""},           {".", ""},           {"./a//b/", "a/b"},
                              {"a/./b/.", "a/b"}, {"a/b/../c", "a/c"}, {"../../a", "a"},
                              {"/a/b", "a/b"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cleanup_free char *out = NULL;
        assert_int_equal(vic_path_normalise(&out, cases[i][0], VIC_PATH_RELATIVE), 0);
        assert_string_equal(out, cases[i][1]);
    }
}

static void test_file_path_normalise_refuses_dotdot(void **state)
{
    (void)state;
    const unsigned f = VIC_PATH_NO_DOTDOT | VIC_PATH_RELATIVE;
    const char *bad[] = {"..", "../a", "a/..", "a/../b", "./a/b/../../.."};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *out = (char *)"unset";
        assert_int_equal(vic_path_normalise(&out, bad[i], f), VIC_EINVAL);
        assert_null(out);
    }
    cleanup_free char *ok = NULL;
    assert_int_equal(vic_path_normalise(&ok, "a/..b/.../c..", f), 0);
    assert_string_equal(ok, "a/..b/.../c..");
}

static void test_file_path_normalise_bounded(void **state)
{
    (void)state;
    const unsigned f = VIC_PATH_NO_DOTDOT | VIC_PATH_RELATIVE | VIC_PATH_BOUNDED;
    char name[NAME_MAX + 2];
    memset(name, 'x', sizeof(name) - 1);
    name[NAME_MAX + 1] = '\0';
    char *out = NULL;
    assert_int_equal(vic_path_normalise(&out, name, f), VIC_ETOOBIG);
    assert_null(out);
    name[NAME_MAX] = '\0';
    assert_int_equal(vic_path_normalise(&out, name, f), 0);
    assert_int_equal(strlen(out), NAME_MAX);
    free(out);

    /* VIC_PATH_MAX_DEPTH components pass; one more fails, empty and "." ones counting */
    vic_buf b = VIC_BUF_INIT;
    for (int i = 0; i < VIC_PATH_MAX_DEPTH; i++)
        vic_buf_append(&b, i ? "/a" : "a", i ? 2 : 1);
    assert_int_equal(vic_path_normalise(&out, b.data, f), 0);
    free(out);
    cleanup_free char *deeper = xasprintf("%s/b", b.data);
    assert_int_equal(vic_path_normalise(&out, deeper, f), VIC_ETOOBIG);
    cleanup_free char *dots = xasprintf("%s/.", b.data);
    assert_int_equal(vic_path_normalise(&out, dots, f), VIC_ETOOBIG);
    cleanup_free char *empty = xasprintf("%s//", b.data);
    assert_int_equal(vic_path_normalise(&out, empty, f), VIC_ETOOBIG);
    assert_int_equal(vic_path_normalise(&out, deeper, 0), 0); /* no limit without the flag */
    free(out);
    vic_buf_free(&b);

    /* ".." is found before a later long component, and a long one before a later ".." */
    cleanup_free char *dd_first = xasprintf("../%s", name);
    name[NAME_MAX] = 'x';
    cleanup_free char *long_first = xasprintf("%s/..", name);
    assert_int_equal(vic_path_normalise(&out, dd_first, f), VIC_EINVAL);
    assert_int_equal(vic_path_normalise(&out, long_first, f), VIC_ETOOBIG);
}

static void test_file_mkdir_p_err(void **state)
{
    (void)state;
    char tmpl[] = "/tmp/test_file_XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    cleanup_free char *deep = xasprintf("%s/a/b/c", tmpl);
    vic_err *err cleanup_err = NULL;
    assert_int_equal(vic_mkdir_p_err(deep, 0755, &err), 0);
    struct stat st;
    assert_int_equal(stat(deep, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(vic_mkdir_p_err(deep, 0755, &err), 0); /* existing is fine */

    /* a file in the way: the error names the directory that could not be made */
    cleanup_free char *file = xasprintf("%s/f", tmpl);
    FILE *fp = fopen(file, "w");
    assert_non_null(fp);
    fclose(fp);
    cleanup_free char *below = xasprintf("%s/f/x/y", tmpl);
    assert_int_equal(vic_mkdir_p_err(below, 0755, &err), VIC_EIO);
    assert_non_null(err);
    cleanup_free char *want = xasprintf("mkdir %s/f/x", tmpl);
    assert_non_null(strstr(err->msg, want));
    assert_int_equal(err->sys, ENOTDIR);
    assert_int_equal(vic_mkdir_p(below, 0755), -ENOTDIR);
    assert_int_equal(vic_rm_rf(tmpl, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_path_normalise_absolute),
        cmocka_unit_test(test_file_path_normalise_relative),
        cmocka_unit_test(test_file_path_normalise_refuses_dotdot),
        cmocka_unit_test(test_file_path_normalise_bounded),
        cmocka_unit_test(test_file_mkdir_p_err),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
