/* libFuzzer harness: X-Registry-Auth (portlayer/regauth.c), a header any Docker client
 * sends. The input goes in as the header itself, and base64url-encoded as the CLI encodes
 * its AuthConfig JSON; nothing may crash or leak, a failure hands out nothing, and a JSON
 * object with a string username must come back with that username. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mem.h"
#include "portlayer/regauth.h"

static char *b64url(const uint8_t *d, size_t n)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char *out = xmalloc(n / 3 * 4 + 5), *o = out;
    size_t i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | d[i + 2];
        *o++ = a[v >> 18 & 63], *o++ = a[v >> 12 & 63], *o++ = a[v >> 6 & 63], *o++ = a[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)d[i] << 16;
        *o++ = a[v >> 18 & 63], *o++ = a[v >> 12 & 63], *o++ = '=', *o++ = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8;
        *o++ = a[v >> 18 & 63], *o++ = a[v >> 12 & 63], *o++ = a[v >> 6 & 63], *o++ = '=';
    }
    *o = '\0';
    return out;
}

static int parse(const char *header, pl_regauth *out)
{
    int rc = pl_regauth_parse(out, header, NULL);
    if (rc < 0 && (out->username || out->password || out->server))
        abort(); /* nothing handed out on failure */
    if (rc == 0 && out->username && out->password == NULL)
        abort(); /* a user always comes with a (possibly empty) password */
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = xstrndup((const char *)data, size);
    pl_regauth a;
    parse(s, &a);
    pl_regauth_clear(&a);
    free(s);

    char *enc = b64url(data, size);
    int rc = parse(enc, &a);
    json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    const char *user = json_string_value(json_object_get(j, "username"));
    if (rc == 0 && user && *user && !memchr(data, 0, size) &&
        (a.username == NULL || strcmp(a.username, user) != 0))
        abort();
    json_decref(j);
    pl_regauth_clear(&a);
    free(enc);
    return 0;
}
