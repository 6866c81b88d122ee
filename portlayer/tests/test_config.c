/* port-layer-server's command line (portlayer/config): defaults, every option, and the exit
 * codes and messages of bad ones. */
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
#include "portlayer/config.h"

typedef struct run {
    pl_config c;
    int rc;
    char *out, *err;
} run;

static void parse(run *r, const char *const *args)
{
    char *argv[64];
    int argc = cli_argv(argv, 64, "port-layer-server", args);
    cli_capture cap;
    cli_capture_begin(&cap);
    r->rc = pl_config_parse(&r->c, argc, argv, cap.out, cap.err);
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
    unsetenv("VIC_HOME");
    run r;
    parse(&r, CLI_ARGS("--token-file", "/tok"));
    assert_int_equal(r.rc, VIC_SRVOPT_RUN);
    assert_string_equal(r.c.common.listen, "127.0.0.1:2377");
    assert_string_equal(r.c.common.token_file, "/tok");
    assert_int_equal(r.c.common.log_level, VIC_LOG_INFO);
    assert_string_equal(r.c.target, "local");
    assert_string_equal(r.c.home, "./var");
    assert_null(r.c.bin_dir);
    assert_string_equal(r.c.pool, "/ha-datacenter/host/local/Resources");
    assert_null(r.c.images_dir);
    assert_int_equal(r.c.n_stores, 0);
    assert_null(r.c.publish);
    assert_string_equal(r.c.bridge_range, "172.16.0.0/12");
    assert_string_equal(r.c.bridge_pg, "bridge");
    assert_null(r.c.network_dir);
    assert_int_equal(r.c.dns_port, 53);
    assert_string_equal(r.out, "");
    assert_string_equal(r.err, "");
    done(&r);

    setenv("VIC_HOME", "/srv/vic", 1);
    parse(&r, CLI_ARGS("--token-file", "/tok"));
    assert_string_equal(r.c.home, "/srv/vic");
    done(&r);
    unsetenv("VIC_HOME");
}

static void test_every_option(void **state)
{
    (void)state;
    run r;
    parse(&r, CLI_ARGS("--listen", "10.0.0.2:12377", "--token-file", "/tok", "--target", "esx",
                       "--home", "/h", "--bin-dir", "/b", "--pool", "/dc/host/h/Resources/vch",
                       "--images", "/img", "--log-level", "warn", "--volume-store",
                       "default=[ds1] vols", "--volume-store", "fast=[ssd] v", "--publish-address",
                       "10.0.0.3", "--bridge-range", "10.128.0.0/16", "--bridge-port-group", "pg",
                       "--network-dir", "/n", "--dns-port", "5353"));
    assert_int_equal(r.rc, VIC_SRVOPT_RUN);
    assert_string_equal(r.c.common.listen, "10.0.0.2:12377");
    assert_string_equal(r.c.target, "esx");
    assert_string_equal(r.c.home, "/h");
    assert_string_equal(r.c.bin_dir, "/b");
    assert_string_equal(r.c.pool, "/dc/host/h/Resources/vch");
    assert_string_equal(r.c.images_dir, "/img");
    assert_int_equal(r.c.common.log_level, VIC_LOG_WARN);
    assert_int_equal(r.c.n_stores, 2);
    assert_string_equal(r.c.stores[0], "default=[ds1] vols");
    assert_string_equal(r.c.stores[1], "fast=[ssd] v");
    assert_string_equal(r.c.publish, "10.0.0.3");
    assert_string_equal(r.c.bridge_range, "10.128.0.0/16");
    assert_string_equal(r.c.bridge_pg, "pg");
    assert_string_equal(r.c.network_dir, "/n");
    assert_int_equal(r.c.dns_port, 5353);
    done(&r);
}

static void test_help(void **state)
{
    (void)state;
    char *usage = cli_usage_text(pl_config_usage);
    assert_non_null(strstr(usage, "Usage: port-layer-server --token-file FILE [OPTIONS]\n"));
    assert_non_null(strstr(usage, "  --dns-port PORT      the name server's port on each gateway "
                                  "(default 53)\n"));
    run r;
    parse(&r, CLI_ARGS("--help")); /* no --token-file needed */
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.out, usage);
    assert_string_equal(r.err, "");
    done(&r);
    free(usage);
}

static void test_token_file_required(void **state)
{
    (void)state;
    char *usage = cli_usage_text(pl_config_usage);
    run r;
    parse(&r, CLI_ARGS("--listen", "127.0.0.1:1"));
    assert_int_equal(r.rc, 2);
    char *want = NULL;
    assert_true(asprintf(&want, "port-layer-server: --token-file is required\n%s", usage) > 0);
    assert_string_equal(r.err, want);
    assert_string_equal(r.out, "");
    free(want);
    done(&r);
    free(usage);
}

