/* libFuzzer harness: the EXEC frame that opens a VM's exec channel (hypervisor/local/
 * guestexec.c), as the monitor checks it before anything starts in the guest. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hypervisor/local/guestexec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vic_err *err = NULL;
    json_t *spec = gexec_parse_spec((const char *)data, size, &err);
    if (spec) {
        /* what the guest side relies on: a non-empty command of strings */
        json_t *cmd = json_object_get(spec, "cmd");
        if (!json_is_array(cmd) || json_array_size(cmd) == 0 ||
            !json_is_string(json_array_get(cmd, 0)) ||
            strlen(json_string_value(json_array_get(cmd, 0))) == 0)
            abort();
        if (err)
            abort();
    } else if (err == NULL || err->msg[0] == '\0') {
        abort(); /* a refusal always says why */
    }
    json_decref(spec);
    vic_err_free(&err);
    return 0;
}
