/* vicadmin's command line (vicadmin/config): every option into va_options, what is required,
 * and the exit codes and messages of bad command lines. */
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
#include "vicadmin/config.h"

typedef struct run {
    va_config c;
    int rc;
    char *out, *err;
} run;

static void parse(run *r, const char *const *args)
{
    char *argv[96];
    int argc = cli_argv(argv, 96, "vicadmin", args);
    cli_capture cap;
    cli_capture_begin(&cap);
    r->rc = va_config_parse(&r->c, argc, argv, cap.out, cap.err);
    cli_capture_end(&cap);
    r->out = cap.out_text;
    r->err = cap.err_text;
}

static void done(run *r)
{
    free(r->out);
    free(r->err);
}

static void test_minimal(void **state)
{
    (void)state;
    run r;
    parse(&r, CLI_ARGS("--listen", "127.77.0.2:2378"));
    assert_int_equal(r.rc, VIC_SRVOPT_RUN);
    assert_string_equal(r.c.common.listen, "127.77.0.2:2378");
    assert_int_equal(r.c.common.log_level, VIC_LOG_INFO);
    assert_string_equal(r.c.o.dir, ".");
    assert_null(r.c.o.name);
    assert_null(r.c.o.passwd_file);
    assert_null(r.c.o.token_file);
    assert_null(r.c.o.ui_dir);
    assert_int_equal(r.c.o.docker_tls, 0);
    assert_int_equal(r.c.o.n_registries, 0);
    assert_string_equal(r.out, "");
    assert_string_equal(r.err, "");
    done(&r);
}

static void test_every_option(void **state)
{
    (void)state;
    run r;
    parse(&r, CLI_ARGS("--listen", "127.77.0.2:2378", "--tls-cert", "c.pem", "--tls-key", "k.pem",
                       "--tls-ca", "ca.pem", "--passwd-file", "pw", "--name", "adm", "--home", "/h",
                       "--pool", "/p", "--images", "/i", "--docker", "127.77.0.2:2376",
                       "--port-layer", "http://127.77.0.2:2377", "--token-file", "/t", "--registry",
                       "r1:5000", "--registry", "r2", "--ui-dir", "/ui", "--log-level", "warn"));
    assert_int_equal(r.rc, VIC_SRVOPT_RUN);
    const va_options *o = &r.c.o;
    assert_string_equal(r.c.common.tls_cert, "c.pem");
    assert_string_equal(r.c.common.tls_key, "k.pem");
    assert_string_equal(r.c.common.tls_ca, "ca.pem");
    assert_int_equal(o->docker_tls, 1);
    assert_string_equal(o->passwd_file, "pw");
    assert_string_equal(o->name, "adm");
    assert_string_equal(o->home, "/h");
    assert_string_equal(o->pool, "/p");
    assert_string_equal(o->images, "/i");
    assert_string_equal(o->docker, "127.77.0.2:2376");
    assert_string_equal(o->port_layer, "http://127.77.0.2:2377");
    assert_string_equal(o->token_file, "/t");
    assert_int_equal(o->n_registries, 2);
    assert_string_equal(o->registries[0], "r1:5000");
    assert_string_equal(o->registries[1], "r2");
    assert_string_equal(o->ui_dir, "/ui");
    assert_int_equal(r.c.common.log_level, VIC_LOG_WARN);
    done(&r);
}

static void test_registries_beyond_the_limit_are_ignored(void **state)
{
    (void)state;
    const char *args[2 * (VA_CONFIG_MAX_REGISTRIES + 2) + 3];
    size_t n = 0;
    args[n++] = "--listen";
    args[n++] = "127.0.0.1:2378";
    for (int i = 0; i < VA_CONFIG_MAX_REGISTRIES + 2; i++) {
        args[n++] = "--registry";
        args[n++] = i < VA_CONFIG_MAX_REGISTRIES ? "kept" : "dropped";
    }
    args[n] = NULL;
    run r;
    parse(&r, args);
    assert_int_equal(r.rc, VIC_SRVOPT_RUN);
    assert_int_equal(r.c.o.n_registries, VA_CONFIG_MAX_REGISTRIES);
    for (size_t i = 0; i < r.c.o.n_registries; i++)
        assert_string_equal(r.c.o.registries[i], "kept");
    done(&r);
}

static void test_bad_command_lines(void **state)
{
    (void)state;
    char *usage = cli_usage_text(va_config_usage);
    char *want = NULL;
    assert_true(asprintf(&want,
                         "vicadmin: --listen is required, --tls-cert and --tls-key go together, "
                         "and --tls-ca needs them\n%s",
                         usage) > 0);
    const char *const *cases[] = {
        CLI_ARGS("--name", "adm"),
        CLI_ARGS("--listen", "a:1", "--tls-cert", "c"),
        CLI_ARGS("--listen", "a:1", "--tls-key", "k"),
        CLI_ARGS("--listen", "a:1", "--tls-ca", "ca"),
        CLI_ARGS("--listen", "a:1", "extra"),
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        run r;
        parse(&r, cases[i]);
        assert_int_equal(r.rc, 2);
        assert_string_equal(r.err, want);
        assert_string_equal(r.out, "");
        done(&r);
    }
    free(want);

    run r;
    parse(&r, CLI_ARGS("--listen", "a:1", "--log-level", "chatty"));
    assert_int_equal(r.rc, 2);
    assert_string_equal(
        r.err, "vicadmin: --log-level: \"chatty\" is not one of debug, info, warn, error\n");
    done(&r);

    parse(&r, CLI_ARGS("--listen", "a:1", "--bogus"));
    assert_int_equal(r.rc, 2);
    assert_string_equal(r.err, usage);
    done(&r);

    parse(&r, CLI_ARGS("--help"));
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.out, usage);
    assert_string_equal(r.err, "");
    done(&r);
    assert_non_null(strstr(usage, "Usage: vicadmin --listen ADDR:PORT [OPTIONS]\n\n"));
    free(usage);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal),
        cmocka_unit_test(test_every_option),
        cmocka_unit_test(test_registries_beyond_the_limit_are_ignored),
        cmocka_unit_test(test_bad_command_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
