/* docker-engine-server's command line (personality/config): defaults, every option, and the
 * exit codes and messages of bad command lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "personality/config.h"

typedef struct run {
    engine_config c;
    int rc;
    char *out, *err;
} run;

static void parse(run *r, const char *const *args)
{
    char *argv[32];
    int argc = 0;
    argv[argc++] = (char *)"docker-engine-server";
    for (; *args; args++)
        argv[argc++] = (char *)*args;
    argv[argc] = NULL;
    size_t ol = 0, el = 0;
    FILE *out = open_memstream(&r->out, &ol), *err = open_memstream(&r->err, &el);
    r->rc = engine_config_parse(&r->c, argc, argv, out, err);
    fclose(out);
    fclose(err);
}

static void done(run *r)
{
    free(r->out);
    free(r->err);
}

static char *usage_text(void)
{
    char *s = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&s, &len);
    engine_config_usage(f);
    fclose(f);
    return s;
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

static void test_defaults(void **state)
{
    (void)state;
    run r;
    parse(&r, ARGS("--token-file", "/t"));
    assert_int_equal(r.rc, VIC_SRVOPT_RUN);
    assert_string_equal(r.c.common.listen, "127.0.0.1:2375");
    assert_string_equal(r.c.common.token_file, "/t");
    assert_null(r.c.common.tls_cert);
    assert_int_equal(r.c.common.log_level, VIC_LOG_INFO);
    assert_string_equal(r.c.pl_url, "http://127.0.0.1:2377");
    assert_string_equal(r.c.name, "virtual-container-host");
    assert_string_equal(r.out, "");
    assert_string_equal(r.err, "");
    done(&r);
}

static void test_every_option(void **state)
{
    (void)state;
    run r;
    parse(&r, ARGS("--listen", "127.77.0.2:2376", "--port-layer", "http://127.77.0.2:2377",
                   "--token-file", "/t", "--name", "vch1", "--tls-cert", "c.pem", "--tls-key",
                   "k.pem", "--tls-ca", "ca.pem", "--log-level", "debug"));
    assert_int_equal(r.rc, VIC_SRVOPT_RUN);
    assert_string_equal(r.c.common.listen, "127.77.0.2:2376");
    assert_string_equal(r.c.pl_url, "http://127.77.0.2:2377");
    assert_string_equal(r.c.name, "vch1");
    assert_string_equal(r.c.common.tls_cert, "c.pem");
    assert_string_equal(r.c.common.tls_key, "k.pem");
    assert_string_equal(r.c.common.tls_ca, "ca.pem");
    assert_int_equal(r.c.common.log_level, VIC_LOG_DEBUG);
    done(&r);
}

static void test_bad_command_lines(void **state)
{
    (void)state;
    char *usage = usage_text();
    char *want = NULL;
    assert_true(asprintf(&want,
                         "docker-engine-server: --token-file is required, --tls-cert and "
                         "--tls-key go together, and --tls-ca needs them\n%s",
                         usage) > 0);
    const char *const *cases[] = {
        ARGS("--name", "vch1"),
        ARGS("--token-file", "/t", "--tls-cert", "c"),
        ARGS("--token-file", "/t", "--tls-key", "k"),
        ARGS("--token-file", "/t", "--tls-ca", "ca"),
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        run r;
        parse(&r, cases[i]);
        assert_int_equal(r.rc, 2);
        assert_string_equal(r.err, want);
        done(&r);
    }
    free(want);

    run r;
    parse(&r, ARGS("--token-file", "/t", "--log-level", "verbose"));
    assert_int_equal(r.rc, 2);
    assert_string_equal(r.err, "docker-engine-server: --log-level: \"verbose\" is not one of "
                               "debug, info, warn, error\n");
    done(&r);

    parse(&r, ARGS("--token-file", "/t", "--publish", "x"));
    assert_int_equal(r.rc, 2);
    assert_string_equal(r.err, usage);
    done(&r);

    /* extra arguments are not looked at */
    parse(&r, ARGS("--token-file", "/t", "extra"));
    assert_int_equal(r.rc, VIC_SRVOPT_RUN);
    done(&r);

    parse(&r, ARGS("-h"));
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.out, usage);
    assert_string_equal(r.err, "");
    done(&r);
    assert_non_null(strstr(
        usage, "Usage: docker-engine-server --port-layer URL --token-file FILE [OPTIONS]\n"));
    free(usage);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_every_option),
        cmocka_unit_test(test_bad_command_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
