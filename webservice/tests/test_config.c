/* vic-webservice's command line and start-up (webservice/config): defaults, every option,
 * the messages of bad values, the home directory's default and lock, and the banner. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/tests/cli_capture.h"
#include "lib/cleanup.h"
#include "lib/file.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/version.h"
#include "webservice/config.h"

typedef struct run {
    ws_config c;
    int rc;
    char *out, *err;
} run;

static void parse(run *r, const char *const *args)
{
    char *argv[64];
    int argc = cli_argv(argv, 64, "vic-webservice", args);
    cli_capture cap;
    cli_capture_begin(&cap);
    r->rc = ws_config_parse(&r->c, argc, argv, cap.out, cap.err);
    cli_capture_end(&cap);
    r->out = cap.out_text;
    r->err = cap.err_text;
}

static void done(run *r)
{
    free(r->out);
    free(r->err);
}

static void test_defaults(void **state)
{
    (void)state;
    run r;
    parse(&r, CLI_NO_ARGS);
    assert_int_equal(r.rc, VIC_SRVOPT_RUN);
    assert_string_equal(r.c.opt.listen, "127.0.0.1:8443");
    assert_int_equal(r.c.opt.no_tls, 0);
    assert_int_equal(r.c.opt.max_body, 1024 * 1024);
    assert_int_equal(r.c.opt.threads, 0);
    assert_int_equal(r.c.opt.session_idle, 30 * 60);
    assert_int_equal(r.c.opt.session_absolute, 12 * 3600);
    assert_int_equal(r.c.opt.n_vsphere_targets, 0);
    assert_null(r.c.opt.appliance_iso);
    assert_int_equal(r.c.opt.audit_days, 0);
    assert_int_equal(r.c.opt.audit_max_rows, 0);
    assert_null(r.c.opt.home);
    assert_null(r.c.home_arg);
    assert_null(r.c.log_file);
    assert_null(r.c.ui_dir_arg);
    assert_int_equal(r.c.common.log_level, VIC_LOG_INFO);
    assert_string_equal(r.out, "");
    assert_string_equal(r.err, "");
    done(&r);
}

static void test_every_option(void **state)
{
    (void)state;
    run r;
    parse(&r, CLI_ARGS("--listen", "0.0.0.0:9443", "--home", "/h1", "--home", "/h2", "--no-tls",
                       "--max-body", "1073741824", "--threads", "256", "--log-level", "debug",
                       "--log-file", "/l", "--ui-dir", "/ui", "--vsphere-target", "vc.example",
                       "--vsphere-target", "esx:8443", "--appliance-iso", "/a.iso",
                       "--audit-retention-days", "36500", "--audit-max-rows", "100000000"));
    assert_int_equal(r.rc, VIC_SRVOPT_RUN);
    assert_string_equal(r.c.opt.listen, "0.0.0.0:9443");
    assert_string_equal(r.c.home_arg, "/h2");
    assert_int_equal(r.c.opt.no_tls, 1);
    assert_int_equal(r.c.opt.max_body, 1073741824);
    assert_int_equal(r.c.opt.threads, 256);
    assert_int_equal(r.c.common.log_level, VIC_LOG_DEBUG);
    assert_string_equal(r.c.log_file, "/l");
    assert_string_equal(r.c.ui_dir_arg, "/ui");
    assert_int_equal(r.c.opt.n_vsphere_targets, 2);
    assert_string_equal(r.c.opt.vsphere_targets[0], "vc.example");
    assert_string_equal(r.c.opt.vsphere_targets[1], "esx:8443");
    assert_string_equal(r.c.opt.appliance_iso, "/a.iso");
    assert_int_equal(r.c.opt.audit_days, 36500);
    assert_int_equal(r.c.opt.audit_max_rows, 100000000);
    assert_string_equal(r.err, "");
    done(&r);
}

/* Each bad value ends the parse with exit code 2 and exactly this message. */
static void test_bad_values(void **state)
{
    (void)state;
    static const struct {
        const char *opt, *val, *msg;
    } cases[] = {
        {"--max-body", "0",
         "vic-webservice: --max-body: \"0\" is not a size between 1 and 1073741824 bytes\n"},
        {"--max-body", "1073741825",
         "vic-webservice: --max-body: \"1073741825\" is not a size between 1 and 1073741824 "
         "bytes\n"},
        {"--max-body", "-1",
         "vic-webservice: --max-body: \"-1\" is not a size between 1 and 1073741824 bytes\n"},
        {"--threads", "257", "vic-webservice: --threads: \"257\" is not between 1 and 256\n"},
        {"--threads", "4x", "vic-webservice: --threads: \"4x\" is not between 1 and 256\n"},
        {"--threads", "", "vic-webservice: --threads: \"\" is not between 1 and 256\n"},
        {"--log-level", "all",
         "vic-webservice: --log-level: \"all\" is not one of debug, info, warn, error\n"},
        {"--vsphere-target", "local",
         "vic-webservice: --vsphere-target: \"local\" is not a HOST[:PORT] (at most 16 of "
         "them)\n"},
        {"--vsphere-target", "",
         "vic-webservice: --vsphere-target: \"\" is not a HOST[:PORT] (at most 16 of them)\n"},
        {"--vsphere-target", "user@vc",
         "vic-webservice: --vsphere-target: \"user@vc\" is not a HOST[:PORT] (at most 16 of "
         "them)\n"},
        {"--vsphere-target", "vc/sdk",
         "vic-webservice: --vsphere-target: \"vc/sdk\" is not a HOST[:PORT] (at most 16 of "
         "them)\n"},
        {"--audit-retention-days", "36501",
         "vic-webservice: --audit-retention-days: \"36501\" is not a number between 1 and "
         "36500\n"},
        {"--audit-max-rows", "0",
         "vic-webservice: --audit-max-rows: \"0\" is not a number between 1 and 100000000\n"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        run r;
        parse(&r, CLI_ARGS(cases[i].opt, cases[i].val, "--help"));
        assert_int_equal(r.rc, 2);
        assert_string_equal(r.err, cases[i].msg);
        assert_string_equal(r.out, "");
        done(&r);
    }
}

static void test_too_many_targets(void **state)
{
    (void)state;
    const char *args[2 * (WS_MAX_VSPHERE_TARGETS + 1) + 1];
    char names[WS_MAX_VSPHERE_TARGETS + 1][16];
    size_t n = 0;
    for (int i = 0; i <= WS_MAX_VSPHERE_TARGETS; i++) {
        snprintf(names[i], sizeof(names[i]), "h%d", i + 1);
        args[n++] = "--vsphere-target";
        args[n++] = names[i];
    }
    args[n] = NULL;
    run r;
    parse(&r, args);
    assert_int_equal(r.rc, 2);
    assert_string_equal(r.err, "vic-webservice: --vsphere-target: \"h17\" is not a HOST[:PORT] "
                               "(at most 16 of them)\n");
    done(&r);
}

static void test_help_version_and_arguments(void **state)
{
    (void)state;
    char *usage = cli_usage_text(ws_config_usage);
    assert_non_null(strstr(usage, "Usage: vic-webservice [OPTIONS]\n"));
    run r;
    parse(&r, CLI_ARGS("--help"));
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.out, usage);
    assert_string_equal(r.err, "");
    done(&r);

    parse(&r, CLI_ARGS("--version", "--bogus"));
    assert_int_equal(r.rc, 0);
    cleanup_free char *want = xasprintf("vic-webservice %s\n", vic_version());
    assert_string_equal(r.out, want);
    done(&r);

    parse(&r, CLI_ARGS("--no-tls", "serve"));
    assert_int_equal(r.rc, 2);
    cleanup_free char *unexpected =
        xasprintf("vic-webservice: unexpected argument \"serve\"\n%s", usage);
    assert_string_equal(r.err, unexpected);
    done(&r);

    /* "--audit" could be either audit option */
    parse(&r, CLI_ARGS("--audit", "3"));
    assert_int_equal(r.rc, 2);
    assert_string_equal(r.err, usage);
    done(&r);
    free(usage);
}

