/*
 * The registry client: manifest and config parsing (pure), the failure modes against
 * tests/fixtures/fake_registry.py (a registry that misbehaves on purpose), and real pulls from
 * Debian's docker-registry seeded by tests/fixtures/registry-busybox.sh.
 *
 * The real-registry group needs the docker-registry and skopeo packages: without them the
 * other groups still run and the suite then exits 77 saying what was skipped.
 * VIC_FIXTURES names the fixture directory (default tests/fixtures).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/file.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/mem.h"
#include "portlayer/imagestore.h"
#include "portlayer/registry.h"

static char tmpdir[64];
static const char *fixtures = "tests/fixtures";

/* ---- helpers ---- */

static char *pathf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *pathf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *rel = xvasprintf(fmt, ap);
    va_end(ap);
    char *p = xasprintf("%s/%s", tmpdir, rel);
    free(rel);
    return p;
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

/* A store holds nothing: no blob, no temporary, no layer, no image. */
static void assert_store_empty(pl_imagestore *s)
{
    const char *sub[] = {"blobs/sha256", "blobs/tmp", "layers"};
    for (size_t i = 0; i < 3; i++) {
        cleanup_free char *p = xasprintf("%s/%s", pl_imagestore_dir(s), sub[i]);
        int n = count_entries(p);
        if (n != 0)
            fail_msg("%s holds %d entries after a failed pull", p, n);
    }
    json_t *list cleanup_json = NULL;
    assert_int_equal(pl_imagestore_list(&list, s, NULL), 0);
    assert_int_equal(json_array_size(list), 0);
}

static pl_imagestore *new_store(const char *name)
{
    cleanup_free char *dir = pathf("%s", name);
    pl_imagestore *s = NULL;
    vic_err *err cleanup_err = NULL;
    if (pl_imagestore_open(&s, dir, &err) < 0)
        fail_msg("open store: %s", err->msg);
    return s;
}

