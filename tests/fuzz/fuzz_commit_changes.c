/* libFuzzer harness: docker commit's changes (personality/commit.c engine_commit_changes), the
 * Dockerfile lines a client sends as ?changes=..., with Docker's quoting and substitution.
 * Input: the first line is the config's Env (entries split at '|'), the rest the changes. A
 * change taken must leave a config Docker could hold: Cmd and Entrypoint lists of strings (or
 * null), Env a list of NAME=value strings, Labels, ExposedPorts and Volumes objects, and
 * WorkingDir absolute; a refusal must say why. The merge with a container's config
 * (engine_commit_merge) must keep those shapes too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/mem.h"
#include "personality/commit.h"

static int strings(const json_t *a)
{
    if (a == NULL || json_is_null(a))
        return 1;
    if (!json_is_array(a))
        return 0;
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) if (!json_is_string(v)) return 0;
    return 1;
}

static int objects_ok(const json_t *cfg)
{
    static const char *const keys[] = {"Labels", "ExposedPorts", "Volumes"};
    for (size_t i = 0; i < 3; i++) {
        const json_t *v = json_object_get(cfg, keys[i]);
        if (v && !json_is_object(v))
            return 0;
    }
    return 1;
}

static void check(const json_t *cfg)
{
    if (!strings(json_object_get(cfg, "Cmd")) || !strings(json_object_get(cfg, "Entrypoint")) ||
        !strings(json_object_get(cfg, "Env")) || !strings(json_object_get(cfg, "OnBuild")) ||
        !objects_ok(cfg))
        abort();
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(cfg, "Env"), i, v)
    {
        const char *kv = json_string_value(v);
        if (strchr(kv, '=') == NULL || kv[0] == '=')
            abort();
    }
    const char *wd = json_string_value(json_object_get(cfg, "WorkingDir"));
    if (wd && wd[0] != '/')
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192)
        return 0;
    char *text = xstrndup((const char *)data, size);
    char *nl = strchr(text, '\n');
    const char *changes = nl ? nl + 1 : "";
    if (nl)
        *nl = '\0';
    json_t *cfg = json_object(), *env = json_array();
    char *save = NULL;
    for (char *e = strtok_r(text, "|", &save); e; e = strtok_r(NULL, "|", &save))
        if (strchr(e, '=') && e[0] != '=')
            json_array_append_new(env, json_string(e));
    json_object_set_new(cfg, "Env", env);
    vic_err *err = NULL;
    if (engine_commit_changes(cfg, changes, &err) == 0) {
        check(cfg);
        json_t *ccfg =
            json_pack("{s:[s], s:[s], s:{s:s}, s:{s:{}}, s:s}", "Cmd", "sh", "Env", "PATH=/bin",
                      "Labels", "a", "b", "Volumes", "/v", "WorkingDir", "/w");
        engine_commit_merge(cfg, ccfg);
        check(cfg);
        json_decref(ccfg);
    } else if (err == NULL || err->msg == NULL || err->msg[0] == '\0') {
        abort();
    }
    vic_err_free(&err);
    json_decref(cfg);
    free(text);
    return 0;
}
