/*
 * fuzz_guestinfo.c - libFuzzer harness for the guestinfo decoder (lib/guestinfo.c).
 *
 * The input is lines "key=value" (split at the first '='), which become the extraConfig map a
 * guest could have written. It is decoded with the sample description; when that succeeds the
 * result must survive encode -> decode unchanged, and encoding twice must give the same keys
 * and (secrets apart, whose nonces differ) the same values. Any difference aborts.
 *
 *   make FUZZ=1 fuzzers
 *   cp -r tests/fuzz/corpus/fuzz_guestinfo /tmp/gi-corpus
 *   build-fuzz/fuzz/fuzz_guestinfo -max_total_time=60 /tmp/gi-corpus
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/err.h"
#include "lib/guestinfo.h"
#include "lib/mem.h"
#include "tests/fuzz/guestinfo_sample.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what, const vic_err *err)
{
    fprintf(stderr, "fuzz_guestinfo: %s: %s\n", what, err ? err->msg : "(no error)");
    abort();
}

static json_t *parse_lines(const uint8_t *data, size_t size)
{
    json_t *kv = json_object();
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = nl ? nl : end;
        const char *eq = memchr(p, '=', (size_t)(line_end - p));
        if (eq != NULL) {
            char *key = xstrndup(p, (size_t)(eq - p)); /* stops at an embedded NUL */
            /* json_stringn refuses invalid UTF-8 (as a real extraConfig source would); the value
             * may still hold NUL bytes, which the decoder must refuse itself. */
            json_t *v = json_stringn(eq + 1, (size_t)(line_end - eq - 1));
            if (v != NULL)
                json_object_set_new(kv, key, v); /* fails, and frees v, for a non-UTF-8 key */
            free(key);
        }
        p = line_end + 1;
    }
    return kv;
}

/* Same keys, and the same values except for encrypted ones. */
static int same_layout(const json_t *a, const json_t *b)
{
    if (json_object_size(a) != json_object_size(b))
        return 0;
    const char *key;
    json_t *va;
    json_object_foreach((json_t *)a, key, va)
    {
        json_t *vb = json_object_get(b, key);
        if (vb == NULL)
            return 0;
        if (strstr(key, "@secret") == NULL && !json_equal(va, vb))
            return 0;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static vic_gi_key *key;
    if (key == NULL && vic_gi_key_from_hex(&key, GI_SAMPLE_KEY_HEX, NULL) < 0)
        abort();

    json_t *kv = parse_lines(data, size);
    const char *k;
    json_t *v;
    json_object_foreach(kv, k, v)
    {
        (void)vic_gi_key_is_readonly(k);
    }

    gi_config a, b;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    vic_err *err = NULL;
    json_t *kv2 = NULL, *kv3 = NULL;
    if (vic_gi_decode(&a, &gi_config_desc, kv, "", key, &err) < 0) {
        /* Every failure carries a message. */
        if (err == NULL || err->msg[0] == '\0')
            die("decode failed without a message", err);
        goto done;
    }
    kv2 = json_object();
    if (vic_gi_encode(kv2, &gi_config_desc, &a, "", key, &err) < 0)
        die("encoding a decoded value failed", err);
    if (vic_gi_decode(&b, &gi_config_desc, kv2, "", key, &err) < 0)
        die("decoding an encoded value failed", err);
    if (!vic_gi_equal(&gi_config_desc, &a, &b))
        die("decode(encode(decode(x))) differs from decode(x)", NULL);
    kv3 = json_object();
    if (vic_gi_encode(kv3, &gi_config_desc, &b, "", key, &err) < 0)
        die("encoding a second time failed", err);
    if (!same_layout(kv2, kv3))
        die("two encodings of the same value differ", NULL);

done:
    vic_err_free(&err);
    vic_gi_free(&gi_config_desc, &a);
    vic_gi_free(&gi_config_desc, &b);
    json_decref(kv);
    json_decref(kv2);
    json_decref(kv3);
    return 0;
}