/* Runs argv with stdout on a pipe; returns the pid and the first line of its output. */
static pid_t spawn_line(char *const argv[], char *line, size_t cap)
{
    int p[2];
    if (pipe(p) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    FILE *f = fdopen(p[0], "r");
    if (f == NULL || fgets(line, (int)cap, f) == NULL)
        line[0] = '\0';
    if (f)
        fclose(f);
    return pid;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

/* Progress events seen, by state. */
typedef struct seen {
    int by_state[8];
    uint64_t last_done;
} seen;

static void on_progress(const pl_progress *p, void *payload)
{
    seen *s = payload;
    assert_int_equal(strlen(p->id), 12);
    s->by_state[p->state]++;
    if (p->state == PL_PROGRESS_DOWNLOADING)
        s->last_done = p->done;
}

/* ---- pure parsing ---- */

static void test_registry_manifest_parse(void **state)
{
    (void)state;
    const char *d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    cleanup_free char *m = xasprintf(
        "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":\"x\",\"digest\":"
        "\"%s\",\"size\":10},\"layers\":[{\"mediaType\":\"application/vnd.docker.image.rootfs."
        "diff.tar.gzip\",\"digest\":\"%s\",\"size\":20}]}",
        PL_MT_DOCKER_MANIFEST, d, d);
    json_t *out cleanup_json = NULL;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(pl_manifest_parse(&out, m, strlen(m), PL_MT_DOCKER_MANIFEST, &err), 0);
    assert_string_equal(vic_json_str(out, "kind"), "manifest");
    assert_int_equal(json_array_size(json_object_get(out, "layers")), 1);
    json_decref(out);
    out = NULL;

    cleanup_free char *idx = xasprintf(
        "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":1,"
        "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}},{\"mediaType\":\"%s\","
        "\"digest\":\"%s\",\"size\":2,\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]"
        "}",
        PL_MT_OCI_MANIFEST, d, PL_MT_OCI_MANIFEST, d);
    assert_int_equal(pl_manifest_parse(&out, idx, strlen(idx), PL_MT_OCI_INDEX, &err), 0);
    const json_t *pick = NULL;
    assert_int_equal(pl_index_pick(&pick, out, "linux", "amd64", &err), 0);
    assert_int_equal(json_integer_value(json_object_get(pick, "size")), 2);
    assert_int_equal(pl_index_pick(&pick, out, "linux", "s390x", &err), VIC_ENOTFOUND);
    vic_err_free(&err);

    static const struct {
        const char *body;
        int code;
    } bad[] = {
        {"[]", VIC_EINVAL},
        {"{\"schemaVersion\":1}", VIC_EUNSUPPORTED},
        {"{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:12\",\"size\":1},\"layers\":[]}",
         VIC_EINVAL},
        {"{\"schemaVersion\":2,\"config\":{\"digest\":\"sha512:12\",\"size\":1},\"layers\":[]}",
         VIC_EUNSUPPORTED},
        {"{\"schemaVersion\":2,\"manifests\":{}}", VIC_EINVAL},
        {"{\"schemaVersion\":2,\"mediaType\":\"text/html\"}", VIC_EUNSUPPORTED},
        {"{\"schemaVersion\":2,", VIC_EINVAL},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *o = NULL;
        int rc = pl_manifest_parse(&o, bad[i].body, strlen(bad[i].body), NULL, &err);
        if (rc != bad[i].code)
            fail_msg("case %zu: rc %d, want %d", i, rc, bad[i].code);
        vic_err_free(&err);
        assert_null(o);
    }
}

static void test_registry_config_parse(void **state)
{
    (void)state;
    const char *cfg =
        "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Env\":[\"A=1\"],\"Cmd\":["
        "\"sh\"],\"Entrypoint\":null,\"WorkingDir\":\"/w\",\"User\":\"1000\",\"ExposedPorts\":{"
        "\"80/tcp\":{}},\"Labels\":{\"k\":\"v\"}},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":["
        "\"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"]}}";
    json_t *out cleanup_json = NULL;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(pl_image_config_parse(&out, cfg, strlen(cfg), &err), 0);
    json_t *c = json_object_get(out, "config");
    assert_string_equal(vic_json_str(c, "working_dir"), "/w");
    assert_string_equal(vic_json_str(c, "user"), "1000");
    assert_true(json_is_null(json_object_get(c, "entrypoint")));
    assert_string_equal(json_string_value(json_array_get(json_object_get(c, "exposed_ports"), 0)),
                        "80/tcp");
    assert_string_equal(vic_json_str(json_object_get(c, "labels"), "k"), "v");
    const char *bad = "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"nope\"]}}";
    json_t *o = NULL;
    assert_int_equal(pl_image_config_parse(&o, bad, strlen(bad), &err), VIC_EINVAL);
    vic_err_free(&err);
    const char *bad2 = "{\"config\":{\"Env\":\"A=1\"},\"rootfs\":{\"type\":\"layers\","
                       "\"diff_ids\":[]}}";
    assert_int_equal(pl_image_config_parse(&o, bad2, strlen(bad2), &err), VIC_EINVAL);
    assert_non_null(strstr(err->msg, "Env"));
    vic_err_free(&err);
    /* HEALTHCHECK: kept as Docker's, its zero fields left out; none: no key */
    assert_null(json_object_get(c, "healthcheck"));
    const char *hc = "{\"config\":{\"Healthcheck\":{\"Test\":[\"CMD-SHELL\",\"wget -q "
                     "localhost\"],\"Interval\":5000000000,\"Timeout\":0}},\"rootfs\":{"
                     "\"type\":\"layers\",\"diff_ids\":[]}}";
    json_t *h cleanup_json = NULL;
    assert_int_equal(pl_image_config_parse(&h, hc, strlen(hc), &err), 0);
    json_t *want cleanup_json = json_loads(
        "{\"Test\": [\"CMD-SHELL\", \"wget -q localhost\"], \"Interval\": 5000000000}", 0, NULL);
    assert_true(json_equal(json_object_get(json_object_get(h, "config"), "healthcheck"), want));
    const char *hc_bad = "{\"config\":{\"Healthcheck\":{\"Test\":\"true\"}},\"rootfs\":{"
                         "\"type\":\"layers\",\"diff_ids\":[]}}";
    assert_int_equal(pl_image_config_parse(&o, hc_bad, strlen(hc_bad), &err), VIC_EINVAL);
    assert_non_null(strstr(err->msg, "Healthcheck.Test"));
}

/* Insecure by default: 127.0.0.1, localhost and [::1] only; another loopback address (a
 * VCH's own, a test host's) needs listing, as a remote registry does. */