static void test_parse_uint(void **state)
{
    (void)state;
    unsigned long long v = 7;
    assert_int_equal(ws_parse_uint("1", 10, &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(ws_parse_uint("10", 10, &v), 0);
    assert_int_equal(v, 10);
    assert_int_equal(ws_parse_uint(" 3", 10, &v), 0); /* strtoull skips leading blanks */
    assert_int_equal(v, 3);
    const char *bad[] = {"0", "11", "", "-1", " -1", "1x", "99999999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        v = 7;
        assert_int_equal(ws_parse_uint(bad[i], 10, &v), -1);
        assert_int_equal(v, 7);
    }
}

static void test_default_home(void **state)
{
    (void)state;
    const char *vh = getenv("VIC_HOME"), *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    char *saved[3] = {vh ? xstrdup(vh) : NULL, xdg ? xstrdup(xdg) : NULL,
                      home ? xstrdup(home) : NULL};
    char *h;
    setenv("VIC_HOME", "/v", 1);
    setenv("XDG_DATA_HOME", "/x", 1);
    setenv("HOME", "/u", 1);
    assert_string_equal(h = ws_default_home(), "/v");
    free(h);
    setenv("VIC_HOME", "", 1);
    assert_string_equal(h = ws_default_home(), "/x/vic");
    free(h);
    unsetenv("VIC_HOME");
    unsetenv("XDG_DATA_HOME");
    assert_string_equal(h = ws_default_home(), "/u/.local/share/vic");
    free(h);
    setenv("XDG_DATA_HOME", "", 1);
    unsetenv("HOME");
    assert_string_equal(h = ws_default_home(), "./.local/share/vic");
    free(h);
    const char *names[3] = {"VIC_HOME", "XDG_DATA_HOME", "HOME"};
    for (int i = 0; i < 3; i++) {
        if (saved[i])
            setenv(names[i], saved[i], 1);
        else
            unsetenv(names[i]);
        free(saved[i]);
    }
}

static void test_lock_home(void **state)
{
    (void)state;
    char root[] = "/tmp/vic-test-config-XXXXXX";
    assert_non_null(mkdtemp(root));
    cleanup_free char *home = xasprintf("%s/home", root);
    char *msg = NULL;
    size_t len = 0;
    FILE *err;
    err = open_memstream(&msg, &len);
    int fd = -1, fd2 = -1;
    assert_int_equal(ws_lock_home(home, &fd, err), 0); /* creates home */
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(stat(home, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    cleanup_free char *lock = xasprintf("%s/webservice.lock", home);
    char *pid = NULL;
    vic_err *e = NULL;
    assert_int_equal(vic_file_read(&pid, NULL, lock, 64, &e), 0);
    cleanup_free char *want_pid = xasprintf("%ld\n", (long)getpid());
    assert_string_equal(pid, want_pid);
    free(pid);

    /* a second holder is told who has it */
    assert_int_equal(ws_lock_home(home, &fd2, err), -1);
    assert_int_equal(fd2, -1);
    fclose(err);
    cleanup_free char *want = xasprintf(
        "vic-webservice: %s is in use by another vic-webservice (pid %ld)\n", home, (long)getpid());
    assert_string_equal(msg, want);
    free(msg);

    /* released with its descriptor */
    close(fd);
    err = open_memstream(&msg, &len);
    assert_int_equal(ws_lock_home(home, &fd2, err), 0);
    close(fd2);

    /* a home whose parent is missing */
    cleanup_free char *deep = xasprintf("%s/no/such", root);
    assert_int_equal(ws_lock_home(deep, &fd2, err), -1);
    fclose(err);
    cleanup_free char *want2 =
        xasprintf("vic-webservice: cannot create %s: No such file or directory\n", deep);
    assert_string_equal(msg, want2);
    free(msg);
    assert_int_equal(vic_rm_rf(root, &e), 0);
}

static char *banner(const ws_banner *b)
{
    char *s = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&s, &len);
    ws_config_banner(f, b);
    fclose(f);
    return s;
}

static void test_banner(void **state)
{
    (void)state;
    char ui[] = "/tmp/vic-test-banner-XXXXXX";
    assert_non_null(mkdtemp(ui));
    ws_options opt = {.listen = "0.0.0.0:8443", .home = "/h", .ui_dir = ui, .no_tls = 1};
    ws_banner b = {.opt = &opt, .port = 8443};
    char *s = banner(&b);
    cleanup_free char *want = xasprintf("vic-webservice %s\n"
                                        "  serving   http://0.0.0.0:8443/ (target: local)\n"
                                        "  home      /h\n"
                                        "  web UI    http://0.0.0.0:8443/ (files in %s)\n"
                                        "  login     user admin (password set at first start)\n",
                                        vic_version(), ui);
    assert_string_equal(s, want);
    free(s);

    opt.no_tls = 0;
    opt.listen = "127.0.0.1:0";
    opt.ui_dir = "/nonexistent/ui";
    opt.vsphere_targets[0] = "vc1";
    opt.vsphere_targets[1] = "esx:443";
    opt.n_vsphere_targets = 2;
    b.port = 40001;
    b.password = "s3cret";
    b.ca_path = "/h/tls/ca.pem";
    s = banner(&b);
    cleanup_free char *want2 = xasprintf(
        "vic-webservice %s\n"
        "  serving   https://127.0.0.1:40001/ (targets: local, vc1, esx:443)\n"
        "  home      /h\n"
        "  web UI    not installed: no directory /nonexistent/ui (make builds it; see --ui-dir)\n"
        "  login     user admin, password s3cret\n"
        "            (shown once; set VIC_ADMIN_PASSWORD before the first start to choose it)\n"
        "  try       curl --cacert /h/tls/ca.pem https://127.0.0.1:40001/container/version\n",
        vic_version());
    assert_string_equal(s, want2);
    free(s);
    rmdir(ui);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_every_option),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_too_many_targets),
        cmocka_unit_test(test_help_version_and_arguments),
        cmocka_unit_test(test_parse_uint),
        cmocka_unit_test(test_default_home),
        cmocka_unit_test(test_lock_home),
        cmocka_unit_test(test_banner),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
