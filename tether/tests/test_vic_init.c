/*
 * vic-init's configuration, command lines and backoff, and a boot that fails on a missing
 * key (against a fake guestinfo server on a socketpair).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/gichan.h"
#include "lib/mem.h"
#include "tether/vic-init/init.h"

#define K(f) INIT_CONFIG_PREFIX f

static json_t *full_config(void)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", K("name"), "vch1",
                     K("address"), "127.77.0.2", K("pool"),
                     "/ha-datacenter/host/local/Resources/vch1", K("home"), "/var/lib/vic",
                     K("bin_dir"), "/opt/vic/bin", K("image_dir"), "/var/lib/vic/images", K("tls"),
                     "true", K("debug"), "0", "guestinfo.vice./vch/other", "x");
}

/* argv joined with spaces, for comparison; caller frees. */
static char *joined(char **argv)
{
    vic_buf b = VIC_BUF_INIT;
    for (char **p = argv; *p; p++)
        vic_buf_appendf(&b, "%s%s", p == argv ? "" : " ", *p);
    return vic_buf_steal(&b);
}

static void test_vic_init_config_parse(void **state)
{
    (void)state;
    json_t *kv cleanup_json = full_config();
    init_config c;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(init_config_parse(&c, kv, &err), 0);
    assert_string_equal(c.name, "vch1");
    assert_string_equal(c.address, "127.77.0.2");
    assert_string_equal(c.pool, "/ha-datacenter/host/local/Resources/vch1");
    assert_string_equal(c.home, "/var/lib/vic");
    assert_string_equal(c.bin_dir, "/opt/vic/bin");
    assert_string_equal(c.image_dir, "/var/lib/vic/images");
    assert_true(c.tls);
    assert_int_equal(c.debug, 0);
    init_config_clear(&c);

    /* tls and debug are optional: TLS on, debug off */
    json_object_del(kv, K("tls"));
    json_object_del(kv, K("debug"));
    assert_int_equal(init_config_parse(&c, kv, &err), 0);
    assert_true(c.tls);
    assert_int_equal(c.debug, 0);
    init_config_clear(&c);

    json_object_set_new(kv, K("tls"), json_string("false"));
    json_object_set_new(kv, K("debug"), json_string("3"));
    assert_int_equal(init_config_parse(&c, kv, &err), 0);
    assert_false(c.tls);
    assert_int_equal(c.debug, 3);
    init_config_clear(&c);
}

static void test_vic_init_config_errors(void **state)
{
    (void)state;
    static const char *const required[] = {"name", "address", "pool",
                                           "home", "bin_dir", "image_dir"};
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        json_t *kv cleanup_json = full_config();
        char key[128];
        snprintf(key, sizeof(key), INIT_CONFIG_PREFIX "%s", required[i]);
        json_object_del(kv, key);
        init_config c;
        vic_err *err cleanup_err = NULL;
        assert_int_equal(init_config_parse(&c, kv, &err), VIC_EINVAL);
        assert_non_null(strstr(err->msg, key));
        init_config_clear(&c);
        /* an empty value is as good as none */
        vic_err_free(&err);
        json_object_set_new(kv, key, json_string(""));
        assert_int_equal(init_config_parse(&c, kv, &err), VIC_EINVAL);
        init_config_clear(&c);
    }
    static const struct {
        const char *field, *value;
    } bad[] = {{"address", "vch1.example.com"},
               {"address", "127.0.0.1:2375"},
               {"bin_dir", "bin"},
               {"tls", "yes"},
               {"debug", "4"},
               {"debug", "11"}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *kv cleanup_json = full_config();
        char key[128];
        snprintf(key, sizeof(key), INIT_CONFIG_PREFIX "%s", bad[i].field);
        json_object_set_new(kv, key, json_string(bad[i].value));
        init_config c;
        vic_err *err cleanup_err = NULL;
        if (init_config_parse(&c, kv, &err) != VIC_EINVAL)
            fail_msg("%s=%s accepted", bad[i].field, bad[i].value);
        assert_non_null(strstr(err->msg, key));
        init_config_clear(&c);
    }
}