static void test_registry_default_insecure(void **state)
{
    (void)state;
    assert_true(pl_registry_default_insecure("127.0.0.1"));
    assert_true(pl_registry_default_insecure("127.0.0.1:5000"));
    assert_true(pl_registry_default_insecure("localhost:5000"));
    assert_true(pl_registry_default_insecure("[::1]:5000"));
    assert_false(pl_registry_default_insecure("127.0.0.10:5000"));
    assert_false(pl_registry_default_insecure("127.77.0.2:5000"));
    assert_false(pl_registry_default_insecure("localhost.example.com"));
    assert_false(pl_registry_default_insecure("registry-1.docker.io"));
}

static void test_registry_challenge_parse(void **state)
{
    (void)state;
    json_t *c cleanup_json = NULL;
    assert_int_equal(
        pl_auth_challenge_parse(&c,
                                "Bearer realm=\"https://auth.docker.io/token\",service=\"registry."
                                "docker.io\",scope=\"repository:library/busybox:pull\"",
                                NULL),
        0);
    assert_string_equal(vic_json_str(c, "scheme"), "bearer");
    assert_string_equal(vic_json_str(c, "realm"), "https://auth.docker.io/token");
    assert_string_equal(vic_json_str(c, "scope"), "repository:library/busybox:pull");
    json_decref(c);
    assert_int_equal(pl_auth_challenge_parse(&c, "Basic realm=fake", NULL), 0);
    assert_string_equal(vic_json_str(c, "realm"), "fake");
    json_decref(c);
    c = NULL;
    assert_int_equal(pl_auth_challenge_parse(&c, "Bearer realm=\"open", NULL), VIC_EINVAL);
    assert_int_equal(pl_auth_challenge_parse(&c, "", NULL), VIC_EINVAL);
}

/* ---- against the fake registry ---- */

static pid_t fake_pid = -1;
static int fake_port;

static int fake_setup(void **state)
{
    (void)state;
    cleanup_free char *script = xasprintf("%s/fake_registry.py", fixtures);
    char *argv[] = {"/usr/bin/python3", script, "--port", "0", NULL};
    char line[64];
    fake_pid = spawn_line(argv, line, sizeof(line));
    if (fake_pid < 0 || sscanf(line, "port %d", &fake_port) != 1) {
        fprintf(stderr, "fake registry did not start: %s\n", line);
        return -1;
    }
    return 0;
}

static int fake_teardown(void **state)
{
    (void)state;
    if (fake_pid > 0) {
        kill(fake_pid, SIGTERM);
        waitpid(fake_pid, NULL, 0);
    }
    return 0;
}

/* Pulls 127.0.0.1:PORT/repo:latest into a new store named after the repository. */
static int fake_pull(pl_imagestore **store_out, json_t **out, const char *repo,
                     const pl_registry_options *opts, vic_err **err)
{
    pl_registry *r = NULL;
    assert_int_equal(pl_registry_new(&r, opts, NULL), 0);
    *store_out = new_store(repo);
    cleanup_free char *ref = xasprintf("127.0.0.1:%d/%s:latest", fake_port, repo);
    int rc = pl_registry_pull(out, r, *store_out, ref, NULL, NULL, err);
    pl_registry_free(r);
    return rc;
}

static void expect_failure(const char *repo, int code, const char *words,
                           const pl_registry_options *opts)
{
    pl_imagestore *s = NULL;
    vic_err *err cleanup_err = NULL;
    json_t *out cleanup_json = NULL;
    int rc = fake_pull(&s, &out, repo, opts, &err);
    if (rc != code)
        fail_msg("%s: rc %d (%s), want %d", repo, rc, err ? err->msg : "no error", code);
    if (strstr(err->msg, words) == NULL)
        fail_msg("%s: message \"%s\" lacks \"%s\"", repo, err->msg, words);
    assert_null(out);
    assert_store_empty(s);
    pl_imagestore_free(s);
}

