/* The servers' shared command line (lib/srvopt): defaults, the shared options, a server's own
 * options through the hook, --help, and the exit codes and messages of bad ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/srvopt.h"

static void usage(FILE *f)
{
    fprintf(f, "Usage: test-server [OPTIONS]\n");
}

typedef struct own {
    const char *name;
    int calls;
} own;

static int option(int c, const char *arg, void *payload, FILE *out, FILE *err)
{
    own *o = payload;
    o->calls++;
    if (c == 'n') {
        if (strcmp(arg, "bad") == 0) {
            fprintf(err, "test-server: --name: \"%s\" is bad\n", arg);
            return 2;
        }
        o->name = arg;
        return VIC_SRVOPT_RUN;
    }
    if (c == 'V') {
        fprintf(out, "test-server v1\n");
        return 0;
    }
    return 3; /* not reached: getopt_long returns only the table's codes */
}

static const struct option longopts[] = {
    VIC_SRVOPT_LISTEN,     {"name", required_argument, NULL, 'n'},
    VIC_SRVOPT_TOKEN_FILE, VIC_SRVOPT_TLS_CERT,
    VIC_SRVOPT_TLS_KEY,    VIC_SRVOPT_TLS_CA,
    VIC_SRVOPT_LOG_LEVEL,  {"version", no_argument, NULL, 'V'},
    VIC_SRVOPT_HELP,       {NULL, 0, NULL, 0},
};

/* One parse, with out and err captured. */
typedef struct run {
    vic_srvopt o;
    own own;
    int rc;
    char *out, *err;
} run;

static void parse(run *r, const char *const *args)
{
    char *argv[32];
    int argc = 0;
    argv[argc++] = (char *)"test-server";
    for (; *args; args++)
        argv[argc++] = (char *)*args;
    argv[argc] = NULL;
    size_t olen = 0, elen = 0;
    FILE *out = open_memstream(&r->out, &olen), *err = open_memstream(&r->err, &elen);
    assert_non_null(out);
    assert_non_null(err);
    memset(&r->own, 0, sizeof(r->own));
    vic_srvopt_spec spec = {.prog = "test-server",
                            .longopts = longopts,
                            .usage = usage,
                            .listen_default = "127.0.0.1:2375",
                            .option = option,
                            .payload = &r->own,
                            .out = out,
                            .err = err};
    r->rc = vic_srvopt_parse(&r->o, &spec, argc, argv);
    fclose(out);
    fclose(err);
}

static void done(run *r)
{
    free(r->out);
    free(r->err);
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

static void test_defaults(void **state)
{
    (void)state;
    run r;
    parse(&r, (const char *const[]){NULL});
    assert_int_equal(r.rc, VIC_SRVOPT_RUN);
    assert_string_equal(r.o.listen, "127.0.0.1:2375");
    assert_null(r.o.token_file);
    assert_null(r.o.tls_cert);
    assert_null(r.o.tls_key);
    assert_null(r.o.tls_ca);
    assert_int_equal(r.o.log_level, VIC_LOG_INFO);
    assert_int_equal(r.o.argind, 1);
    assert_int_equal(r.own.calls, 0);
    assert_string_equal(r.out, "");
    assert_string_equal(r.err, "");
    done(&r);
}

static void test_shared_and_own(void **state)
{
    (void)state;
    run r;
    parse(&r, ARGS("--listen", "0.0.0.0:2376", "--token-file", "/t", "--tls-cert", "c.pem",
                   "--tls-key=k.pem", "--tls-ca", "ca.pem", "--log-level", "debug", "--name",
                   "vch1", "rest"));
    assert_int_equal(r.rc, VIC_SRVOPT_RUN);
    assert_string_equal(r.o.listen, "0.0.0.0:2376");
    assert_string_equal(r.o.token_file, "/t");
    assert_string_equal(r.o.tls_cert, "c.pem");
    assert_string_equal(r.o.tls_key, "k.pem");
    assert_string_equal(r.o.tls_ca, "ca.pem");
    assert_int_equal(r.o.log_level, VIC_LOG_DEBUG);
    assert_string_equal(r.own.name, "vch1");
    assert_int_equal(r.own.calls, 1);
    assert_int_equal(r.o.argind, 14); /* "rest" */
    assert_string_equal(r.err, "");
    done(&r);
}

static void test_later_wins_and_prefixes(void **state)
{
    (void)state;
    run r;
    /* a unique prefix names its option; the last of a repeated option counts */
    parse(&r, ARGS("--lis", "a:1", "--listen", "b:2", "--log-l", "error", "--tok", "/x"));
    assert_int_equal(r.rc, VIC_SRVOPT_RUN);
    assert_string_equal(r.o.listen, "b:2");
    assert_int_equal(r.o.log_level, VIC_LOG_ERROR);
    assert_string_equal(r.o.token_file, "/x");
    done(&r);
}

static void test_arguments_permuted(void **state)
{
    (void)state;
    run r;
    parse(&r, ARGS("extra", "--listen", "x:1"));
    assert_int_equal(r.rc, VIC_SRVOPT_RUN);
    assert_string_equal(r.o.listen, "x:1");
    assert_int_equal(r.o.argind, 3); /* getopt_long moved "extra" after the options */
    done(&r);
}

static void test_help(void **state)
{
    (void)state;
    const char *const *cases[] = {ARGS("--help"), ARGS("-h"), ARGS("--he"),
                                  ARGS("--help", "--bogus"), ARGS("--listen", "x", "-h", "y")};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        run r;
        parse(&r, cases[i]);
        assert_int_equal(r.rc, 0);
        assert_string_equal(r.out, "Usage: test-server [OPTIONS]\n");
        assert_string_equal(r.err, "");
        done(&r);
    }
}

