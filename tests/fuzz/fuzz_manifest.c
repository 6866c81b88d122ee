/* libFuzzer harness: what a registry sends us (portlayer/registry.c). The first byte picks the
 * parser: image references (which must print and parse back to the same string), manifests
 * and indexes under each media type (an index must also survive a platform pick), image
 * configs, and WWW-Authenticate challenges. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mem.h"
#include "portlayer/registry.h"

static const char *const media_types[] = {
    NULL,
    "",
    PL_MT_DOCKER_MANIFEST,
    PL_MT_DOCKER_LIST,
    PL_MT_OCI_MANIFEST,
    PL_MT_OCI_INDEX,
    "application/json",
    "text/plain",
};

static void fuzz_ref(const char *s)
{
    pl_ref *r = NULL;
    if (pl_ref_parse(&r, s, NULL) < 0) {
        if (r)
            abort(); /* nothing handed out on failure */
        return;
    }
    char *str = pl_ref_string(r);
    char *name = pl_ref_name(r);
    if (strncmp(str, name, strlen(name)) != 0 || pl_ref_registry_host(r) == NULL)
        abort();
    pl_ref *back = NULL;
    if (pl_ref_parse(&back, str, NULL) < 0)
        abort(); /* a normalised reference parses */
    char *again = pl_ref_string(back);
    if (strcmp(again, str) != 0)
        abort(); /* and is a fixed point */
    free(again);
    pl_ref_free(back);
    free(name);
    free(str);
    pl_ref_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t sel = data[0];
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    char *text = xstrndup(body, len); /* NUL-terminated copy for the string parsers */
    json_t *out = NULL;
    switch (sel % 4) {
    case 0:
        fuzz_ref(text);
        break;
    case 1: {
        const char *mt = media_types[(sel >> 2) % (sizeof(media_types) / sizeof(media_types[0]))];
        if (pl_manifest_parse(&out, body, len, mt, NULL) == 0) {
            const char *kind = json_string_value(json_object_get(out, "kind"));
            if (kind == NULL)
                abort();
            if (strcmp(kind, "index") == 0) {
                const json_t *pick = NULL;
                if (pl_index_pick(&pick, out, "linux", "amd64", NULL) == 0 &&
                    !pl_digest_valid(json_string_value(json_object_get(pick, "digest"))))
                    abort();
            } else {
                json_t *layers = json_object_get(out, "layers");
                for (size_t i = 0; i < json_array_size(layers); i++)
                    if (!pl_digest_valid(json_string_value(
                            json_object_get(json_array_get(layers, i), "digest"))))
                        abort();
            }
        } else if (out) {
            abort();
        }
        break;
    }
    case 2:
        if (pl_image_config_parse(&out, body, len, NULL) == 0) {
            json_t *ids = json_object_get(out, "diff_ids");
            for (size_t i = 0; i < json_array_size(ids); i++)
                if (!pl_digest_valid(json_string_value(json_array_get(ids, i))))
                    abort();
        }
        break;
    case 3:
        if (pl_auth_challenge_parse(&out, text, NULL) == 0 &&
            !json_is_string(json_object_get(out, "scheme")))
            abort();
        break;
    }
    json_decref(out);
    free(text);
    return 0;
}