static void test_registry_fake_good_and_token(void **state)
{
    (void)state;
    const char *repos[] = {"good", "token"};
    for (size_t i = 0; i < 2; i++) {
        pl_imagestore *s = NULL;
        json_t *out cleanup_json = NULL;
        vic_err *err cleanup_err = NULL;
        if (fake_pull(&s, &out, repos[i], NULL, &err) < 0)
            fail_msg("%s: %s", repos[i], err->msg);
        assert_string_equal(vic_json_str(json_object_get(out, "config"), "working_dir"), "");
        cleanup_free char *rootfs = pathf("%s-rootfs", repos[i]);
        assert_int_equal(pl_imagestore_build_rootfs(s, vic_json_str(out, "id"), rootfs, NULL, &err),
                         0);
        cleanup_free char *hello = pathf("%s-rootfs/hello.txt", repos[i]);
        assert_int_equal(access(hello, F_OK), 0);
        pl_imagestore_free(s);
    }
}

static void test_registry_fake_basic_auth(void **state)
{
    (void)state;
    cleanup_free char *host = xasprintf("127.0.0.1:%d", fake_port);
    pl_registry_host h = {.host = host, .username = "user", .password = "secret"};
    pl_registry_options o = PL_REGISTRY_OPTIONS_INIT;
    o.hosts = &h;
    o.n_hosts = 1;
    pl_imagestore *s = NULL;
    json_t *out cleanup_json = NULL;
    vic_err *err cleanup_err = NULL;
    if (fake_pull(&s, &out, "basic", &o, &err) < 0)
        fail_msg("basic: %s", err->msg);
    pl_imagestore_free(s);
    cleanup_free char *dir = pathf("basic");
    vic_rm_rf(dir, NULL);
    expect_failure("basic", VIC_EAUTH, "requires authentication", NULL);
}

static void test_registry_fake_401_forever(void **state)
{
    (void)state;
    expect_failure("forever401", VIC_EAUTH, "401 Unauthorized again", NULL);
}

static void test_registry_fake_wrong_digest(void **state)
{
    (void)state;
    expect_failure("wrongdigest", VIC_EUPSTREAM, "wrong digest", NULL);
    expect_failure("digestheader", VIC_EUPSTREAM, "Docker-Content-Digest", NULL);
}

static void test_registry_fake_truncated(void **state)
{
    (void)state;
    expect_failure("truncated", VIC_EUPSTREAM, "truncated", NULL);
}

static void test_registry_fake_content_length_lie(void **state)
{
    (void)state;
    expect_failure("cllie", VIC_EUPSTREAM, "Content-Length", NULL);
}

static void test_registry_fake_huge_manifest(void **state)
{
    (void)state;
    expect_failure("hugemanifest", VIC_ETOOBIG, "limit", NULL);
    expect_failure("hugechunked", VIC_ETOOBIG, "limit", NULL);
}

static void test_registry_fake_redirect_loop(void **state)
{
    (void)state;
    expect_failure("redirect", VIC_EUPSTREAM, "too many redirects", NULL);
}

static void test_registry_fake_stall(void **state)
{
    (void)state;
    pl_registry_options o = PL_REGISTRY_OPTIONS_INIT;
    o.stall_timeout_ms = 1000;
    expect_failure("stall", VIC_ETIMEOUT, "timed out", &o);
}

static void test_registry_fake_bad_layers(void **state)
{
    (void)state;
    expect_failure("baddiffid", VIC_EUPSTREAM, "the config says", NULL);
    expect_failure("escape", VIC_EINVAL, "leaves the layer", NULL);
    expect_failure("armonly", VIC_ENOTFOUND, "linux/amd64", NULL);
}

static void test_registry_unreachable(void **state)
{
    (void)state;
    pl_registry *r = NULL;
    assert_int_equal(pl_registry_new(&r, NULL, NULL), 0);
    pl_imagestore *s = new_store("unreachable");
    int port = free_port();
    cleanup_free char *ref = xasprintf("127.0.0.1:%d/x", port);
    vic_err *err cleanup_err = NULL;
    assert_int_equal(pl_registry_pull(NULL, r, s, ref, NULL, NULL, &err), VIC_EUPSTREAM);
    assert_non_null(strstr(err->msg, "cannot reach"));
    vic_err_free(&err);
    assert_int_equal(pl_registry_pull(NULL, r, s, "Bad Ref", NULL, NULL, &err), VIC_EINVAL);
    assert_store_empty(s);
    pl_imagestore_free(s);
    pl_registry_free(r);
}

