#include "hypervisor/local/vmx.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/file.h"
#include "lib/mem.h"

int vmx_key_valid(const char *key)
{
    size_t n = strlen(key);
    if (n == 0 || n > VMX_MAX_KEY)
        return 0;
    for (const char *p = key; *p; p++)
        if (*p <= ' ' || *p > '~' || *p == '=' || *p == '"' || *p == '#')
            return 0;
    return 1;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int parse_line(json_t *kv, const char *line, size_t len, size_t lineno, vic_err **err)
{
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    if (i == len || line[i] == '#')
        return 0;
    size_t ks = i;
    while (i < len && line[i] != ' ' && line[i] != '\t' && line[i] != '=')
        i++;
    char key[VMX_MAX_KEY + 1];
    size_t klen = i - ks;
    if (klen == 0 || klen > VMX_MAX_KEY)
        return vic_err_set(err, VIC_EINVAL, "line %zu: missing or overlong key", lineno);
    memcpy(key, line + ks, klen);
    key[klen] = '\0';
    if (!vmx_key_valid(key))
        return vic_err_set(err, VIC_EINVAL, "line %zu: invalid key", lineno);
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    if (i == len || line[i] != '=')
        return vic_err_set(err, VIC_EINVAL, "line %zu: expected '=' after %s", lineno, key);
    i++;
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    if (i == len || line[i] != '"')
        return vic_err_set(err, VIC_EINVAL, "line %zu: value of %s must be quoted", lineno, key);
    i++;
    vic_buf v = VIC_BUF_INIT;
    vic_buf_append(&v, "", 0);
    int closed = 0;
    while (i < len) {
        char c = line[i];
        if (c == '"') {
            closed = 1;
            i++;
            break;
        }
        if (c == '|') {
            int hi = i + 2 < len ? hexval(line[i + 1]) : -1;
            int lo = i + 2 < len ? hexval(line[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                vic_buf_free(&v);
                return vic_err_set(err, VIC_EINVAL, "line %zu: bad escape in value of %s", lineno,
                                   key);
            }
            char d = (char)(hi * 16 + lo);
            vic_buf_append(&v, &d, 1);
            i += 3;
            continue;
        }
        if ((unsigned char)c < ' ') {
            vic_buf_free(&v);
            return vic_err_set(err, VIC_EINVAL, "line %zu: control character in value of %s",
                               lineno, key);
        }
        vic_buf_append(&v, &c, 1);
        i++;
    }
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    if (!closed || i != len) {
        vic_buf_free(&v);
        return vic_err_set(err, VIC_EINVAL, "line %zu: value of %s is not a closed quote", lineno,
                           key);
    }
    json_t *js = json_stringn(v.data, v.len);
    vic_buf_free(&v);
    if (js == NULL)
        return vic_err_set(err, VIC_EINVAL, "line %zu: value of %s is not UTF-8", lineno, key);
    if (json_object_get(kv, key)) {
        json_decref(js);
        return vic_err_set(err, VIC_EINVAL, "line %zu: %s appears twice", lineno, key);
    }
    json_object_set_new(kv, key, js);
    return 0;
}

int vmx_parse(json_t **out, const char *buf, size_t len, vic_err **err)
{
    *out = NULL;
    if (len > VMX_MAX_FILE)
        return vic_err_set(err, VIC_ETOOBIG, "configuration of %zu bytes exceeds %d", len,
                           VMX_MAX_FILE);
    json_t *kv = json_object();
    size_t lineno = 1;
    const char *p = buf, *end = buf + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (n && p[n - 1] == '\r')
            n--;
        if (memchr(p, '\0', n)) {
            json_decref(kv);
            return vic_err_set(err, VIC_EINVAL, "line %zu: NUL byte", lineno);
        }
        int rc = parse_line(kv, p, n, lineno, err);
        if (rc < 0) {
            json_decref(kv);
            return rc;
        }
        p = nl ? nl + 1 : end;
        lineno++;
    }
    *out = kv;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int vmx_format(char **out, const json_t *kv, vic_err **err)
{
    *out = NULL;
    size_t n = json_object_size(kv), i = 0;
    const char **keys = xcalloc(n ? n : 1, sizeof(char *));
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)kv, k, v)
    {
        if (!vmx_key_valid(k) || !json_is_string(v)) {
            free(keys);
            return vic_err_set(err, VIC_EINVAL, "cannot write key \"%s\" (%s)", k,
                               json_is_string(v) ? "invalid key" : "value is not a string");
        }
        keys[i++] = k;
    }
    qsort(keys, n, sizeof(char *), cmp_str);
    vic_buf b = VIC_BUF_INIT;
    vic_buf_append(&b, ".encoding = \"UTF-8\"\n", 20);
    for (i = 0; i < n; i++) {
        if (strcmp(keys[i], ".encoding") == 0)
            continue;
        const char *s = json_string_value(json_object_get(kv, keys[i]));
        vic_buf_appendf(&b, "%s = \"", keys[i]);
        for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
            if (*c < ' ' || *c == '"' || *c == '|' || *c == '#' || *c == 0x7f)
                vic_buf_appendf(&b, "|%02X", *c);
            else
                vic_buf_append(&b, c, 1);
        }
        vic_buf_append(&b, "\"\n", 2);
    }
    free(keys);
    *out = vic_buf_steal(&b);
    return 0;
}

int vmx_read(json_t **out, const char *path, vic_err **err)
{
    *out = NULL;
    cleanup_free char *text = NULL;
    size_t len = 0;
    int rc = vic_file_read(&text, &len, path, VMX_MAX_FILE, err);
    if (rc < 0)
        return rc;
    if ((rc = vmx_parse(out, text, len, err)) < 0)
        return vic_err_wrap(err, rc, "%s", path);
    return 0;
}

int vmx_write(const char *path, const json_t *kv, vic_err **err)
{
    cleanup_free char *text = NULL;
    int rc = vmx_format(&text, kv, err);
    if (rc < 0)
        return rc;
    return vic_file_write_atomic(path, text, strlen(text), 0644, err);
}
