/* libFuzzer harness: the vsphere driver's SOAP response parser (hypervisor/vsphere/soap.c):
 * envelope and fault parsing, property values to JSON, RetrievePropertiesEx results.
 * The first byte picks the HTTP status the body arrived with (200 or 500). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hypervisor/vsphere/soap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    long status = (data[0] & 1) ? 500 : 200;
    xmlDoc *doc = NULL;
    xmlNode *resp = NULL;
    char ft[128];
    vic_err *err = NULL;
    int rc =
        vs_soap_parse((const char *)data + 1, size - 1, status, &doc, &resp, ft, sizeof(ft), &err);
    if (rc < 0) {
        if (err == NULL || err->msg == NULL || doc != NULL)
            abort(); /* a failure always explains itself and leaks no document */
        vic_err_free(&err);
        return 0;
    }
    if (doc == NULL || resp == NULL)
        abort();
    json_t *objs = json_array();
    char *token = NULL;
    if (vs_parse_retrieve(resp, objs, &token, ft, sizeof(ft), &err) < 0)
        vic_err_free(&err);
    char *s = json_dumps(objs, JSON_COMPACT);
    free(s);
    json_decref(objs);
    free(token);
    for (xmlNode *n = vs_child(resp, NULL); n; n = vs_next(n, NULL)) {
        json_t *v = vs_val_json(n);
        json_decref(v);
    }
    xmlFreeDoc(doc);
    return 0;
}
