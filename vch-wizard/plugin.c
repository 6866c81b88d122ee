#include "vch-wizard/plugin.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "lib/mem.h"
#include "lib/version.h"

/* "aa:bb:..." or 40 hex digits into vCenter's form "AA:BB:..."; 0 when not a SHA-1. */
static int sha1_thumbprint(const char *in, char out[60])
{
    char hex[41];
    size_t n = 0;
    for (const char *p = in; *p; p++) {
        if (*p == ':')
            continue;
        if (!isxdigit((unsigned char)*p) || n == 40)
            return 0;
        hex[n++] = (char)toupper((unsigned char)*p);
    }
    if (n != 40)
        return 0;
    size_t o = 0;
    for (size_t i = 0; i < 40; i += 2)
        o += (size_t)snprintf(out + o, 60 - o, "%s%c%c", i ? ":" : "", hex[i], hex[i + 1]);
    return 1;
}

static int check_url(const char *url, vic_err **err)
{
    if (url == NULL || *url == '\0')
        return vic_err_set(err, VIC_EINVAL,
                           "url: required: where the plugin's manifest is served, e.g. "
                           "https://HOST:8443/ui/vsphere-plugin.json");
    if (strncmp(url, "https://", 8) != 0 || url[8] == '\0' || url[8] == '/')
        return vic_err_set(err, VIC_EINVAL,
                           "url: %s: the vSphere Client loads plugins over https only", url);
    if (strpbrk(url, " \t\r\n\"<>"))
        return vic_err_set(err, VIC_EINVAL, "url: %s is not a URL", url);
    return 0;
}

int vch_plugin_install(hv_conn *hv, const vch_plugin_opts *o, json_t **out, vic_err **err)
{
    *out = NULL;
    int rc = check_url(o->url, err);
    if (rc < 0)
        return rc;
    char tp[60];
    if (o->thumbprint == NULL || !sha1_thumbprint(o->thumbprint, tp))
        return vic_err_set(err, VIC_EINVAL,
                           "server thumbprint: %s%s: expected the SHA-1 thumbprint (AA:BB:...) of "
                           "the certificate of the server at %s",
                           o->thumbprint ? o->thumbprint : "", o->thumbprint ? "" : "(none)",
                           o->url);
    const char *key = o->key ? o->key : VCH_PLUGIN_KEY;
    hv_extension x = {.key = key,
                      .version = o->version ? o->version : vic_version(),
                      .label = VCH_PLUGIN_LABEL,
                      .summary = VCH_PLUGIN_SUMMARY,
                      .company = o->company ? o->company : "VIC-C",
                      .url = o->url,
                      .thumbprint = tp,
                      .admin_email = o->admin_email};
    if ((rc = hv_extension_register(hv, &x, err)) < 0)
        return rc;
    return hv_extension_find(hv, key, out, err);
}

int vch_plugin_remove(hv_conn *hv, const char *key, vic_err **err)
{
    return hv_extension_unregister(hv, key ? key : VCH_PLUGIN_KEY, err);
}

int vch_plugin_info(hv_conn *hv, const char *key, json_t **out, vic_err **err)
{
    return hv_extension_find(hv, key ? key : VCH_PLUGIN_KEY, out, err);
}
