/* libFuzzer harness: the local host's .vmx parser and writer (hypervisor/local/vmx.c).
 * Whatever parses must format and parse back to the same keys and values. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hypervisor/local/vmx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *kv = NULL;
    if (vmx_parse(&kv, (const char *)data, size, NULL) < 0)
        return 0;
    char *text = NULL;
    if (vmx_format(&text, kv, NULL) < 0)
        abort(); /* everything the parser accepts must be writable */
    json_t *back = NULL;
    if (vmx_parse(&back, text, strlen(text), NULL) < 0)
        abort();
    json_object_del(kv, ".encoding");
    json_object_del(back, ".encoding");
    if (!json_equal(kv, back))
        abort();
    json_decref(back);
    json_decref(kv);
    free(text);
    return 0;
}