static void test_vic_init_command_lines(void **state)
{
    (void)state;
    json_t *kv cleanup_json = full_config();
    init_config c;
    assert_int_equal(init_config_parse(&c, kv, NULL), 0);

    char **argv = init_component_argv(&c, INIT_PORT_LAYER_ID);
    char *s = joined(argv);
    assert_string_equal(s, "/opt/vic/bin/port-layer-server --listen 127.77.0.2:2377 "
                           "--token-file portlayer.token --home /var/lib/vic --bin-dir "
                           "/opt/vic/bin --pool /ha-datacenter/host/local/Resources/vch1 "
                           "--images /var/lib/vic/images --publish-address 127.77.0.2");
    free(s);
    init_argv_free(argv);

    /* each volume store reaches the port layer by its label */
    json_object_set_new(kv, K("volume_stores|default"), json_string("[datastore1] vols/vch1"));
    init_config_clear(&c);
    assert_int_equal(init_config_parse(&c, kv, NULL), 0);
    argv = init_component_argv(&c, INIT_PORT_LAYER_ID);
    s = joined(argv);
    assert_non_null(strstr(s, " --volume-store default=[datastore1] vols/vch1"));
    free(s);
    init_argv_free(argv);
    json_object_set_new(kv, K("volume_stores|bad=label"), json_string("[datastore1] x"));
    init_config_clear(&c);
    vic_err *err cleanup_err = NULL;
    assert_int_equal(init_config_parse(&c, kv, &err), VIC_EINVAL);
    assert_non_null(strstr(err->msg, "not a volume store"));
    json_object_del(kv, K("volume_stores|bad=label"));
    init_config_clear(&c);

    /* insecure registries and the registries' CA bundle reach the port layer */
    json_object_set_new(kv, K("insecure_registries"), json_string("127.0.0.9:5000,r.example"));
    json_object_set_new(kv, K("registry_ca"), json_string("registry-ca.pem"));
    assert_int_equal(init_config_parse(&c, kv, NULL), 0);
    argv = init_component_argv(&c, INIT_PORT_LAYER_ID);
    s = joined(argv);
    assert_non_null(strstr(s, " --insecure-registry 127.0.0.9:5000 --insecure-registry r.example "
                              "--registry-ca registry-ca.pem"));
    free(s);
    init_argv_free(argv);
    init_config_clear(&c);
    json_object_set_new(kv, K("registry_ca"), json_string("../etc/ca.pem"));
    vic_err_free(&err);
    assert_int_equal(init_config_parse(&c, kv, &err), VIC_EINVAL);
    assert_non_null(strstr(err->msg, "registry_ca"));
    init_config_clear(&c);
    json_object_del(kv, K("registry_ca"));
    json_object_del(kv, K("insecure_registries"));
    assert_int_equal(init_config_parse(&c, kv, NULL), 0);

    argv = init_component_argv(&c, INIT_DOCKER_ID);
    s = joined(argv);
    assert_string_equal(s, "/opt/vic/bin/docker-engine-server --listen 127.77.0.2:2376 "
                           "--tls-cert server-cert.pem --tls-key server-key.pem --tls-ca ca.pem "
                           "--port-layer http://127.77.0.2:2377 --token-file portlayer.token "
                           "--name vch1");
    free(s);
    init_argv_free(argv);
    /* --no-tlsverify: TLS without asking clients for certificates */
    c.tls_verify = false;
    argv = init_component_argv(&c, INIT_DOCKER_ID);
    s = joined(argv);
    assert_null(strstr(s, "--tls-ca"));
    assert_non_null(strstr(s, "--tls-cert"));
    free(s);
    init_argv_free(argv);
    c.tls_verify = true;

    s = init_docker_host(&c);
    assert_string_equal(s, "127.77.0.2:2376");
    free(s);
    assert_int_equal(init_component_port(&c, INIT_DOCKER_ID), 2376);
    assert_int_equal(init_component_port(&c, INIT_PORT_LAYER_ID), 2377);
    assert_int_equal(init_component_port(&c, INIT_VICADMIN_ID), 2378);

    /* without TLS, with debug logging */
    c.tls = false;
    c.debug = 1;
    argv = init_component_argv(&c, INIT_DOCKER_ID);
    s = joined(argv);
    assert_string_equal(s, "/opt/vic/bin/docker-engine-server --listen 127.77.0.2:2375 "
                           "--port-layer http://127.77.0.2:2377 --token-file portlayer.token "
                           "--name vch1 --log-level debug");
    free(s);
    init_argv_free(argv);
    argv = init_component_argv(&c, INIT_PORT_LAYER_ID);
    s = joined(argv);
    assert_non_null(strstr(s, " --log-level debug"));
    free(s);
    init_argv_free(argv);
    s = init_docker_host(&c);
    assert_string_equal(s, "127.77.0.2:2375");
    free(s);
    assert_int_equal(init_component_port(&c, INIT_DOCKER_ID), 2375);
    assert_string_equal(init_component_name(INIT_PORT_LAYER_ID), "port-layer");
    assert_string_equal(init_component_name(INIT_DOCKER_ID), "docker-personality");
    init_config_clear(&c);
}

