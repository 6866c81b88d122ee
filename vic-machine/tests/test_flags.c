/*
 * vic-machine's flags: each command line into the spec (or changes, or delete options) the
 * engine takes, and each bad one into its exit code and the one line that says why.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/cleanup.h"
#include "lib/mem.h"
#include "vic-machine/flags.h"

/* A command line and the streams a parser writes to. */
typedef struct cli {
    char *argv[32];
    int argc;
    vm_common c;
    char *out_text, *err_text;
    size_t out_len, err_len;
} cli;

/* NULL-terminated words; argv[0] is the command. */
static void cli_vinit(cli *x, const char *cmd, va_list ap)
{
    memset(x, 0, sizeof(*x));
    x->argv[x->argc++] = xstrdup(cmd);
    const char *w;
    while ((w = va_arg(ap, const char *)) != NULL)
        x->argv[x->argc++] = xstrdup(w);
    x->c.target = "local";
    x->c.out = open_memstream(&x->out_text, &x->out_len);
    x->c.err = open_memstream(&x->err_text, &x->err_len);
}

static void cli_init(cli *x, const char *cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    cli_vinit(x, cmd, ap);
    va_end(ap);
}

static void cli_done(cli *x)
{
    fclose(x->c.out);
    fclose(x->c.err);
}

static void cli_free(cli *x)
{
    for (int i = 0; i < x->argc; i++)
        free(x->argv[i]);
    free(x->out_text);
    free(x->err_text);
    vic_free_secret(x->c.password);
}

/* create's spec for the words, compared with the JSON expected. */
static void expect_spec(const char *expected, ...)
{
    cli x;
    va_list ap;
    va_start(ap, expected);
    cli_vinit(&x, "create", ap);
    va_end(ap);
    json_t *spec cleanup_json = NULL;
    int rc = vm_create_flags(x.argc, x.argv, &x.c, &spec);
    cli_done(&x);
    if (rc != 0)
        fail_msg("create flags: %d: %s", rc, x.err_text);
    json_t *want cleanup_json = json_loads(expected, 0, NULL);
    assert_non_null(want);
    if (!json_equal(spec, want)) {
        cleanup_free char *got = json_dumps(spec, JSON_SORT_KEYS | JSON_COMPACT);
        fail_msg("got %s, expected %s", got, expected);
    }
    assert_int_equal(x.err_len, 0);
    cli_free(&x);
}

/* --registry-ca FILE carries the file's PEM text in the spec; an unreadable file is a usage
 * error naming it. */
static void test_create_registry_ca(void **state)
{
    (void)state;
    char path[] = "/tmp/test_flags_ca.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    static const char pem[] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    assert_int_equal(write(fd, pem, sizeof(pem) - 1), (ssize_t)(sizeof(pem) - 1));
    close(fd);
    json_t *want = json_pack("{s:s, s:{s:[s], s:[{s:s}]}}", "name", "v", "registry", "insecure",
                             "127.0.0.9:5000", "certificate_authorities", "pem", pem);
    cleanup_free char *want_s = json_dumps(want, JSON_COMPACT);
    json_decref(want);
    expect_spec(want_s, "--name", "v", "--insecure-registry", "127.0.0.9:5000", "--registry-ca",
                path, NULL);
    unlink(path);
    cli x;
    cli_init(&x, "create", "--name", "v", "--registry-ca", path, NULL);
    json_t *spec cleanup_json = NULL;
    assert_int_equal(vm_create_flags(x.argc, x.argv, &x.c, &spec), VM_EXIT_USAGE);
    cli_done(&x);
    assert_non_null(strstr(x.err_text, "--registry-ca"));
    assert_non_null(strstr(x.err_text, path));
    cli_free(&x);
}

static void test_create_defaults(void **state)
{
    (void)state;
    expect_spec("{\"name\":\"virtual-container-host\"}", NULL);
    expect_spec("{\"name\":\"v1\"}", "--name", "v1", NULL);
}

static void test_create_compute(void **state)
{
    (void)state;
    expect_spec("{\"name\":\"v\",\"compute\":{\"resource\":{\"name\":\"/dc/host/c\"},"
                "\"cpu\":{\"limit\":{\"value\":2048,\"units\":\"MHz\"},"
                "\"reservation\":{\"value\":500,\"units\":\"MHz\"}},"
                "\"memory\":{\"limit\":{\"value\":4096,\"units\":\"MiB\"},"
                "\"reservation\":{\"value\":512,\"units\":\"MiB\"}}}}",
                "--name", "v", "--compute-resource", "/dc/host/c", "--cpu", "2GHz",
                "--cpu-reservation", "500", "--memory", "4GB", "--memory-reservation", "512MiB",
                NULL);
}