/* ---- against docker-registry ---- */

static char reg_work[96];
static char reg_addr[32];
static char dig_latest[80], dig_oci[80], dig_multi[80], dig_layered[80], dig_layer[80];

static int have_registry(void)
{
    return system("command -v docker-registry >/dev/null 2>&1 && "
                  "command -v skopeo >/dev/null 2>&1") == 0;
}

static void read_env(const char *file)
{
    FILE *f = fopen(file, "r");
    char line[256];
    while (f && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        char *eq = strchr(line, '=');
        if (!eq)
            continue;
        *eq = '\0';
        char *dst = strcmp(line, "busybox_latest") == 0   ? dig_latest
                    : strcmp(line, "busybox_oci") == 0    ? dig_oci
                    : strcmp(line, "busybox_multi") == 0  ? dig_multi
                    : strcmp(line, "layered_latest") == 0 ? dig_layered
                    : strcmp(line, "busybox_layer") == 0  ? dig_layer
                                                          : NULL;
        if (dst)
            snprintf(dst, 80, "%s", eq + 1);
    }
    if (f)
        fclose(f);
}

static int reg_setup(void **state)
{
    (void)state;
    snprintf(reg_work, sizeof(reg_work), "%s/registry", tmpdir);
    snprintf(reg_addr, sizeof(reg_addr), "127.0.0.1:%d", free_port());
    cleanup_free char *cmd = xasprintf("REGISTRY_ADDR=%s %s/registry-busybox.sh %s >/dev/null",
                                       reg_addr, fixtures, reg_work);
    if (system(cmd) != 0) {
        fprintf(stderr, "registry fixture failed: %s\n", cmd);
        return -1;
    }
    cleanup_free char *env = xasprintf("%s/digests.env", reg_work);
    read_env(env);
    if (!dig_latest[0] || !dig_multi[0] || !dig_layered[0]) {
        fprintf(stderr, "registry fixture wrote no digests\n");
        return -1;
    }
    return 0;
}

static int reg_teardown(void **state)
{
    (void)state;
    cleanup_free char *cmd =
        xasprintf("%s/registry-busybox.sh %s stop >/dev/null", fixtures, reg_work);
    return system(cmd) == 0 ? 0 : -1;
}

static pl_imagestore *reg_store;

static int pull(json_t **out, const char *name, seen *sn, vic_err **err)
{
    pl_registry *r = NULL;
    assert_int_equal(pl_registry_new(&r, NULL, NULL), 0);
    cleanup_free char *ref = xasprintf("%s/%s", reg_addr, name);
    int rc = pl_registry_pull(out, r, reg_store, ref, sn ? on_progress : NULL, sn, err);
    pl_registry_free(r);
    return rc;
}

static void test_registry_pull_by_tag_then_skip(void **state)
{
    (void)state;
    reg_store = new_store("reg-store");
    seen sn = {0};
    json_t *img cleanup_json = NULL;
    vic_err *err cleanup_err = NULL;
    if (pull(&img, "busybox:latest", &sn, &err) < 0)
        fail_msg("pull: %s", err->msg);
    assert_int_equal(sn.by_state[PL_PROGRESS_COMPLETE], 1);
    assert_int_equal(sn.by_state[PL_PROGRESS_DOWNLOADED], 1);
    assert_true(sn.by_state[PL_PROGRESS_DOWNLOADING] >= 2);
    assert_true(sn.last_done > 100000);
    cleanup_free char *tag = xasprintf("%s/busybox:latest", reg_addr);
    cleanup_free char *rd = xasprintf("%s/busybox@%s", reg_addr, dig_latest);
    assert_string_equal(json_string_value(json_array_get(json_object_get(img, "repo_tags"), 0)),
                        tag);
    assert_string_equal(json_string_value(json_array_get(json_object_get(img, "repo_digests"), 0)),
                        rd);
    json_t *cfg = json_object_get(img, "config");
    assert_string_equal(json_string_value(json_array_get(json_object_get(cfg, "cmd"), 0)), "sh");
    assert_string_equal(json_string_value(json_array_get(json_object_get(cfg, "exposed_ports"), 0)),
                        "80/tcp");
    assert_string_equal(vic_json_str(json_object_get(cfg, "labels"), "org.vic-c.fixture"),
                        "busybox");

    /* the second pull finds the layer present and downloads nothing */
    seen again = {0};
    json_t *img2 cleanup_json = NULL;
    assert_int_equal(pull(&img2, "busybox:latest", &again, &err), 0);
    assert_int_equal(again.by_state[PL_PROGRESS_EXISTS], 1);
    assert_int_equal(again.by_state[PL_PROGRESS_DOWNLOADING], 0);
    assert_string_equal(vic_json_str(img2, "id"), vic_json_str(img, "id"));
}

