#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/guestuser.h"

static char passwd_path[64], group_path[64];

static int files_setup(void **state)
{
    (void)state;
    snprintf(passwd_path, sizeof(passwd_path), "/tmp/vic-passwd-XXXXXX");
    snprintf(group_path, sizeof(group_path), "/tmp/vic-group-XXXXXX");
    int pf = mkstemp(passwd_path), gf = mkstemp(group_path);
    if (pf < 0 || gf < 0)
        return -1;
    static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
                                 "www:x:33:34:www:/var/www:/bin/false\n";
    static const char group[] = "root:x:0:\nstaff:x:50:\n";
    int ok = write(pf, passwd, sizeof(passwd) - 1) == (ssize_t)(sizeof(passwd) - 1) &&
             write(gf, group, sizeof(group) - 1) == (ssize_t)(sizeof(group) - 1);
    close(pf);
    close(gf);
    return ok ? 0 : -1;
}

static int files_teardown(void **state)
{
    (void)state;
    unlink(passwd_path);
    unlink(group_path);
    return 0;
}

typedef struct lookup {
    unsigned uid, gid;
    char home[64];
    char msg[200];
    int rc;
} lookup;

static lookup look(const char *user, const char *group)
{
    lookup l;
    memset(&l, 0, sizeof(l));
    l.rc = vic_guest_lookup_user(user, group, passwd_path, group_path, &l.uid, &l.gid, l.home,
                                 sizeof(l.home), l.msg, sizeof(l.msg));
    return l;
}

/* Docker's -u forms: a name, a uid (with or without a passwd entry), and either with a group,
 * given apart or in one "user:group" string. */
static void test_guestuser_docker_forms(void **state)
{
    (void)state;
    lookup l = look(NULL, NULL);
    assert_int_equal(l.rc, 0);
    assert_int_equal(l.uid, 0);
    assert_string_equal(l.home, "/root");

    l = look("www", NULL);
    assert_int_equal(l.rc, 0);
    assert_int_equal(l.uid, 33);
    assert_int_equal(l.gid, 34);
    assert_string_equal(l.home, "/var/www");

    l = look("1234", NULL); /* no passwd entry: the uid itself, group 0, home / */
    assert_int_equal(l.rc, 0);
    assert_int_equal(l.uid, 1234);
    assert_int_equal(l.gid, 0);
    assert_string_equal(l.home, "/");

    l = look("1234:5678", NULL);
    assert_int_equal(l.rc, 0);
    assert_int_equal(l.uid, 1234);
    assert_int_equal(l.gid, 5678);

    l = look("www:staff", NULL);
    assert_int_equal(l.rc, 0);
    assert_int_equal(l.uid, 33);
    assert_int_equal(l.gid, 50);

    l = look("www", "staff");
    assert_int_equal(l.rc, 0);
    assert_int_equal(l.gid, 50);
}

static void test_guestuser_refusals_name_what_is_missing(void **state)
{
    (void)state;
    lookup l = look("nosuchuser", NULL);
    assert_int_equal(l.rc, -1);
    assert_string_equal(l.msg,
                        "unable to find user nosuchuser: no matching entries in passwd file");

    l = look("www:nosuchgroup", NULL);
    assert_int_equal(l.rc, -1);
    assert_string_equal(l.msg,
                        "unable to find group nosuchgroup: no matching entries in group file");

    l = look("70000", NULL);
    assert_int_equal(l.rc, -1);
    assert_non_null(strstr(l.msg, "above 65535"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_guestuser_docker_forms),
        cmocka_unit_test(test_guestuser_refusals_name_what_is_missing),
    };
    return cmocka_run_group_tests(tests, files_setup, files_teardown);
}