static void test_create_places(void **state)
{
    (void)state;
    expect_spec("{\"name\":\"v\",\"storage\":{\"image_stores\":[\"ds1/imgs\"],"
                "\"volume_stores\":[{\"datastore\":\"ds1/vols\",\"label\":\"default\"},"
                "{\"datastore\":\"ds2/x\",\"label\":\"fast\"},"
                "{\"datastore\":\"ds://ds3/y\",\"label\":\"z\"}]},"
                "\"network\":{\"bridge\":{\"port_group\":{\"name\":\"br\"},"
                "\"ip_range\":\"172.20.0.0/16\"},"
                "\"public\":{\"port_group\":{\"name\":\"pub\"},\"static\":\"10.0.0.5/24\"}}}",
                "--name", "v", "--image-store", "ds1/imgs", "--volume-store", "ds1/vols:default",
                "--volume-store", "fast:ds2/x", "--volume-store", "ds://ds3/y:z",
                "--bridge-network", "br", "--bridge-network-range", "172.20.0.0/16",
                "--public-network", "pub", "--public-network-ip", "10.0.0.5/24", NULL);
}

static void test_create_endpoint_and_tls(void **state)
{
    (void)state;
    expect_spec("{\"name\":\"v\",\"endpoint\":{\"cpu\":{\"sockets\":2},"
                "\"memory\":{\"value\":1024,\"units\":\"MiB\"}},\"debug\":2,"
                "\"auth\":{\"server\":{\"generate\":{\"cname\":\"v.example\","
                "\"organization\":\"Org\",\"size\":4096}},\"client\":{\"no_tls_verify\":true}},"
                "\"registry\":{\"insecure\":[\"r1:5000\"]},"
                "\"syslog_addr\":\"tcp://log:514\"}",
                "--name", "v", "--endpoint-cpu", "2", "--endpoint-memory", "1GB", "--debug", "2",
                "--tls-cname", "v.example", "--organization", "Org", "--certificate-key-size",
                "4096", "--no-tlsverify", "--insecure-registry", "r1:5000", "--syslog-address",
                "tcp://log:514", NULL);
    /* --no-tlsverify alone still gets the generated server certificate */
    expect_spec("{\"name\":\"v\",\"auth\":{\"client\":{\"no_tls_verify\":true},"
                "\"server\":{\"generate\":{}}}}",
                "--name", "v", "--no-tlsverify", NULL);
    expect_spec("{\"name\":\"v\",\"auth\":{\"no_tls\":true}}", "--name", "v", "--no-tls", NULL);
}

static void test_create_run_options(void **state)
{
    (void)state;
    cli x;
    cli_init(&x, "create", "--target", "vc.example", "--user", "admin", "--password", "s3cret",
             "--thumbprint", "AA:BB", "--appliance-iso", "/a.iso", "--home", "/h", "--bin-dir",
             "/b", "--timeout", "90", "--json", "--force", NULL);
    json_t *spec cleanup_json = NULL;
    assert_int_equal(vm_create_flags(x.argc, x.argv, &x.c, &spec), 0);
    cli_done(&x);
    assert_string_equal(x.c.target, "vc.example");
    assert_string_equal(x.c.user, "admin");
    assert_string_equal(x.c.password, "s3cret");
    assert_string_equal(x.argv[6], ""); /* wiped from the command line */
    assert_string_equal(x.c.thumbprint, "AA:BB");
    assert_string_equal(x.c.appliance_iso, "/a.iso");
    assert_string_equal(x.c.home, "/h");
    assert_string_equal(x.c.bin_dir, "/b");
    assert_int_equal(x.c.timeout_s, 90);
    assert_int_equal(x.c.json, 1);
    cli_free(&x);
}

/* The words, the exit code and the exact problem line create reports. */
static void expect_create_error(const char *line, ...)
{
    cli x;
    va_list ap;
    va_start(ap, line);
    cli_vinit(&x, "create", ap);
    va_end(ap);
    json_t *spec = NULL;
    int rc = vm_create_flags(x.argc, x.argv, &x.c, &spec);
    cli_done(&x);
    assert_int_equal(rc, VM_EXIT_USAGE);
    assert_null(spec);
    assert_string_equal(x.err_text, line);
    assert_int_equal(x.out_len, 0);
    cli_free(&x);
}