static void test_vic_init_backoff(void **state)
{
    (void)state;
    int want[] = {1000, 2000, 4000, 8000, 16000, 30000, 30000};
    int ms = 0;
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        ms = init_backoff_next(ms);
        assert_int_equal(ms, want[i]);
    }
}

/* ---- a boot without its configuration ---- */

typedef struct fake_gi {
    int fd;
    json_t *keys; /* what the guest may list */
    json_t *set;  /* what it wrote */
} fake_gi;

static void *fake_gi_serve(void *arg)
{
    fake_gi *g = arg;
    for (;;) {
        char *frame = NULL;
        size_t len = 0;
        if (vic_gichan_recv(g->fd, &frame, &len, NULL) < 0)
            break;
        char op;
        const char *key, *value;
        vic_buf reply = VIC_BUF_INIT;
        int ok = vic_gichan_parse(frame, len, &op, &key, &value, NULL) == 0;
        if (ok && op == 'L') {
            const char *k;
            json_t *v;
            json_object_foreach(g->keys, k, v)
            {
                if (strncmp(k, key, strlen(key)) != 0)
                    continue;
                vic_buf_append(&reply, k, strlen(k) + 1);
                vic_buf_append(&reply, json_string_value(v), strlen(json_string_value(v)) + 1);
            }
        } else if (ok && op == 'M') {
            const char *pos = value, *end = frame + len, *k, *v;
            while (vic_gichan_next_pair(&pos, end, &k, &v) == 1)
                json_object_set_new(g->set, k, json_string(v));
        } else {
            ok = 0;
        }
        vic_gichan_reply(g->fd, ok, reply.data, reply.len, NULL);
        vic_buf_free(&reply);
        free(frame);
    }
    return NULL;
}

static void test_vic_init_missing_config_fails(void **state)
{
    (void)state;
    int sp[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
    fake_gi g = {.fd = sp[1], .keys = full_config(), .set = json_object()};
    json_object_del(g.keys, K("pool"));
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, fake_gi_serve, &g), 0);
    int serial = open("/dev/null", O_WRONLY | O_CLOEXEC);
    assert_true(serial >= 0);
    /* vic-init writes its components file in its cwd (the VM's folder): give it one */
    char dir[] = "/tmp/vic-test-init-XXXXXX", cwd[4096];
    assert_non_null(mkdtemp(dir));
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(dir), 0);
    assert_int_equal(init_run(sp[0], serial), 1);
    assert_int_equal(chdir(cwd), 0);
    cleanup_free char *written = xasprintf("%s/" INIT_COMPONENTS, dir);
    unlink(written);
    assert_int_equal(rmdir(dir), 0);
    close(sp[0]); /* the server sees the end of the channel */
    pthread_join(th, NULL);
    close(sp[1]);
    close(serial);
    const char *st = json_string_value(json_object_get(g.set, INIT_KEY_STATUS "vic-init"));
    assert_non_null(st);
    assert_string_equal(st, "failed: missing " INIT_CONFIG_PREFIX "pool");
    json_decref(g.keys);
    json_decref(g.set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vic_init_config_parse),
        cmocka_unit_test(test_vic_init_config_errors),
        cmocka_unit_test(test_vic_init_command_lines),
        cmocka_unit_test(test_vic_init_backoff),
        cmocka_unit_test(test_vic_init_missing_config_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
