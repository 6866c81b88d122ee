/*
 * soap.h - a small vim25 SOAP client over libcurl and libxml2 for the vsphere driver.
 *
 * One vs_conn holds one curl handle (keep-alive, the session cookie) behind a mutex, so a
 * connection may be used from several threads; calls are serialised. TLS is verified against
 * the system CAs, or against a pinned certificate thumbprint (SHA-1 or SHA-256) when one is
 * given; a refused certificate's error message shows the server's actual thumbprints.
 *
 * Responses are parsed with XML_PARSE_NONET, no entity substitution, no DTD accepted, and a
 * size limit. Element names are matched by local name; xsi:type attributes are found through
 * their namespace (vcsim writes "XMLSchema-instance:type", not "xsi:type").
 *
 * Object references travel as "Type:value" strings ("VirtualMachine:vm-42").
 */
#ifndef VIC_HV_VSPHERE_SOAP_H
#define VIC_HV_VSPHERE_SOAP_H

#include <curl/curl.h>
#include <jansson.h>
#include <libxml/tree.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "hypervisor/hv.h"
#include "lib/err.h"
#include "lib/mem.h"

#define VS_MAX_RESPONSE (64u << 20) /* bytes of one SOAP response */
#define VS_NS_VIM25     "urn:vim25"
#define VS_NS_XSI       "http://www.w3.org/2001/XMLSchema-instance"
#define VS_NS_SOAPENV   "http://schemas.xmlsoap.org/soap/envelope/"

typedef struct vs_conn {
    hv_conn base; /* first: the driver table */
    pthread_mutex_t mu;
    CURL *curl;
    CURLSH *share;             /* the session cookie, shared with file-transfer handles */
    char *host;                /* "host[:port]" */
    char *url;                 /* "https://host[:port]/sdk" */
    unsigned long round_trips; /* SOAP requests sent (under mu), for benchmarks */
    char *user;
    char *password;
    char pin[65];       /* pinned thumbprint, lower-case hex without colons; "" for CA checks */
    char seen_sha1[64]; /* the server certificate's thumbprints at the last handshake */
    char seen_sha256[100];
    int tls_verdict; /* 0 none, 1 pin mismatch, 2 untrusted */
    bool logged_in;
    pthread_mutex_t cache_mu;
    pthread_mutex_t create_mu; /* serialises VM creates (name check, then create) */
    json_t *ds_cache;          /* datastore name -> {"dc": ref, "dc_path": path}, under cache_mu */
    /* service content */
    char root_folder[HV_REF_MAX];
    char property_collector[HV_REF_MAX];
    char search_index[HV_REF_MAX];
    char file_manager[HV_REF_MAX];
    char session_manager[HV_REF_MAX];
    char view_manager[HV_REF_MAX];
    char extension_manager[HV_REF_MAX]; /* "" on ESX */
    char api_version[16];
} vs_conn;

/* ---- references ---- */

/* Splits "Type:value" into its parts (pointers into a static-free copy the caller owns). */
int vs_ref_split(const char *ref, char *type, size_t tcap, const char **value);
/* Appends <tag type="Type">value</tag> for ref "Type:value". */
void vs_xml_ref(vic_buf *b, const char *tag, const char *ref);
/* Appends s with XML special characters escaped. */
void vs_xml_escape(vic_buf *b, const char *s);
/* Appends <tag>escaped s</tag>. */
void vs_xml_elem(vic_buf *b, const char *tag, const char *s);

/* ---- parsing (no network; the fuzz harness drives these) ---- */

/* Parses a SOAP response body. On success *doc holds the document and *resp the element inside
 * soapenv:Body (e.g. <LoginResponse>). A SOAP fault returns its mapped vic_code with the message
 * "TYPE: faultstring", and its type in fault_type (may be NULL). */
int vs_soap_parse(const char *body, size_t len, long http_status, xmlDoc **doc, xmlNode **resp,
                  char *fault_type, size_t ftcap, vic_err **err);

/* The vic_code for a vSphere fault type ("InvalidLogin" -> VIC_EAUTH). */
int vs_fault_code(const char *fault_type);

/* The xsi:type of n resolved through its namespace, without any prefix; NULL when absent. */
const char *vs_xsi_type(xmlNode *n, char *buf, size_t cap);

/* First element child of n with local name `name` (NULL: any element). */
xmlNode *vs_child(xmlNode *n, const char *name);
/* Next element sibling after n with local name `name` (NULL: any). */
xmlNode *vs_next(xmlNode *n, const char *name);
/* Text content of n (owned by the caller). */
char *vs_text(xmlNode *n);

/* A property value as JSON: strings for simple types, "Type:value" for references, arrays for
 * ArrayOf*, an object of key -> value for ArrayOfOptionValue, and objects (with "_type" when
 * typed) for data objects. New reference. */
json_t *vs_val_json(xmlNode *val);

/* A RetrievePropertiesEx / ContinueRetrievePropertiesEx response element as JSON: appends
 * {"ref", "props": {path: value}} per object to objs and sets *token (owned; NULL when done).
 * A missingSet NotAuthenticated yields VIC_EAUTH (fault_type "NotAuthenticated"). */
int vs_parse_retrieve(xmlNode *resp, json_t *objs, char **token, char *fault_type, size_t ftcap,
                      vic_err **err);

/* ---- calls ---- */

/* Opens a connection: service content, then Login. */
int vs_open(vs_conn *c, const hv_connect_opts *opts, vic_err **err);
void vs_close_conn(vs_conn *c);

/* Calls method with the body's inner XML (after <_this>), on the managed object this_ref.
 * *doc (free with xmlFreeDoc) and *resp are set on success. Re-logs in once when the session
 * has expired. */
int vs_call(vs_conn *c, const char *method, const char *this_ref, const char *inner, xmlDoc **doc,
            xmlNode **resp, vic_err **err);

/* Like vs_call for a method returning one reference; *out is "Type:value" or "" when none. */
int vs_call_ref(vs_conn *c, const char *method, const char *this_ref, const char *inner, char *out,
                size_t cap, vic_err **err);

/* RetrievePropertiesEx with the given <specSet> inner XML, following ContinueRetrievePropertiesEx
 * tokens; *out is the array of objects as vs_parse_retrieve builds them. */
int vs_retrieve(vs_conn *c, const char *spec_inner, json_t **out, vic_err **err);

/* Properties of one object: *out is its "props" object (VIC_ENOTFOUND when it is gone). */
int vs_props(vs_conn *c, const char *ref, const char *const *paths, json_t **out, vic_err **err);

/* Waits for a task (polling info with backoff). *result (may be NULL) gets info.result. A failed
 * task returns its fault's code with the fault type and localized message. */
int vs_wait_task(vs_conn *c, const char *task, json_t **result, vic_err **err);

/* An HTTP transfer against https://host/folder/... with the session cookie. method "GET"
 * writes the body to fd_out; "PUT" sends the file in_path. Returns the HTTP status in *status. */
int vs_http_file(vs_conn *c, const char *method, const char *path_query, int fd_out,
                 const char *in_path, long *status, vic_err **err);

#endif