static void test_registry_pull_oci_digest_and_list(void **state)
{
    (void)state;
    vic_err *err cleanup_err = NULL;
    json_t *base cleanup_json = NULL;
    assert_int_equal(pull(&base, "busybox:latest", NULL, &err), 0);

    /* the OCI manifest of the same config and layer is the same image */
    json_t *oci cleanup_json = NULL;
    if (pull(&oci, "busybox:oci", NULL, &err) < 0)
        fail_msg("oci: %s", err->msg);
    assert_string_equal(vic_json_str(oci, "id"), vic_json_str(base, "id"));

    cleanup_free char *by_digest = xasprintf("busybox@%s", dig_oci);
    json_t *d cleanup_json = NULL;
    if (pull(&d, by_digest, NULL, &err) < 0)
        fail_msg("by digest: %s", err->msg);
    cleanup_free char *rd = xasprintf("%s/busybox@%s", reg_addr, dig_oci);
    assert_true(json_array_size(json_object_get(d, "repo_digests")) >= 2);

    /* a manifest list: linux/amd64 is chosen, and its digest recorded as the repo digest */
    json_t *m cleanup_json = NULL;
    if (pull(&m, "busybox:multi", NULL, &err) < 0)
        fail_msg("multi: %s", err->msg);
    cleanup_free char *rdm = xasprintf("%s/busybox@%s", reg_addr, dig_multi);
    json_t *digests = json_object_get(m, "repo_digests");
    int found = 0;
    for (size_t i = 0; i < json_array_size(digests); i++)
        found |= strcmp(json_string_value(json_array_get(digests, i)), rdm) == 0;
    assert_true(found);

    /* wrong digest pinned, unknown tag, unknown repository */
    const char *wrong =
        "busybox@sha256:0000000000000000000000000000000000000000000000000000000000000000";
    assert_int_equal(pull(NULL, wrong, NULL, &err), VIC_ENOTFOUND);
    vic_err_free(&err);
    assert_int_equal(pull(NULL, "busybox:nope", NULL, &err), VIC_ENOTFOUND);
    vic_err_free(&err);
    assert_int_equal(pull(NULL, "nothere:latest", NULL, &err), VIC_ENOTFOUND);
}

static void test_registry_rootfs_runs_busybox(void **state)
{
    (void)state;
    vic_err *err cleanup_err = NULL;
    cleanup_free char *rootfs = pathf("busybox-rootfs");
    cleanup_free char *ref = xasprintf("%s/busybox", reg_addr);
    if (pl_imagestore_build_rootfs(reg_store, ref, rootfs, NULL, &err) < 0)
        fail_msg("rootfs: %s", err->msg);
    cleanup_free char *bb = pathf("busybox-rootfs/bin/busybox");
    struct stat st;
    assert_int_equal(stat(bb, &st), 0);
    assert_true(st.st_mode & S_IXUSR);
    cleanup_free char *sh = pathf("busybox-rootfs/bin/sh");
    char target[32] = "";
    assert_true(readlink(sh, target, sizeof(target) - 1) > 0);
    assert_string_equal(target, "busybox");
    cleanup_free char *cmd = xasprintf("%s/bin/busybox true", rootfs);
    assert_int_equal(system(cmd), 0);
    cleanup_free char *cmd2 = xasprintf("%s/bin/sh -c 'echo ok' | grep -q ok", rootfs);
    assert_int_equal(system(cmd2), 0);
}

