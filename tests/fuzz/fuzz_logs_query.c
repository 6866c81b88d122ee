/* libFuzzer harness: docker logs' query (personality/logs.c engine_logs_query) and Docker's
 * query timestamps (lib/timefmt.c vic_unix_time_parse). Input: "name=value&..." as the
 * server hands them over (decoded). A query taken must make a port layer path that holds
 * exactly its seven parameters, whatever the values: nothing a client sends can add one. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mem.h"
#include "lib/timefmt.h"
#include "personality/logs.h"

/* Whether v is "-?DIGITS(.DIGITS)?". */
static int timestamp_shaped(const char *v)
{
    v += *v == '-';
    size_t n = strspn(v, "0123456789");
    if (n == 0)
        return 0;
    v += n;
    if (*v == '.') {
        n = strspn(v + 1, "0123456789");
        if (n == 0)
            return 0;
        v += 1 + n;
    }
    return *v == '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *text = xstrndup((const char *)data, size);
    int64_t ns;
    if ((vic_unix_time_parse(text, &ns) == 0) != timestamp_shaped(text))
        abort();
    vic_http_req *req = vic_http_req_new("GET", "/containers/x/logs");
    char *save = NULL;
    for (char *kv = strtok_r(text, "&", &save); kv; kv = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(kv, '=');
        if (eq)
            *eq++ = '\0';
        vic_http_req_add_query(req, kv, eq ? eq : "");
    }
    char *suffix = NULL;
    bool stamps;
    vic_err *err = NULL;
    if (engine_logs_query(req, &suffix, &stamps, &err) == 0) {
        static const char *const keys[] = {"format", "stdout", "stderr", "follow",
                                           "tail",   "since",  "until"};
        if (strncmp(suffix, "/logs?", 6) != 0)
            abort();
        size_t i = 0;
        for (char *kv = strtok_r(suffix + 6, "&", &save); kv;
             kv = strtok_r(NULL, "&", &save), i++) {
            char *eq = strchr(kv, '=');
            if (i >= 7 || eq == NULL || (size_t)(eq - kv) != strlen(keys[i]) ||
                strncmp(kv, keys[i], strlen(keys[i])) != 0 || strpbrk(eq + 1, "?#= "))
                abort();
        }
        if (i != 7)
            abort();
    } else if (err == NULL || err->code != VIC_EINVAL) {
        abort();
    }
    vic_err_free(&err);
    free(suffix);
    vic_http_req_free(req);
    free(text);
    return 0;
}