static void test_create_bad_flags(void **state)
{
    (void)state;
    expect_create_error("vic-machine create: 12x: not a size\n", "--cpu", "12x", NULL);
    expect_create_error("vic-machine create: 0: not a size\n", "--memory", "0", NULL);
    expect_create_error("vic-machine create: 2TB: not a size\n", "--endpoint-memory", "2TB", NULL);
    expect_create_error("vic-machine create: --volume-store ds1/vols: expected "
                        "DATASTORE/PATH:LABEL\n",
                        "--volume-store", "ds1/vols", NULL);
    expect_create_error("vic-machine create: --timeout 0: not a number of seconds\n", "--timeout",
                        "0", NULL);
    expect_create_error("vic-machine create: unexpected argument extra\n", "--name", "v", "extra",
                        NULL);
}

/* Without --volume-store the spec says nothing of volume stores (the engine gives the
 * target's default); --no-volume-store asks for none, and contradicts --volume-store. */
static void test_create_volume_store_default_and_none(void **state)
{
    (void)state;
    expect_spec("{\"name\":\"v\"}", "--name", "v", NULL);
    expect_spec("{\"name\":\"v\",\"storage\":{\"volume_stores\":[]}}", "--name", "v",
                "--no-volume-store", NULL);
    expect_spec("{\"name\":\"v\",\"storage\":{\"volume_stores\":[]}}", "--name", "v",
                "--no-volume-store", "--no-volume-store", NULL);
    expect_create_error("vic-machine create: --volume-store and --no-volume-store contradict "
                        "each other\n",
                        "--no-volume-store", "--volume-store", "ds1/vols:default", NULL);
    expect_create_error("vic-machine create: --volume-store and --no-volume-store contradict "
                        "each other\n",
                        "--volume-store", "ds1/vols:default", "--no-volume-store", NULL);
}

static void test_create_help_and_unknown(void **state)
{
    (void)state;
    cli x;
    cli_init(&x, "create", "--help", NULL);
    json_t *spec = NULL;
    assert_int_equal(vm_create_flags(x.argc, x.argv, &x.c, &spec), VM_HELP);
    cli_done(&x);
    assert_null(spec);
    assert_non_null(strstr(x.out_text, "Usage: vic-machine create --name NAME [OPTIONS]"));
    assert_non_null(strstr(x.out_text, "Common options:"));
    assert_int_equal(x.err_len, 0);
    cli_free(&x);

    cli_init(&x, "create", "--bogus", NULL);
    assert_int_equal(vm_create_flags(x.argc, x.argv, &x.c, &spec), VM_EXIT_USAGE);
    cli_done(&x);
    assert_null(spec);
    /* getopt names the option on stderr; the usage follows on c->err */
    assert_non_null(strstr(x.err_text, "Usage: vic-machine create --name NAME [OPTIONS]"));
    cli_free(&x);
}

static void test_configure_flags(void **state)
{
    (void)state;
    cli x;
    cli_init(&x, "configure", "--name", "v", "--cpu", "1GHz", "--memory-reservation", "256",
             "--debug", "3", "--syslog-address", "udp://l:514", "--insecure-registry", "a",
             "--insecure-registry", "b", NULL);
    json_t *changes cleanup_json = NULL;
    assert_int_equal(vm_configure_flags(x.argc, x.argv, &x.c, &changes), 0);
    cli_done(&x);
    json_t *want cleanup_json = json_loads(
        "{\"compute\":{\"cpu\":{\"limit\":1024},\"memory\":{\"reservation\":256}},\"debug\":3,"
        "\"syslog_addr\":\"udp://l:514\",\"registry\":{\"insecure\":[\"a\",\"b\"]}}",
        0, NULL);
    assert_true(json_equal(changes, want));
    assert_string_equal(vm_vch_of(&x.c, "configure"), "v");
    cli_free(&x);

    json_t *none cleanup_json = NULL;
    cli_init(&x, "configure", "--id", "vch-1", NULL);
    assert_int_equal(vm_configure_flags(x.argc, x.argv, &x.c, &none), 0);
    cli_done(&x);
    assert_int_equal(json_object_size(none), 0);
    assert_string_equal(vm_vch_of(&x.c, "configure"), "vch-1");
    cli_free(&x);

    json_t *bad = NULL;
    cli_init(&x, "configure", "--name", "v", "--cpu", "lots", NULL);
    assert_int_equal(vm_configure_flags(x.argc, x.argv, &x.c, &bad), VM_EXIT_USAGE);
    cli_done(&x);
    assert_null(bad);
    assert_non_null(strstr(x.err_text, "Usage: vic-machine configure --name NAME [OPTIONS]"));
    cli_free(&x);
}

