#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/caps.h"
#include "lib/cleanup.h"
#include "lib/confine.h"
#include "lib/execconfig.h"

#define BIT(n) (UINT64_C(1) << (n))

static void test_caps_names(void **state)
{
    (void)state;
    assert_int_equal(vic_cap_from_name("CHOWN"), 0);
    assert_int_equal(vic_cap_from_name("cap_sys_admin"), 21);
    assert_int_equal(vic_cap_from_name("Cap_Net_Raw"), 13);
    assert_int_equal(vic_cap_from_name("CHECKPOINT_RESTORE"), VIC_CAP_LAST);
    assert_int_equal(vic_cap_from_name("ALL"), -1);
    assert_int_equal(vic_cap_from_name("FLY"), -1);
    assert_int_equal(vic_cap_from_name(""), -1);
    assert_int_equal(vic_cap_from_name(NULL), -1);
    assert_string_equal(vic_cap_name(21), "SYS_ADMIN");
    assert_null(vic_cap_name(VIC_CAP_LAST + 1));
    assert_null(vic_cap_name(-1));
}

static void test_caps_resolve_default_is_dockers(void **state)
{
    (void)state;
    uint64_t c = 1;
    assert_int_equal(vic_caps_resolve(&c, NULL, 0, NULL, 0, NULL), 0);
    assert_true(c == VIC_CAPS_DOCKER_DEFAULT);
    cleanup_free char *s = vic_caps_format(c);
    assert_string_equal(s, "CHOWN,DAC_OVERRIDE,FOWNER,FSETID,KILL,SETGID,SETUID,SETPCAP,"
                           "NET_BIND_SERVICE,NET_RAW,SYS_CHROOT,MKNOD,AUDIT_WRITE,SETFCAP");
}

static void test_caps_resolve_add_and_drop(void **state)
{
    (void)state;
    uint64_t c;
    const char *add[] = {"sys_admin"}, *drop[] = {"CAP_NET_RAW", "kill"};
    assert_int_equal(vic_caps_resolve(&c, add, 1, drop, 2, NULL), 0);
    assert_true(c == ((VIC_CAPS_DOCKER_DEFAULT | BIT(21)) & ~(BIT(13) | BIT(5))));
    /* drop ALL: only what is added */
    const char *all[] = {"ALL"}, *kill[] = {"KILL"};
    assert_int_equal(vic_caps_resolve(&c, kill, 1, all, 1, NULL), 0);
    assert_true(c == BIT(5));
    assert_int_equal(vic_caps_resolve(&c, NULL, 0, all, 1, NULL), 0);
    assert_true(c == 0);
    /* add ALL: everything but what is dropped */
    assert_int_equal(vic_caps_resolve(&c, all, 1, kill, 1, NULL), 0);
    assert_true(c == (VIC_CAPS_ALL & ~BIT(5)));
    /* named in both: Docker adds after dropping */
    assert_int_equal(vic_caps_resolve(&c, kill, 1, kill, 1, NULL), 0);
    assert_true(c & BIT(5));
}

static void test_caps_resolve_refuses_unknown_names(void **state)
{
    (void)state;
    vic_err *err cleanup_err = NULL;
    uint64_t c = 7;
    const char *bad[] = {"CHOWN", "fly"};
    assert_int_equal(vic_caps_resolve(&c, bad, 2, NULL, 0, &err), VIC_EINVAL);
    assert_string_equal(err->msg, "invalid CapAdd: unknown capability: \"CAP_fly\"");
    const char *bad2[] = {"CAP_NOPE"};
    assert_int_equal(vic_caps_resolve(&c, NULL, 0, bad2, 1, &err), VIC_EINVAL);
    assert_string_equal(err->msg, "invalid CapDrop: unknown capability: \"CAP_NOPE\"");
    const char *empty[] = {""};
    assert_int_equal(vic_caps_resolve(&c, empty, 1, NULL, 0, &err), VIC_EINVAL);
}

static void test_caps_format_parse_round_trip(void **state)
{
    (void)state;
    uint64_t sets[] = {0, VIC_CAPS_DOCKER_DEFAULT, VIC_CAPS_ALL, BIT(21) | BIT(0)};
    for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
        cleanup_free char *s = vic_caps_format(sets[i]);
        uint64_t back = 1;
        assert_int_equal(vic_caps_parse(&back, s, NULL), 0);
        assert_true(back == sets[i]);
    }
    vic_err *err cleanup_err = NULL;
    uint64_t c;
    assert_int_equal(vic_caps_parse(&c, "CHOWN,WARP", &err), VIC_EINVAL);
    assert_non_null(strstr(err->msg, "WARP"));
}

