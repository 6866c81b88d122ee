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

#include "lib/tests/cli_capture.h"
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
    int argc = cli_argv(argv, 32, "docker-engine-server", args);
    cli_capture cap;
    cli_capture_begin(&cap);
    r->rc = engine_config_parse(&r->c, argc, argv, cap.out, cap.err);
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
    parse(&r, CLI_ARGS("--token-file", "/t"));
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
    parse(&r, CLI_ARGS("--listen", "127.77.0.2:2376", "--port-layer", "http://127.77.0.2:2377",
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
    char *usage = cli_usage_text(engine_config_usage);
    char *want = NULL;
    assert_true(asprintf(&want,
                         "docker-engine-server: --token-file is required, --tls-cert and "
                         "--tls-key go together, and --tls-ca needs them\n%s",
                         usage) > 0);
    const char *const *cases[] = {
        CLI_ARGS("--name", "vch1"),
        CLI_ARGS("--token-file", "/t", "--tls-cert", "c"),
        CLI_ARGS("--token-file", "/t", "--tls-key", "k"),
        CLI_ARGS("--token-file", "/t", "--tls-ca", "ca"),
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
    parse(&r, CLI_ARGS("--token-file", "/t", "--log-level", "verbose"));
    assert_int_equal(r.rc, 2);
    assert_string_equal(r.err, "docker-engine-server: --log-level: \"verbose\" is not one of "
                               "debug, info, warn, error\n");
    done(&r);

    parse(&r, CLI_ARGS("--token-file", "/t", "--publish", "x"));
    assert_int_equal(r.rc, 2);
    assert_string_equal(r.err, usage);
    done(&r);

    /* extra arguments are not looked at */
    parse(&r, CLI_ARGS("--token-file", "/t", "extra"));
    assert_int_equal(r.rc, VIC_SRVOPT_RUN);
    done(&r);

    parse(&r, CLI_ARGS("-h"));
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
