/*
 * regauth.c - X-Registry-Auth (see regauth.h).
 */
#include "portlayer/regauth.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/mem.h"

/* The value of a base64 digit in either alphabet (URL-safe or standard), or -1. */
static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-' || c == '+')
        return 62;
    if (c == '_' || c == '/')
        return 63;
    return -1;
}

/* Decodes base64 of either alphabet, padding optional; *out is NUL-terminated (a secret:
 * free with vic_free_secret). -1 when malformed. */
static int b64_decode(char **out, size_t *out_len, const char *in, size_t len)
{
    while (len && in[len - 1] == '=')
        len--;
    if (len % 4 == 1)
        return -1;
    char *buf = xmalloc(len / 4 * 3 + 3);
    size_t n = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64_value((unsigned char)in[i]);
        if (v < 0) {
            OPENSSL_cleanse(buf, n);
            free(buf);
            return -1;
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[n++] = (char)((acc >> bits) & 0xff);
        }
    }
    buf[n] = '\0';
    *out = buf;
    *out_len = n;
    return 0;
}

/* A string field of the AuthConfig: 0 absent or null, 1 present, -1 of another type. */
static int field(const json_t *o, const char *name, const char **out)
{
    const json_t *v = json_object_get(o, name);
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return -1;
    *out = json_string_value(v);
    return 1;
}

/* Wipes an AuthConfig's strings (they hold the password) and frees it: a cleanup. */
static void wipe_json(json_t **j)
{
    const char *k;
    json_t *v;
    json_object_foreach(*j, k, v)
    {
        if (json_is_string(v))
            OPENSSL_cleanse((char *)json_string_value(v), json_string_length(v));
    }
    json_decref(*j);
}

static int parse(pl_regauth *out, const char *header, vic_err **err)
{
    if (header == NULL || *header == '\0')
        return 0;
    size_t hlen = strlen(header);
    if (hlen > PL_REGAUTH_MAX)
        return vic_err_set(err, VIC_EINVAL, "X-Registry-Auth: longer than %d bytes",
                           PL_REGAUTH_MAX);
    cleanup_secret char *text = NULL;
    size_t len = 0;
    if (b64_decode(&text, &len, header, hlen) < 0)
        return vic_err_set(err, VIC_EINVAL, "X-Registry-Auth: not base64url");
    json_t *j __attribute__((cleanup(wipe_json))) = NULL;
    if (memchr(text, '\0', len) || vic_json_parse(&j, text, len, 0, NULL) < 0 || !json_is_object(j))
        return vic_err_set(err, VIC_EINVAL, "X-Registry-Auth: not a JSON object");
    static const char *const names[] = {"username",      "password",      "auth", "serveraddress",
                                        "identitytoken", "registrytoken", "email"};
    const char *v[7];
    for (size_t i = 0; i < 7; i++)
        if (field(j, names[i], &v[i]) < 0)
            return vic_err_set(err, VIC_EINVAL, "X-Registry-Auth: %s: not a string", names[i]);
    const char *user = v[0], *pass = v[1], *auth = v[2];
    if (v[3] && *v[3])
        out->server = xstrdup(v[3]);
    if (user && *user) {
        out->username = xstrdup(user);
        out->password = xstrdup(pass ? pass : "");
    } else if (auth && *auth) {
        cleanup_secret char *pair = NULL;
        size_t plen = 0;
        char *colon = NULL;
        if (b64_decode(&pair, &plen, auth, strlen(auth)) < 0 || memchr(pair, '\0', plen) ||
            (colon = strchr(pair, ':')) == NULL || colon == pair)
            return vic_err_set(err, VIC_EINVAL,
                               "X-Registry-Auth: auth: not base64 of "
                               "\"user:password\"");
        out->username = xstrndup(pair, (size_t)(colon - pair));
        out->password = xstrdup(colon + 1);
    }
    return 0;
}

int pl_regauth_parse(pl_regauth *out, const char *header, vic_err **err)
{
    memset(out, 0, sizeof(*out));
    int rc = parse(out, header, err);
    if (rc < 0) /* nothing half-filled */
        pl_regauth_clear(out);
    return rc;
}

void pl_regauth_clear(pl_regauth *a)
{
    free(a->username);
    vic_free_secret(a->password);
    free(a->server);
    memset(a, 0, sizeof(*a));
}