static void test_bad_log_level(void **state)
{
    (void)state;
    run r;
    parse(&r, ARGS("--log-level", "loud", "--help"));
    assert_int_equal(r.rc, 2);
    assert_string_equal(r.out, "");
    assert_string_equal(r.err, "test-server: --log-level: \"loud\" is not one of debug, info, "
                               "warn, error\n");
    done(&r);
}

static void test_rejected_by_getopt(void **state)
{
    (void)state;
    /* getopt_long says why on stderr; then the usage, on err, and exit code 2 */
    const char *const *cases[] = {ARGS("--bogus"), ARGS("--listen"), ARGS("--tls", "x"), ARGS("-x"),
                                  ARGS("--help=yes")};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        run r;
        parse(&r, cases[i]);
        assert_int_equal(r.rc, 2);
        assert_string_equal(r.out, "");
        assert_string_equal(r.err, "Usage: test-server [OPTIONS]\n");
        assert_int_equal(r.own.calls, 0);
        done(&r);
    }
}

static void test_hook_ends_parse(void **state)
{
    (void)state;
    run r;
    parse(&r, ARGS("--name", "bad", "--name", "good"));
    assert_int_equal(r.rc, 2);
    assert_string_equal(r.err, "test-server: --name: \"bad\" is bad\n");
    assert_int_equal(r.own.calls, 1);
    done(&r);

    parse(&r, ARGS("--version", "--bogus"));
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.out, "test-server v1\n");
    assert_string_equal(r.err, "");
    done(&r);
}

static void test_no_hook(void **state)
{
    (void)state;
    static const struct option opts[] = {
        VIC_SRVOPT_LISTEN, {"own", no_argument, NULL, 'o'}, VIC_SRVOPT_HELP, {NULL, 0, NULL, 0}};
    char *out = NULL, *err = NULL;
    size_t ol = 0, el = 0;
    FILE *fo = open_memstream(&out, &ol), *fe = open_memstream(&err, &el);
    vic_srvopt_spec spec = {.prog = "p", .longopts = opts, .usage = usage, .out = fo, .err = fe};
    char *argv[] = {(char *)"p", (char *)"--own", NULL};
    vic_srvopt o;
    assert_int_equal(vic_srvopt_parse(&o, &spec, 2, argv), 2);
    fclose(fo);
    fclose(fe);
    assert_string_equal(err, "Usage: test-server [OPTIONS]\n");
    free(out);
    free(err);
}

static void test_parse_again(void **state)
{
    (void)state;
    run r;
    parse(&r, ARGS("--listen", "a:1", "x"));
    assert_int_equal(r.o.argind, 3);
    done(&r);
    parse(&r, ARGS("--listen", "b:2"));
    assert_int_equal(r.rc, VIC_SRVOPT_RUN);
    assert_string_equal(r.o.listen, "b:2");
    assert_int_equal(r.o.argind, 3);
    done(&r);
}

static void test_tls_ok(void **state)
{
    (void)state;
    vic_srvopt o = {0};
    assert_true(vic_srvopt_tls_ok(&o));
    o.tls_cert = "c";
    assert_false(vic_srvopt_tls_ok(&o));
    o.tls_key = "k";
    assert_true(vic_srvopt_tls_ok(&o));
    o.tls_ca = "ca";
    assert_true(vic_srvopt_tls_ok(&o));
    o.tls_cert = NULL;
    assert_false(vic_srvopt_tls_ok(&o));
    o.tls_key = NULL;
    assert_false(vic_srvopt_tls_ok(&o)); /* --tls-ca alone */
}

static void test_listen_host(void **state)
{
    (void)state;
    char buf[64], small[4];
    vic_srvopt o = {.listen = "127.0.0.1:2375"};
    assert_string_equal(vic_srvopt_listen_host(&o, buf, sizeof(buf)), "127.0.0.1");
    assert_string_equal(vic_srvopt_listen_host(&o, small, sizeof(small)), "127");
    o.listen = "host";
    assert_string_equal(vic_srvopt_listen_host(&o, buf, sizeof(buf)), "host");
    o.listen = NULL;
    assert_string_equal(vic_srvopt_listen_host(&o, buf, sizeof(buf)), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_shared_and_own),
        cmocka_unit_test(test_later_wins_and_prefixes),
        cmocka_unit_test(test_arguments_permuted),
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_bad_log_level),
        cmocka_unit_test(test_rejected_by_getopt),
        cmocka_unit_test(test_hook_ends_parse),
        cmocka_unit_test(test_no_hook),
        cmocka_unit_test(test_parse_again),
        cmocka_unit_test(test_tls_ok),
        cmocka_unit_test(test_listen_host),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
