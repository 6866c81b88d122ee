/*
 * bench_tokens: delegation-token verification and redemption throughput (single thread).
 * Built and run by bench/bench-tokens.sh; prints key=value lines.
 *
 *   verify_depth1   vp_verify of a root token: parse, ES256 signature, claims, chain lookup
 *   verify_depth3   the same for a grandchild (chain of three in the database)
 *   sig_only        vp_keyring_verify alone (SHA-256 + ECDSA with the cached key)
 *   libjwt_decode   libjwt 1.10 jwt_decode with the PEM public key (re-parsed per call)
 *   redeem          sp_redeem of an unlimited token (spec check, transaction, audit row)
 */
#include <jwt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/mem.h"
#include "lib/store.h"
#include "self-provision/provision.h"
#include "validating-proxy/token.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, vic_err *err)
{
    fprintf(stderr, "bench_tokens: %s: %s\n", what, err ? err->msg : "failed");
    exit(1);
}

typedef int (*op_fn)(void *payload);

static double rate(op_fn fn, void *payload, double seconds)
{
    double start = now_s(), end = start + seconds;
    long n = 0;
    double t;
    do {
        for (int i = 0; i < 64; i++)
            if (fn(payload) != 0)
                die("operation", NULL);
        n += 64;
        t = now_s();
    } while (t < end);
    return (double)n / (t - start);
}

typedef struct ctx {
    vp *v;
    sp *s;
    const char *token;
    vp_token *holder;
    vp_ctx c;
    const char *pem;
    const char *jti;
    long redeemed;
    const unsigned char *sig;
    size_t sig_len, msg_len;
    char kid[VP_KID_LEN + 1];
} ctx;

static int op_verify(void *p)
{
    ctx *x = p;
    vp_token *t = NULL;
    vic_err *err = NULL;
    int rc = vp_verify(&t, x->v, x->token, &x->c, &err);
    if (rc < 0)
        die("verify", err);
    vp_token_free(t);
    return 0;
}

static int op_load(void *p)
{
    ctx *x = p;
    vp_token *t = NULL;
    int rc = vp_token_load(&t, x->v, x->jti, x->c.now, NULL);
    vp_token_free(t);
    return rc;
}

static int op_sig(void *p)
{
    ctx *x = p;
    return vp_keyring_verify(vp_keys(x->v), x->kid, x->token, x->msg_len, x->sig, x->sig_len, NULL);
}

static int op_libjwt(void *p)
{
    ctx *x = p;
    jwt_t *j = NULL;
    int rc = jwt_decode(&j, x->token, (const unsigned char *)x->pem, (int)strlen(x->pem));
    jwt_free(j);
    return rc;
}

static int op_redeem(void *p)
{
    ctx *x = p;
    json_t *out = NULL;
    vic_err *err = NULL;
    char name[32];
    snprintf(name, sizeof(name), "bench-%ld", ++x->redeemed);
    json_t *spec = json_pack("{s:s}", "name", name);
    int rc = sp_redeem(&out, NULL, x->s, x->holder, spec, NULL, &x->c, &err);
    json_decref(spec);
    json_decref(out);
    if (rc < 0)
        die("redeem", err);
    return 0;
}

static int b64url(unsigned char **out, size_t *n, const char *s)
{
    /* small decoder for the signature segment */
    size_t len = strlen(s);
    unsigned char *b = xmalloc(len);
    unsigned acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        const char *al = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        const char *q = strchr(al, s[i]);
        if (!q)
            return -1;
        acc = (acc << 6) | (unsigned)(q - al);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            b[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    *out = b;
    *n = o;
    return 0;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 3.0;
    char home[] = "/tmp/vic-bench-tokens-XXXXXX";
    if (!mkdtemp(home))
        return 1;
    char *db = xasprintf("%s/vic.db", home), *keys = xasprintf("%s/tokens", home);
    static const vic_migration migs[] = {{1, VP_SCHEMA_SQL VP_SCHEMA_SQL_2 SP_SCHEMA_SQL}};
    vic_store *store = NULL;
    vic_err *err = NULL;
    if (vic_store_open(&store, db, migs, 1, &err) < 0)
        die("store", err);
    vp_options o = {
        .key_dir = keys, .issuer = "bench", .audience = "vic-self-provision", .store = store};
    ctx x = {.c = {.now = time(NULL), .actor = "bench", .remote = "-", .quiet = 1}};
    if (vp_open(&x.v, &o, x.c.now, &err) < 0)
        die("open", err);
    x.s = sp_new(store, x.v, sp_inventory_local());

    json_t *r =
        json_pack("{s:n, s:n, s:n, s:i}", "uses", "max_vchs", "memory_mb", "delegation_depth", 4);
    vp_issue_opts io = {.sub = "bench", .ttl = 3600, .restrictions = r};
    vp_issued root = {0}, child = {0}, grand = {0};
    if (vp_issue(&root, x.v, &io, &x.c, &err) < 0)
        die("issue", err);
    vp_token *t1 = NULL, *t2 = NULL;
    if (vp_verify(&t1, x.v, root.token, &x.c, &err) < 0)
        die("verify root", err);
    vp_issue_opts co = {.sub = "bench"};
    if (vp_delegate(&child, x.v, t1, &co, &x.c, &err) < 0 ||
        vp_verify(&t2, x.v, child.token, &x.c, &err) < 0 ||
        vp_delegate(&grand, x.v, t2, &co, &x.c, &err) < 0)
        die("delegate", err);

    x.token = root.token;
    printf("verify_depth1=%.0f\n", rate(op_verify, &x, secs));
    if (getenv("BENCH_VERIFY_ONLY"))
        return 0;
    x.token = grand.token;
    printf("verify_depth3=%.0f\n", rate(op_verify, &x, secs));

    x.token = root.token;
    const char *dot2 = strrchr(root.token, '.');
    x.msg_len = (size_t)(dot2 - root.token);
    unsigned char *sig = NULL;
    if (b64url(&sig, &x.sig_len, dot2 + 1) < 0)
        return 1;
    x.sig = sig;
    vp_keyring_active(vp_keys(x.v), x.kid);
    printf("sig_only=%.0f\n", rate(op_sig, &x, secs));
    x.jti = root.jti;
    printf("chain_only=%.0f\n", rate(op_load, &x, secs));

    char *pub_path = xasprintf("%s/%s.pub", keys, x.kid);
    FILE *f = fopen(pub_path, "r");
    char pem[4096] = "";
    size_t n = f ? fread(pem, 1, sizeof(pem) - 1, f) : 0;
    pem[n] = '\0';
    if (f)
        fclose(f);
    x.pem = pem;
    printf("libjwt_decode=%.0f\n", rate(op_libjwt, &x, secs));

    x.holder = t1;
    printf("redeem=%.0f\n", rate(op_redeem, &x, secs));

    vp_token_free(t1);
    vp_token_free(t2);
    vp_issued_clear(&root);
    vp_issued_clear(&child);
    vp_issued_clear(&grand);
    json_decref(r);
    sp_free(x.s);
    vp_free(x.v);
    vic_store_free(store);
    free(sig);
    free(pub_path);
    char *cmd = xasprintf("rm -rf '%s'", home);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_tokens: could not remove %s\n", home);
    free(cmd);
    free(db);
    free(keys);
    return 0;
}