static void test_security_opts(void **state)
{
    (void)state;
    vic_security_opts o = {0};
    assert_int_equal(vic_security_opt_apply(&o, "no-new-privileges", NULL), 0);
    assert_true(o.no_new_privileges);
    assert_int_equal(vic_security_opt_apply(&o, "no-new-privileges:false", NULL), 0);
    assert_false(o.no_new_privileges);
    assert_int_equal(vic_security_opt_apply(&o, "no-new-privileges=true", NULL), 0);
    assert_true(o.no_new_privileges);
    assert_int_equal(vic_security_opt_apply(&o, "seccomp=unconfined", NULL), 0);
    assert_true(o.seccomp_unconfined);
    assert_int_equal(vic_security_opt_apply(&o, "apparmor=unconfined", NULL), 0);
    assert_int_equal(vic_security_opt_apply(&o, "label:disable", NULL), 0);
    vic_err *err cleanup_err = NULL;
    const char *bad[] = {"no-new-privileges:maybe",
                         "seccomp={\"defaultAction\":1}",
                         "apparmor=custom",
                         "label=user:x",
                         "frobnicate",
                         "no-new-privilegesX",
                         ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(vic_security_opt_apply(&o, bad[i], &err), VIC_EINVAL);
        assert_non_null(strstr(err->msg, "invalid --security-opt"));
    }
    assert_int_equal(vic_security_opt_apply(&o, NULL, &err), VIC_EINVAL);
}

static void test_session_confine_from_guestinfo(void **state)
{
    (void)state;
    vic_exec_session s = {0};
    vic_confine c;
    assert_int_equal(vic_exec_session_confine(&c, &s, NULL), 0);
    assert_true(c.caps == VIC_CAPS_DOCKER_DEFAULT && c.seccomp && !c.no_new_privs);
    s.caps = "";
    s.seccomp = "unconfined";
    s.no_new_privs = true;
    assert_int_equal(vic_exec_session_confine(&c, &s, NULL), 0);
    assert_true(c.caps == 0 && !c.seccomp && c.no_new_privs);
    s.caps = "KILL,SYS_ADMIN";
    s.seccomp = "default";
    assert_int_equal(vic_exec_session_confine(&c, &s, NULL), 0);
    assert_true(c.caps == (BIT(5) | BIT(21)) && c.seccomp);
    vic_err *err cleanup_err = NULL;
    s.seccomp = "/etc/profile.json";
    assert_int_equal(vic_exec_session_confine(&c, &s, &err), VIC_EINVAL);
}

/* The personality rules deny exactly what Docker does not allow. */
static void test_personality_rules_match_dockers(void **state)
{
    (void)state;
    static const uint64_t allowed[] = {0, 8, 0x20000, 0x20008, 0xffffffff};
    for (size_t i = 0; i < 5; i++)
        assert_false(vic_confine_personality_denied(allowed[i]));
    for (uint64_t x = 0; x < (UINT64_C(1) << 20); x++) {
        int ok = x == 0 || x == 8 || x == 0x20000 || x == 0x20008;
        if (vic_confine_personality_denied(x) == ok)
            fail_msg("persona 0x%llx: denied=%d", (unsigned long long)x, !ok);
    }
    for (int i = 0; i < 32; i++) { /* single bits, and all-ones with one bit cleared */
        uint64_t one = UINT64_C(1) << i, hole = 0xffffffffu & ~one;
        assert_true(vic_confine_personality_denied(one) == (i != 3 && i != 17));
        assert_true(vic_confine_personality_denied(hole));
    }
    assert_true(vic_confine_personality_denied(UINT64_C(0x100000000)));
    assert_true(vic_confine_personality_denied(UINT64_C(0x1ffffffff)));
    assert_true(vic_confine_personality_denied(0xfffffff7u));
}

/* In a child: applies c and reports errno of a few calls. */
static void confined_child(const vic_confine *c, int fd)
{
    char why[300];
    if (vic_confine_enter(c, why, sizeof(why)) < 0 || vic_confine_finish(c, why, sizeof(why)) < 0) {
        dprintf(fd, "fail %s\n", why);
        _exit(1);
    }
    long r = syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 0);
    dprintf(fd, "keyctl %d\n", r < 0 ? errno : 0);
    r = syscall(SYS_personality, 0x0040000UL /* ADDR_NO_RANDOMIZE */);
    dprintf(fd, "personality %d\n", r < 0 ? errno : 0);
    r = syscall(SYS_personality, 0xffffffffUL);
    dprintf(fd, "query %d\n", r < 0 ? errno : 0);
    r = syscall(SYS_getpid);
    dprintf(fd, "getpid %d\n", r < 0 ? errno : 0);
    dprintf(fd, "nnp %d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    dprintf(fd, "seccomp %d\n", prctl(PR_GET_SECCOMP, 0, 0, 0, 0));
    _exit(0);
}