static void test_registry_layered_whiteouts_and_shared_layers(void **state)
{
    (void)state;
    seen sn = {0};
    json_t *img cleanup_json = NULL;
    vic_err *err cleanup_err = NULL;
    if (pull(&img, "layered:latest", &sn, &err) < 0)
        fail_msg("layered: %s", err->msg);
    assert_int_equal(json_array_size(json_object_get(img, "layers")), 4);
    assert_int_equal(sn.by_state[PL_PROGRESS_EXISTS], 1); /* busybox's layer */
    assert_int_equal(sn.by_state[PL_PROGRESS_COMPLETE], 3);

    cleanup_free char *rootfs = pathf("layered-rootfs");
    assert_int_equal(
        pl_imagestore_build_rootfs(reg_store, vic_json_str(img, "id"), rootfs, NULL, &err), 0);
    cleanup_free char *motd = pathf("layered-rootfs/etc/motd");
    assert_int_not_equal(access(motd, F_OK), 0);
    cleanup_free char *passwd = pathf("layered-rootfs/etc/passwd");
    assert_int_equal(access(passwd, F_OK), 0);
    cleanup_free char *data = pathf("layered-rootfs/data");
    assert_int_equal(count_entries(data), 1);
    cleanup_free char *blob = pathf("layered-rootfs/opt/blob");
    struct stat st;
    assert_int_equal(stat(blob, &st), 0);
    assert_int_equal(st.st_size, 1048576);

    /* removing busybox keeps the layer layered still uses; removing layered then empties */
    cleanup_free char *bb = xasprintf("%s/busybox", reg_addr);
    json_t *rm cleanup_json = NULL;
    json_t *busy cleanup_json = NULL;
    assert_int_equal(pl_imagestore_inspect(&busy, reg_store, bb, &err), 0);
    assert_int_equal(pl_imagestore_remove(&rm, reg_store, vic_json_str(busy, "id"), 1, &err), 0);
    cleanup_free char *layers = xasprintf("%s/layers", pl_imagestore_dir(reg_store));
    assert_int_equal(count_entries(layers), 4);
    assert_int_equal(pl_imagestore_remove(NULL, reg_store, vic_json_str(img, "id"), 0, &err), 0);
    assert_store_empty(reg_store);
    pl_imagestore_free(reg_store);
    reg_store = NULL;
}

int main(void)
{
    const char *fx = getenv("VIC_FIXTURES");
    if (fx)
        fixtures = fx;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/vic-test-registry-XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return 1;
    const struct CMUnitTest pure[] = {
        cmocka_unit_test(test_registry_manifest_parse),
        cmocka_unit_test(test_registry_config_parse),
        cmocka_unit_test(test_registry_challenge_parse),
        cmocka_unit_test(test_registry_default_insecure),
        cmocka_unit_test(test_registry_unreachable),
    };
    const struct CMUnitTest fake[] = {
        cmocka_unit_test(test_registry_fake_good_and_token),
        cmocka_unit_test(test_registry_fake_basic_auth),
        cmocka_unit_test(test_registry_fake_401_forever),
        cmocka_unit_test(test_registry_fake_wrong_digest),
        cmocka_unit_test(test_registry_fake_truncated),
        cmocka_unit_test(test_registry_fake_content_length_lie),
        cmocka_unit_test(test_registry_fake_huge_manifest),
        cmocka_unit_test(test_registry_fake_redirect_loop),
        cmocka_unit_test(test_registry_fake_stall),
        cmocka_unit_test(test_registry_fake_bad_layers),
    };
    const struct CMUnitTest real[] = {
        cmocka_unit_test(test_registry_pull_by_tag_then_skip),
        cmocka_unit_test(test_registry_pull_oci_digest_and_list),
        cmocka_unit_test(test_registry_rootfs_runs_busybox),
        cmocka_unit_test(test_registry_layered_whiteouts_and_shared_layers),
    };
    int failed = cmocka_run_group_tests_name("registry_pure", pure, NULL, NULL);
    failed += cmocka_run_group_tests_name("registry_fake", fake, fake_setup, fake_teardown);
    int skipped = 0;
    if (have_registry())
        failed += cmocka_run_group_tests_name("registry_real", real, reg_setup, reg_teardown);
    else
        skipped = 1;
    vic_rm_rf(tmpdir, NULL);
    if (failed)
        return 1;
    if (skipped) {
        printf("skip: docker-registry or skopeo not installed (apt-get install docker-registry "
               "skopeo); the pure and fake-registry groups passed\n");
        return 77;
    }
    return 0;
}
