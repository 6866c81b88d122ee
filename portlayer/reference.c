/*
 * reference.c - image references (docker's grammar and defaults) and sha256 digests.
 */
#include "portlayer/reference.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/mem.h"

/* ---- digests ---- */

int pl_digest_valid(const char *digest)
{
    if (digest == NULL || strncmp(digest, "sha256:", 7) != 0 || strlen(digest) != 71)
        return 0;
    for (const char *p = digest + 7; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return 0;
    return 1;
}

static void hex_of(char out[65], const unsigned char *md)
{
    static const char hx[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hx[md[i] >> 4];
        out[2 * i + 1] = hx[md[i] & 15];
    }
    out[64] = '\0';
}

void pl_digest_final(char out[72], EVP_MD_CTX *md)
{
    unsigned char raw[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    EVP_DigestFinal_ex(md, raw, &n);
    char hex[65];
    hex_of(hex, raw);
    snprintf(out, 72, "sha256:%s", hex);
}

EVP_MD_CTX *pl_digest_new(void)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
        abort();
    return md;
}

/* ---- references ---- */

void pl_ref_free(pl_ref *r)
{
    if (r == NULL)
        return;
    free(r->domain);
    free(r->repository);
    free(r->tag);
    free(r->digest);
    free(r);
}

static int is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* path-component := [a-z0-9]+ (separator [a-z0-9]+)*, separator := [_.] | __ | -+ */
static int path_component_ok(const char *p, size_t len)
{
    if (len == 0 || !is_lower_alnum(p[0]) || !is_lower_alnum(p[len - 1]))
        return 0;
    for (size_t i = 0; i < len;) {
        if (is_lower_alnum(p[i])) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < len && !is_lower_alnum(p[j]))
            j++;
        size_t n = j - i;
        const char *sep = p + i;
        int ok = (n == 1 && (sep[0] == '.' || sep[0] == '_' || sep[0] == '-')) ||
                 (n == 2 && sep[0] == '_' && sep[1] == '_') || strspn(sep, "-") >= n;
        if (!ok)
            return 0;
        i = j;
    }
    return 1;
}

/* domain := component (. component)* [:port], component := [A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?
 */
static int domain_ok(const char *d)
{
    const char *colon = strchr(d, ':');
    size_t hlen = colon ? (size_t)(colon - d) : strlen(d);
    if (hlen == 0)
        return 0;
    if (colon) {
        const char *port = colon + 1;
        if (!*port || strlen(port) > 5 || strspn(port, "0123456789") != strlen(port))
            return 0;
    }
    size_t start = 0;
    for (size_t i = 0; i <= hlen; i++) {
        if (i < hlen && d[i] != '.') {
            if (!isalnum((unsigned char)d[i]) && d[i] != '-')
                return 0;
            continue;
        }
        if (i == start || d[start] == '-' || d[i - 1] == '-')
            return 0;
        start = i + 1;
    }
    return 1;
}

static int tag_ok(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > 128)
        return 0;
    if (!(isalnum((unsigned char)t[0]) || t[0] == '_'))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)t[i]) || t[i] == '_' || t[i] == '.' || t[i] == '-'))
            return 0;
    return 1;
}

int pl_ref_parse(pl_ref **out, const char *s, vic_err **err)
{
    *out = NULL;
    if (s == NULL || !s[0])
        return vic_err_set(err, VIC_EINVAL, "empty image reference");
    if (strlen(s) > 512)
        return vic_err_set(err, VIC_EINVAL, "image reference too long");
    if (strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64) /* an image id, as docker says */
        return vic_err_set(err, VIC_EINVAL,
                           "invalid repository name (%s), cannot specify 64-byte hexadecimal "
                           "strings",
                           s);
    cleanup_free char *copy = xstrdup(s);
    pl_ref *r = xzalloc(sizeof(*r));
    int rc = 0;
    char *at = strchr(copy, '@');
    if (at) {
        *at = '\0';
        if (strncmp(at + 1, "sha256:", 7) != 0) {
            rc = vic_err_set(err, VIC_EINVAL, "invalid reference \"%.200s\": only sha256 digests",
                             s);
            goto fail;
        }
        if (!pl_digest_valid(at + 1)) {
            rc = vic_err_set(err, VIC_EINVAL, "invalid reference \"%.200s\": malformed digest", s);
            goto fail;
        }
        r->digest = xstrdup(at + 1);
    }
    char *last_slash = strrchr(copy, '/');
    char *colon = strrchr(copy, ':');
    if (colon && (!last_slash || colon > last_slash)) {
        *colon = '\0';
        if (!tag_ok(colon + 1)) {
            rc = vic_err_set(err, VIC_EINVAL, "invalid reference \"%.200s\": malformed tag", s);
            goto fail;
        }
        r->tag = xstrdup(colon + 1);
    }
    char *name = copy;
    char *slash = strchr(name, '/');
    const char *path = name;
    if (slash) {
        *slash = '\0';
        int is_domain = strpbrk(name, ".:") != NULL || strcmp(name, "localhost") == 0;
        for (const char *p = name; *p && !is_domain; p++)
            if (isupper((unsigned char)*p))
                is_domain = 1;
        if (is_domain) {
            if (!domain_ok(name)) {
                rc = vic_err_set(err, VIC_EINVAL, "invalid reference \"%.200s\": bad registry", s);
                goto fail;
            }
            r->domain = xstrdup(strcmp(name, "index.docker.io") == 0 ? PL_DOCKER_HUB_DOMAIN : name);
            path = slash + 1;
        } else {
            *slash = '/';
        }
    }
    if (r->domain == NULL)
        r->domain = xstrdup(PL_DOCKER_HUB_DOMAIN);
    if (!*path) {
        rc = vic_err_set(err, VIC_EINVAL, "invalid reference \"%.200s\": bad repository name", s);
        goto fail;
    }
    for (const char *p = path;;) {
        const char *q = strchr(p, '/');
        size_t len = q ? (size_t)(q - p) : strlen(p);
        if (!path_component_ok(p, len)) {
            rc = vic_err_set(err, VIC_EINVAL,
                             "invalid reference \"%.200s\": repository name must be lowercase "
                             "letters, digits and separators",
                             s);
            goto fail;
        }
        if (!q)
            break;
        p = q + 1;
    }
    if (strcmp(r->domain, PL_DOCKER_HUB_DOMAIN) == 0 && strchr(path, '/') == NULL)
        r->repository = xasprintf("library/%s", path);
    else
        r->repository = xstrdup(path);
    if (strlen(r->domain) + 1 + strlen(r->repository) > 255) {
        rc = vic_err_set(err, VIC_EINVAL, "invalid reference \"%.200s\": name over 255 bytes", s);
        goto fail;
    }
    if (r->tag == NULL && r->digest == NULL)
        r->tag = xstrdup(PL_DEFAULT_TAG);
    *out = r;
    return 0;
fail:
    pl_ref_free(r);
    return rc;
}

char *pl_ref_name(const pl_ref *r)
{
    return xasprintf("%s/%s", r->domain, r->repository);
}

char *pl_ref_string(const pl_ref *r)
{
    if (r->digest)
        return xasprintf("%s/%s@%s", r->domain, r->repository, r->digest);
    return xasprintf("%s/%s:%s", r->domain, r->repository, r->tag);
}

const char *pl_ref_registry_host(const pl_ref *r)
{
    return strcmp(r->domain, PL_DOCKER_HUB_DOMAIN) == 0 ? PL_DOCKER_HUB_REGISTRY : r->domain;
}
