/* libFuzzer harness: a VCH specification from a REST caller or a token holder, checked the way
 * a create and a self-provision check it (vch-wizard/spec.c, with a token's limits laid on by
 * self-provision/provision.c). */
#include <stdint.h>
#include <stdlib.h>

#include "lib/json.h"
#include "self-provision/provision.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *spec = NULL;
    if (vic_json_parse(&spec, (const char *)data, size, 64 * 1024, NULL) < 0)
        return 0;
    json_t *open = json_object();
    json_t *tight =
        json_pack("{s:s, s:s, s:I, s:I, s:I, s:[s], s:[s], s:s, s:b}", "target", "local", "compute",
                  "/ha-datacenter/host/local/Resources", "memory_mb", (json_int_t)4096, "cpu_mhz",
                  (json_int_t)2000, "storage_gb", (json_int_t)20, "image_datastores", "datastore1",
                  "networks", "bridge", "name_prefix", "team-", "tls_required", 1);
    const json_t *rs[] = {open, tight};
    for (size_t i = 0; i < 2; i++) {
        json_t *out = NULL, *problems = NULL;
        vic_err *err = NULL;
        if (sp_check_spec(&out, &problems, sp_inventory_local(), rs[i], spec, NULL, &err) == 0) {
            char *s = json_dumps(out, JSON_COMPACT);
            free(s);
        } else if (err == NULL || json_array_size(problems) == 0) {
            abort(); /* a refusal always says why */
        }
        json_decref(out);
        json_decref(problems);
        vic_err_free(&err);
    }
    json_decref(open);
    json_decref(tight);
    json_decref(spec);
    return 0;
}