static void test_bad_dns_port(void **state)
{
    (void)state;
    const char *bad[] = {"0", "65536", "12x", "", "-53", " 53x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        run r;
        parse(&r, CLI_ARGS("--token-file", "/tok", "--dns-port", bad[i]));
        assert_int_equal(r.rc, 2);
        char *want = NULL;
        assert_true(
            asprintf(&want, "port-layer-server: --dns-port: \"%s\" is not a port\n", bad[i]) > 0);
        assert_string_equal(r.err, want);
        free(want);
        done(&r);
    }
    run r;
    parse(&r, CLI_ARGS("--token-file", "/tok", "--dns-port", "65535"));
    assert_int_equal(r.rc, VIC_SRVOPT_RUN);
    assert_int_equal(r.c.dns_port, 65535);
    done(&r);
}

static void test_too_many_volume_stores(void **state)
{
    (void)state;
    const char *args[2 * (PL_CONFIG_MAX_STORES + 1) + 3];
    size_t n = 0;
    args[n++] = "--token-file";
    args[n++] = "/tok";
    for (int i = 0; i <= PL_CONFIG_MAX_STORES; i++) {
        args[n++] = "--volume-store";
        args[n++] = "s=[ds] f";
    }
    args[n] = NULL;
    run r;
    parse(&r, args);
    assert_int_equal(r.rc, 2);
    assert_string_equal(r.err, "port-layer-server: at most 16 volume stores\n");
    done(&r);
}

static void test_bad_log_level_and_unknown(void **state)
{
    (void)state;
    run r;
    parse(&r, CLI_ARGS("--token-file", "/tok", "--log-level", "trace"));
    assert_int_equal(r.rc, 2);
    assert_string_equal(r.err, "port-layer-server: --log-level: \"trace\" is not one of debug, "
                               "info, warn, error\n");
    done(&r);

    char *usage = cli_usage_text(pl_config_usage);
    /* "--bridge" could be --bridge-range or --bridge-port-group */
    parse(&r, CLI_ARGS("--token-file", "/tok", "--bridge", "x"));
    assert_int_equal(r.rc, 2);
    assert_string_equal(r.err, usage);
    done(&r);
    parse(&r, CLI_ARGS("--tls-cert", "c"));
    assert_int_equal(r.rc, 2);
    done(&r);
    free(usage);
}

/* --insecure-registry (repeatable, HOST[:PORT] only) and --registry-ca */
static void test_registries(void **state)
{
    (void)state;
    run r;
    parse(&r, CLI_ARGS("--token-file", "/tok", "--insecure-registry", "127.0.0.9:5000",
                       "--insecure-registry", "[::2]:5000", "--registry-ca", "/etc/ca.pem"));
    assert_int_equal(r.rc, VIC_SRVOPT_RUN);
    assert_int_equal(r.c.n_insecure, 2);
    assert_string_equal(r.c.insecure[0], "127.0.0.9:5000");
    assert_string_equal(r.c.insecure[1], "[::2]:5000");
    assert_string_equal(r.c.registry_ca, "/etc/ca.pem");
    done(&r);
    parse(&r, CLI_ARGS("--token-file", "/tok", "--insecure-registry", "http://r:5000/x"));
    assert_int_equal(r.rc, 2);
    assert_non_null(strstr(r.err, "--insecure-registry: \"http://r:5000/x\" is not HOST[:PORT]"));
    done(&r);
}

static void test_publish_ip(void **state)
{
    (void)state;
    char buf[64];
    vic_err *err = NULL;
    pl_config c = {.common = {.listen = "192.168.1.5:2377"}};
    assert_int_equal(pl_config_publish_ip(&c, buf, sizeof(buf), &err), 0);
    assert_string_equal(buf, "192.168.1.5");
    c.publish = "10.1.2.3";
    assert_int_equal(pl_config_publish_ip(&c, buf, sizeof(buf), &err), 0);
    assert_string_equal(buf, "10.1.2.3");
    c.publish = "example.com";
    assert_int_equal(pl_config_publish_ip(&c, buf, sizeof(buf), &err), -1);
    assert_string_equal(err->msg, "--publish-address: example.com is not an IPv4 address");
    vic_err_free(&err);
    c.publish = "::1";
    assert_int_equal(pl_config_publish_ip(&c, buf, sizeof(buf), &err), -1);
    vic_err_free(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_every_option),
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_token_file_required),
        cmocka_unit_test(test_bad_dns_port),
        cmocka_unit_test(test_too_many_volume_stores),
        cmocka_unit_test(test_bad_log_level_and_unknown),
        cmocka_unit_test(test_publish_ip),
        cmocka_unit_test(test_registries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