static void test_debug_flags(void **state)
{
    (void)state;
    cli x;
    cli_init(&x, "debug", "--name", "v", NULL);
    json_t *changes cleanup_json = NULL;
    assert_int_equal(vm_debug_flags(x.argc, x.argv, &x.c, &changes), 0);
    cli_done(&x);
    assert_int_equal(json_integer_value(json_object_get(changes, "debug")), 1);
    cli_free(&x);

    json_t *two cleanup_json = NULL;
    cli_init(&x, "debug", "--name", "v", "--level", "2", NULL);
    assert_int_equal(vm_debug_flags(x.argc, x.argv, &x.c, &two), 0);
    cli_done(&x);
    assert_int_equal(json_integer_value(json_object_get(two, "debug")), 2);
    cli_free(&x);
}

static void test_delete_flags(void **state)
{
    (void)state;
    cli x;
    vch_delete_opts o;
    cli_init(&x, "delete", "--name", "v", NULL);
    assert_int_equal(vm_delete_flags(x.argc, x.argv, &x.c, &o), 0);
    cli_done(&x);
    assert_int_equal(o.containers_all, 0);
    assert_int_equal(o.volume_stores_all, 0);
    cli_free(&x);

    cli_init(&x, "delete", "--name", "v", "--containers", "all", "--volume-stores", "all",
             "--timeout", "5", NULL);
    assert_int_equal(vm_delete_flags(x.argc, x.argv, &x.c, &o), 0);
    cli_done(&x);
    assert_int_equal(o.containers_all, 1);
    assert_int_equal(o.volume_stores_all, 1);
    cli_free(&x);

    cli_init(&x, "delete", "--name", "v", "--force", NULL);
    assert_int_equal(vm_delete_flags(x.argc, x.argv, &x.c, &o), 0);
    cli_done(&x);
    assert_int_equal(o.containers_all, 1);
    cli_free(&x);

    cli_init(&x, "delete", "--name", "v", "--containers", "some", NULL);
    assert_int_equal(vm_delete_flags(x.argc, x.argv, &x.c, &o), VM_EXIT_USAGE);
    cli_done(&x);
    assert_non_null(strstr(x.err_text, "Usage: vic-machine delete --name NAME [OPTIONS]"));
    cli_free(&x);
}

static void test_common_errors(void **state)
{
    (void)state;
    cli x;
    cli_init(&x, "inspect", "one", NULL);
    assert_int_equal(vm_parse_common(x.argc, x.argv, &x.c, NULL, 0, NULL, NULL, "inspect",
                                     "--name NAME", "Shows a VCH.", "", NULL),
                     VM_EXIT_USAGE);
    assert_null(vm_vch_of(&x.c, "inspect"));
    cli_done(&x);
    assert_string_equal(x.err_text, "vic-machine inspect: unexpected argument one\n"
                                    "vic-machine inspect: say which VCH with --name or --id\n");
    cli_free(&x);

    const char *action = NULL;
    cli_init(&x, "ui", "install", "--target", "vc", NULL);
    assert_int_equal(vm_parse_common(x.argc, x.argv, &x.c, NULL, 0, NULL, NULL, "ui", "ACTION",
                                     "Plugin.", "", &action),
                     0);
    cli_done(&x);
    assert_string_equal(action, "install");
    assert_string_equal(x.c.target, "vc");
    cli_free(&x);

    cli_init(&x, "ls", "--help", NULL);
    assert_int_equal(vm_parse_common(x.argc, x.argv, &x.c, NULL, 0, NULL, NULL, "ls", "[OPTIONS]",
                                     "Lists the VCHs on the target.", "", NULL),
                     VM_HELP);
    cli_done(&x);
    assert_non_null(strstr(x.out_text, "Usage: vic-machine ls [OPTIONS]\n\nLists the VCHs on "
                                       "the target.\n\nOptions:\n  --name NAME | --id ID"));
    cli_free(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_defaults),
        cmocka_unit_test(test_create_compute),
        cmocka_unit_test(test_create_places),
        cmocka_unit_test(test_create_endpoint_and_tls),
        cmocka_unit_test(test_create_registry_ca),
        cmocka_unit_test(test_create_run_options),
        cmocka_unit_test(test_create_bad_flags),
        cmocka_unit_test(test_create_volume_store_default_and_none),
        cmocka_unit_test(test_create_help_and_unknown),
        cmocka_unit_test(test_configure_flags),
        cmocka_unit_test(test_debug_flags),
        cmocka_unit_test(test_delete_flags),
        cmocka_unit_test(test_common_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