static void run_confined(const vic_confine *c, char *out, size_t cap)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        confined_child(c, p[1]);
    }
    close(p[1]);
    size_t n = 0;
    ssize_t r;
    while (n < cap - 1 && (r = read(p[0], out + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = '\0';
    close(p[0]);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("child: %s", out);
}

static void test_confine_applies_the_filter(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip(); /* dropping from the bounding set needs CAP_SETPCAP */
    char out[512];
    vic_confine c = {.caps = VIC_CAPS_DOCKER_DEFAULT, .seccomp = true};
    run_confined(&c, out, sizeof(out));
    assert_non_null(strstr(out, "keyctl 1\n")); /* EPERM */
    assert_non_null(strstr(out, "personality 1\n"));
    assert_non_null(strstr(out, "query 0\n"));
    assert_non_null(strstr(out, "getpid 0\n"));
    assert_non_null(strstr(out, "nnp 0\n"));
    assert_non_null(strstr(out, "seccomp 2\n"));
    vic_confine off = {.caps = VIC_CAPS_DOCKER_DEFAULT, .seccomp = false, .no_new_privs = true};
    run_confined(&off, out, sizeof(out));
    assert_non_null(strstr(out, "personality 0\n"));
    assert_non_null(strstr(out, "nnp 1\n"));
    assert_non_null(strstr(out, "seccomp 0\n"));
}

/* The filter compiled when VIC-C was built is, byte for byte, what libseccomp builds here
 * for Docker's default set: loading it changes nothing but the time a start takes. */
static void test_precompiled_default_filter_matches(void **state)
{
    (void)state;
    const void *bpf = NULL;
    size_t len = 0;
    assert_true(vic_confine_default_program(&bpf, &len));
    int fd = memfd_create("filter", MFD_CLOEXEC);
    assert_true(fd >= 0);
    char why[256];
    assert_int_equal(vic_confine_export(VIC_CAPS_DOCKER_DEFAULT, fd, why, sizeof(why)), 0);
    off_t size = lseek(fd, 0, SEEK_END);
    assert_int_equal((size_t)size, len);
    unsigned char *built = malloc(len);
    assert_int_equal(pread(fd, built, len, 0), (ssize_t)len);
    assert_memory_equal(built, bpf, len);
    free(built);
    close(fd);
}

/* Signal names as Docker's stop signals and kill give them. */
static void test_signal_parse(void **state)
{
    (void)state;
    assert_int_equal(vic_signal_parse("TERM", 0), SIGTERM);
    assert_int_equal(vic_signal_parse("SIGKILL", 0), SIGKILL);
    assert_int_equal(vic_signal_parse("sigusr1", 0), SIGUSR1);
    assert_int_equal(vic_signal_parse("pwr", 0), SIGPWR);
    assert_int_equal(vic_signal_parse("9", 0), 9);
    assert_int_equal(vic_signal_parse("64", 0), 64);
    assert_int_equal(vic_signal_parse(NULL, SIGTERM), SIGTERM);
    assert_int_equal(vic_signal_parse("", SIGKILL), SIGKILL);
    assert_int_equal(vic_signal_parse("0", 0), -1);
    assert_int_equal(vic_signal_parse("65", 0), -1);
    assert_int_equal(vic_signal_parse("SIG", 0), -1);
    assert_int_equal(vic_signal_parse("FLY", 0), -1);
    assert_int_equal(vic_signal_parse("9x", 0), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_caps_names),
        cmocka_unit_test(test_signal_parse),
        cmocka_unit_test(test_caps_resolve_default_is_dockers),
        cmocka_unit_test(test_caps_resolve_add_and_drop),
        cmocka_unit_test(test_caps_resolve_refuses_unknown_names),
        cmocka_unit_test(test_caps_format_parse_round_trip),
        cmocka_unit_test(test_security_opts),
        cmocka_unit_test(test_session_confine_from_guestinfo),
        cmocka_unit_test(test_personality_rules_match_dockers),
        cmocka_unit_test(test_confine_applies_the_filter),
        cmocka_unit_test(test_precompiled_default_filter_matches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
