/* libFuzzer harness: the Docker endpoint's request paths before routing (personality/routes.c
 * engine_prepare): the /vX.Y prefix, the rewrites of paths that carry image and plugin names
 * with slashes (personality/images.c, personality/unserved.c), and Docker's "page not found"
 * for what no route serves. Input: "METHOD PATH". */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mem.h"
#include "personality/engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *text = xstrndup((const char *)data, size);
    char *sp = strchr(text, ' ');
    if (sp == NULL || strlen(sp + 1) == 0 || sp[1] != '/') {
        free(text);
        return 0;
    }
    *sp = '\0';
    vic_http_req *req = vic_http_req_new(text, sp + 1);
    vic_err *err = NULL;
    int rc = engine_prepare(req, NULL, &err);
    if (rc == 0) {
        const char *p = vic_http_req_path(req);
        if (err != NULL || p == NULL || p[0] != '/')
            abort(); /* a prepared request has a path to route */
    } else if (err == NULL || err->msg[0] == '\0' || err->code != rc) {
        abort(); /* a refusal says why */
    }
    vic_err_free(&err);
    vic_http_req_free(req);
    free(text);
    return 0;
}
