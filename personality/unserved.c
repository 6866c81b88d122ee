/*
 * unserved.c - the answers for the Docker features a VCH does not serve (see unserved.h).
 */
#include "personality/unserved.h"

#include <string.h>

#include "lib/cleanup.h"
#include "lib/mem.h"

void engine_unserved_rewrite(vic_http_req *req)
{
    const char *p = vic_http_req_path(req);
    if (strncmp(p, "/plugins/", 9) == 0 && p[9] != '\0') {
        const char *name = p + 9;
        /* the routes about no plugin in particular keep their paths */
        if (strcmp(name, "privileges") == 0 || strcmp(name, "pull") == 0 ||
            strcmp(name, "create") == 0)
            return;
        /* NAME, then an action: json, enable, disable, push, set, upgrade; or NAME alone
         * (DELETE) */
        const char *last = strrchr(name, '/');
        static const char *const actions[] = {"json", "enable", "disable",
                                              "push", "set",    "upgrade"};
        size_t len = strlen(name);
        for (size_t i = 0; last && i < sizeof(actions) / sizeof(actions[0]); i++)
            if (strcmp(last + 1, actions[i]) == 0)
                len = (size_t)(last - name);
        if (len == 0)
            return;
        cleanup_free char *n = xstrndup(name, len);
        vic_http_req_add_query(req, "name", n);
        vic_http_req_set_path(req, "/plugins/named");
        return;
    }
    size_t pl = strlen(p);
    if (strncmp(p, "/distribution/", 14) == 0 && pl > 14 + 5 && strcmp(p + pl - 5, "/json") == 0) {
        cleanup_free char *n = xstrndup(p + 14, pl - 14 - 5);
        vic_http_req_add_query(req, "name", n);
        vic_http_req_set_path(req, "/distribution/inspect");
    }
}

int engine_no_swarm_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    (void)req, (void)resp, (void)payload;
    return vic_err_set(err, VIC_EUNAVAIL, "%s", ENGINE_NO_SWARM_MANAGER);
}

int engine_swarm_leave_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    (void)req, (void)resp, (void)payload;
    return vic_err_set(err, VIC_EUNAVAIL, "%s", ENGINE_NO_SWARM);
}

int engine_plugin_list_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    (void)req, (void)payload, (void)err;
    vic_http_resp_json(resp, 200, json_array());
    return 0;
}

int engine_plugin_named_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                vic_err **err)
{
    (void)resp, (void)payload;
    const char *name = vic_http_req_query(req, "name");
    return vic_err_set(err, VIC_ENOTFOUND, "plugin \"%.200s\" not found", name ? name : "");
}
