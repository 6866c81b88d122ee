/*
 * plugin.h - VIC-C's vSphere Client plugin, as vCenter knows it: an extension registered
 * with its ExtensionManager (key, version, the URL of the plugin's manifest and the
 * thumbprint of the certificate of the server that serves it). The manifest is
 * ui-assets/vsphere-plugin.json, which vic-webservice serves at /ui/vsphere-plugin.json.
 */
#ifndef VIC_VCH_PLUGIN_H
#define VIC_VCH_PLUGIN_H

#include <jansson.h>

#include "hypervisor/hv.h"
#include "lib/err.h"

#define VCH_PLUGIN_KEY     "com.vmware.vic.ui"
#define VCH_PLUGIN_LABEL   "vSphere Integrated Containers (VIC-C)"
#define VCH_PLUGIN_SUMMARY "Virtual Container Hosts: create, inspect and delete them"

typedef struct vch_plugin_opts {
    const char *key;         /* NULL: VCH_PLUGIN_KEY */
    const char *version;     /* NULL: this build's version */
    const char *url;         /* https URL of the manifest (required to install) */
    const char *thumbprint;  /* SHA-1 of that server's certificate (required to install) */
    const char *company;     /* NULL: "VIC-C" */
    const char *admin_email; /* may be NULL */
} vch_plugin_opts;

/* Registers the plugin (or updates its registration) and reads it back into *out (new
 * reference, as hv_extension_find). VIC_EINVAL names a malformed url or thumbprint. */
int vch_plugin_install(hv_conn *hv, const vch_plugin_opts *o, json_t **out, vic_err **err);

/* Unregisters it; VIC_ENOTFOUND when it is not registered. */
int vch_plugin_remove(hv_conn *hv, const char *key, vic_err **err);

/* The registration (new reference); VIC_ENOTFOUND when there is none. */
int vch_plugin_info(hv_conn *hv, const char *key, json_t **out, vic_err **err);

#endif
