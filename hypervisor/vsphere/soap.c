#include "hypervisor/vsphere/soap.h"

#include <ctype.h>
#include <errno.h>
#include <libxml/parser.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/httpc.h"
#include "lib/log.h"

/* ---- references and XML writing ---- */

int vs_ref_split(const char *ref, char *type, size_t tcap, const char **value)
{
    const char *colon = ref ? strchr(ref, ':') : NULL;
    if (colon == NULL || colon == ref || (size_t)(colon - ref) >= tcap || colon[1] == '\0')
        return -1;
    memcpy(type, ref, (size_t)(colon - ref));
    type[colon - ref] = '\0';
    for (const char *p = type; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_')
            return -1;
    *value = colon + 1;
    return 0;
}

void vs_xml_escape(vic_buf *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<':
            vic_buf_append(b, "&lt;", 4);
            break;
        case '>':
            vic_buf_append(b, "&gt;", 4);
            break;
        case '&':
            vic_buf_append(b, "&amp;", 5);
            break;
        case '"':
            vic_buf_append(b, "&quot;", 6);
            break;
        case '\'':
            vic_buf_append(b, "&apos;", 6);
            break;
        default:
            if ((unsigned char)*s < 0x20 && *s != '\t' && *s != '\n' && *s != '\r')
                break; /* not representable in XML 1.0 */
            vic_buf_append(b, s, 1);
        }
    }
}

void vs_xml_elem(vic_buf *b, const char *tag, const char *s)
{
    vic_buf_appendf(b, "<%s>", tag);
    vs_xml_escape(b, s);
    vic_buf_appendf(b, "</%s>", tag);
}

void vs_xml_ref(vic_buf *b, const char *tag, const char *ref)
{
    char type[64];
    const char *value = "";
    if (vs_ref_split(ref, type, sizeof(type), &value) < 0)
        snprintf(type, sizeof(type), "ManagedObject");
    vic_buf_appendf(b, "<%s type=\"%s\">", tag, type);
    vs_xml_escape(b, value);
    vic_buf_appendf(b, "</%s>", tag);
}

/* ---- XML reading ---- */

static bool name_is(xmlNode *n, const char *name)
{
    return n->type == XML_ELEMENT_NODE &&
           (name == NULL || strcmp((const char *)n->name, name) == 0);
}

xmlNode *vs_child(xmlNode *n, const char *name)
{
    for (xmlNode *c = n ? n->children : NULL; c; c = c->next)
        if (name_is(c, name))
            return c;
    return NULL;
}

xmlNode *vs_next(xmlNode *n, const char *name)
{
    for (xmlNode *c = n ? n->next : NULL; c; c = c->next)
        if (name_is(c, name))
            return c;
    return NULL;
}

char *vs_text(xmlNode *n)
{
    vic_buf b = VIC_BUF_INIT;
    vic_buf_append(&b, "", 0);
    for (xmlNode *c = n ? n->children : NULL; c; c = c->next)
        if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content)
            vic_buf_append(&b, c->content, strlen((const char *)c->content));
    return vic_buf_steal(&b);
}

const char *vs_xsi_type(xmlNode *n, char *buf, size_t cap)
{
    for (xmlAttr *a = n->properties; a; a = a->next) {
        if (a->ns == NULL || a->ns->href == NULL || strcmp((const char *)a->name, "type") != 0 ||
            strcmp((const char *)a->ns->href, VS_NS_XSI) != 0)
            continue;
        char *v cleanup_free = NULL;
        xmlChar *raw = xmlNodeListGetString(n->doc, a->children, 1);
        if (raw) {
            v = xstrdup((const char *)raw);
            xmlFree(raw);
        }
        if (v == NULL)
            return NULL;
        const char *colon = strrchr(v, ':');
        snprintf(buf, cap, "%s", colon ? colon + 1 : v);
        return buf;
    }
    return NULL;
}

static const struct {
    const char *type;
    int code;
} fault_codes[] = {
    {"InvalidLogin", VIC_EAUTH},
    {"NotAuthenticated", VIC_EAUTH},
    {"NoPermission", VIC_EFORBIDDEN},
    {"DuplicateName", VIC_ECONFLICT},
    {"AlreadyExists", VIC_ECONFLICT},
    {"FileAlreadyExists", VIC_ECONFLICT},
    {"ConcurrentAccess", VIC_ECONFLICT},
    {"InvalidPowerState", VIC_ECONFLICT},
    {"InvalidState", VIC_ECONFLICT},
    {"ResourceInUse", VIC_ECONFLICT},
    {"ManagedObjectNotFound", VIC_ENOTFOUND},
    {"FileNotFound", VIC_ENOTFOUND},
    {"NotFound", VIC_ENOTFOUND},
    {"InvalidArgument", VIC_EINVAL},
    {"InvalidName", VIC_EINVAL},
    {"InvalidDatastorePath", VIC_EINVAL},
    {"InvalidRequest", VIC_EINVAL},
    {"InvalidType", VIC_EINVAL},
    {"InvalidProperty", VIC_EINVAL},
    {"NotSupported", VIC_EUNSUPPORTED},
    {"NotImplemented", VIC_EUNSUPPORTED},
};

int vs_fault_code(const char *fault_type)
{
    for (size_t i = 0; fault_type && i < sizeof(fault_codes) / sizeof(fault_codes[0]); i++)
        if (strcmp(fault_type, fault_codes[i].type) == 0)
            return fault_codes[i].code;
    return VIC_EUPSTREAM;
}

/* The type of a fault element: its xsi:type, or its name without the "Fault" suffix. */
static void fault_elem_type(xmlNode *f, char *out, size_t cap)
{
    char buf[128];
    const char *t = vs_xsi_type(f, buf, sizeof(buf));
    if (t) {
        snprintf(out, cap, "%s", t);
        return;
    }
    size_t n = strlen((const char *)f->name);
    if (n > 5 && strcmp((const char *)f->name + n - 5, "Fault") == 0)
        n -= 5;
    snprintf(out, cap, "%.*s", (int)(n < 120 ? n : 120), (const char *)f->name);
}

/* Readable details some faults carry (e.g. InvalidArgument's invalidProperty). */
static void fault_details(xmlNode *f, vic_buf *b)
{
    static const char *const fields[] = {"invalidProperty", "name",      "text",
                                         "property",        "datastore", "file"};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        xmlNode *n = vs_child(f, fields[i]);
        if (n && vs_child(n, NULL) == NULL) {
            char *t cleanup_free = vs_text(n);
            if (*t)
                vic_buf_appendf(b, " (%s: %.200s)", fields[i], t);
        }
    }
}

int vs_soap_parse(const char *body, size_t len, long http_status, xmlDoc **doc, xmlNode **resp,
                  char *fault_type, size_t ftcap, vic_err **err)
{
    *doc = NULL;
    *resp = NULL;
    if (fault_type && ftcap)
        fault_type[0] = '\0';
    if (len > VS_MAX_RESPONSE)
        return vic_err_set(err, VIC_ETOOBIG, "SOAP response of %zu bytes is over the limit", len);
    if (len == 0 || len > (size_t)0x7fffffff)
        return vic_err_set(err, VIC_EUPSTREAM, "empty SOAP response (HTTP %ld)", http_status);
    xmlDoc *d cleanup_xmldoc = xmlReadMemory(body, (int)len, NULL, NULL,
                                             XML_PARSE_NONET | XML_PARSE_NOERROR |
                                                 XML_PARSE_NOWARNING | XML_PARSE_NOCDATA);
    if (d == NULL) {
        char head[81];
        size_t n = len < 80 ? len : 80;
        for (size_t i = 0; i < n; i++) /* the body need not be NUL-terminated */
            head[i] = (body[i] >= 0x20 && body[i] < 0x7f) ? body[i] : '.';
        head[n] = '\0';
        return vic_err_set(err, VIC_EUPSTREAM, "unparsable SOAP response (HTTP %ld): %s",
                           http_status, head);
    }
    if (d->intSubset || d->extSubset)
        return vic_err_set(err, VIC_EUPSTREAM, "SOAP response carries a DTD; refused");
    xmlNode *env = xmlDocGetRootElement(d);
    if (env == NULL || !name_is(env, "Envelope") || env->ns == NULL ||
        strcmp((const char *)env->ns->href, VS_NS_SOAPENV) != 0)
        return vic_err_set(err, VIC_EUPSTREAM, "not a SOAP envelope (HTTP %ld)", http_status);
    xmlNode *bodyn = vs_child(env, "Body");
    xmlNode *r = vs_child(bodyn, NULL);
    if (r == NULL)
        return vic_err_set(err, VIC_EUPSTREAM, "SOAP envelope without a body (HTTP %ld)",
                           http_status);
    if (name_is(r, "Fault")) {
        char ft[128] = "";
        char *msg cleanup_free = vs_text(vs_child(r, "faultstring"));
        xmlNode *detail = vs_child(r, "detail");
        xmlNode *f = vs_child(detail, NULL);
        if (f)
            fault_elem_type(f, ft, sizeof(ft));
        else
            snprintf(ft, sizeof(ft), "ServerFault");
        if (fault_type && ftcap)
            snprintf(fault_type, ftcap, "%s", ft);
        vic_buf extra = VIC_BUF_INIT;
        vic_buf_append(&extra, "", 0);
        if (f)
            fault_details(f, &extra);
        int rc = vic_err_set(err, vs_fault_code(ft), "%s: %.500s%s", ft,
                             *msg ? msg : "(no message)", extra.data);
        vic_buf_free(&extra);
        return rc;
    }
    if (http_status != 200)
        return vic_err_set(err, VIC_EUPSTREAM, "HTTP %ld without a SOAP fault", http_status);
    *resp = r;
    *doc = steal_ptr(d);
    return 0;
}

/* ---- values ---- */

static char *ref_of(xmlNode *n)
{
    xmlChar *t = xmlGetNoNsProp(n, (const xmlChar *)"type");
    char *v cleanup_free = vs_text(n);
    char *s = xasprintf("%s:%s", t ? (const char *)t : "ManagedObject", v);
    xmlFree(t);
    return s;
}

static json_t *val_json_depth(xmlNode *val, int depth)
{
    char tb[128];
    const char *t = vs_xsi_type(val, tb, sizeof(tb));
    if (depth > 32)
        return json_null();
    if (t && strcmp(t, "ManagedObjectReference") == 0) {
        char *s cleanup_free = ref_of(val);
        return json_string(s);
    }
    if (t && strcmp(t, "ArrayOfOptionValue") == 0) {
        json_t *o = json_object();
        for (xmlNode *c = vs_child(val, NULL); c; c = vs_next(c, NULL)) {
            char *k cleanup_free = vs_text(vs_child(c, "key"));
            xmlNode *v = vs_child(c, "value");
            char *s cleanup_free = v ? vs_text(v) : xstrdup("");
            json_object_set_new(o, k, json_string(s));
        }
        return o;
    }
    if (t && strcmp(t, "ArrayOfManagedObjectReference") == 0) {
        json_t *a = json_array();
        for (xmlNode *c = vs_child(val, NULL); c; c = vs_next(c, NULL)) {
            char *s cleanup_free = ref_of(c);
            json_array_append_new(a, json_string(s));
        }
        return a;
    }
    if (t && strncmp(t, "ArrayOf", 7) == 0) {
        json_t *a = json_array();
        for (xmlNode *c = vs_child(val, NULL); c; c = vs_next(c, NULL))
            json_array_append_new(a, val_json_depth(c, depth + 1));
        return a;
    }
    if (vs_child(val, NULL) == NULL) {
        xmlChar *rt = xmlGetNoNsProp(val, (const xmlChar *)"type");
        char *s cleanup_free = vs_text(val);
        json_t *j;
        if (rt) {
            /* an untyped child reference like <obj type="Folder">group-d1</obj> */
            char *r cleanup_free = xasprintf("%s:%s", (const char *)rt, s);
            j = json_string(r);
        } else {
            j = json_string(s);
        }
        xmlFree(rt);
        return j ? j : json_string("");
    }
    json_t *o = json_object();
    if (t)
        json_object_set_new(o, "_type", json_string(t));
    for (xmlNode *c = vs_child(val, NULL); c; c = vs_next(c, NULL)) {
        json_t *cv = val_json_depth(c, depth + 1);
        json_t *prev = json_object_get(o, (const char *)c->name);
        if (prev && json_is_array(prev) && json_object_get(o, "_multi") != NULL)
            json_array_append_new(prev, cv);
        else
            json_object_set_new(o, (const char *)c->name, cv);
    }
    return o;
}

json_t *vs_val_json(xmlNode *val)
{
    return val_json_depth(val, 0);
}

int vs_parse_retrieve(xmlNode *resp, json_t *objs, char **token, char *fault_type, size_t ftcap,
                      vic_err **err)
{
    *token = NULL;
    xmlNode *rv = vs_child(resp, "returnval");
    if (rv == NULL)
        return 0; /* nothing matched */
    xmlNode *tok = vs_child(rv, "token");
    for (xmlNode *o = vs_child(rv, "objects"); o; o = vs_next(o, "objects")) {
        xmlNode *obj = vs_child(o, "obj");
        if (obj == NULL)
            continue;
        char *ref cleanup_free = ref_of(obj);
        json_t *props = json_object();
        for (xmlNode *p = vs_child(o, "propSet"); p; p = vs_next(p, "propSet")) {
            char *name cleanup_free = vs_text(vs_child(p, "name"));
            xmlNode *val = vs_child(p, "val");
            json_object_set_new(props, name, val ? vs_val_json(val) : json_null());
        }
        for (xmlNode *m = vs_child(o, "missingSet"); m; m = vs_next(m, "missingSet")) {
            xmlNode *f = vs_child(vs_child(m, "fault"), "fault");
            char ft[128] = "";
            if (f)
                fault_elem_type(f, ft, sizeof(ft));
            if (strcmp(ft, "NotAuthenticated") == 0) {
                json_decref(props);
                if (fault_type && ftcap)
                    snprintf(fault_type, ftcap, "%s", ft);
                return vic_err_set(err, VIC_EAUTH, "NotAuthenticated: the session is not valid");
            }
        }
        json_array_append_new(objs, json_pack("{s:s, s:o}", "ref", ref, "props", props));
    }
    if (tok) {
        char *t = vs_text(tok);
        if (*t)
            *token = t;
        else
            free(t);
    }
    return 0;
}

/* ---- TLS ---- */

static void hex_colon(const unsigned char *md, unsigned n, char *out, size_t cap)
{
    size_t o = 0;
    for (unsigned i = 0; i < n && o + 3 < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, i ? ":%02X" : "%02X", md[i]);
}

static void normalize_thumb(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    for (; in && *in && o + 1 < cap; in++)
        if (isxdigit((unsigned char)*in))
            out[o++] = (char)tolower((unsigned char)*in);
    out[o] = '\0';
}

static int verify_cb(X509_STORE_CTX *x, void *arg)
{
    vs_conn *c = arg;
    X509 *cert = X509_STORE_CTX_get0_cert(x);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    c->seen_sha1[0] = c->seen_sha256[0] = '\0';
    if (cert && X509_digest(cert, EVP_sha1(), md, &n))
        hex_colon(md, n, c->seen_sha1, sizeof(c->seen_sha1));
    if (cert && X509_digest(cert, EVP_sha256(), md, &n))
        hex_colon(md, n, c->seen_sha256, sizeof(c->seen_sha256));
    if (c->pin[0]) {
        char a[80], b[80];
        normalize_thumb(c->seen_sha1, a, sizeof(a));
        normalize_thumb(c->seen_sha256, b, sizeof(b));
        if (cert && (strcmp(c->pin, a) == 0 || strcmp(c->pin, b) == 0))
            return 1;
        c->tls_verdict = 1;
        X509_STORE_CTX_set_error(x, X509_V_ERR_CERT_REJECTED);
        return 0;
    }
    int ok = X509_verify_cert(x);
    if (ok <= 0)
        c->tls_verdict = 2;
    return ok > 0 ? 1 : 0;
}

static CURLcode ssl_ctx_cb(CURL *curl, void *sslctx, void *parm)
{
    (void)curl;
    SSL_CTX_set_cert_verify_callback((SSL_CTX *)sslctx, verify_cb, parm);
    return CURLE_OK;
}

static int tls_error(vs_conn *c, CURLcode cc, const char *errbuf, vic_err **err)
{
    if (c->tls_verdict == 1)
        return vic_err_set(err, VIC_EAUTH,
                           "%s: the server certificate does not match the pinned thumbprint; "
                           "the server presents SHA-1 %s (SHA-256 %s)",
                           c->host, c->seen_sha1, c->seen_sha256);
    if (c->tls_verdict == 2)
        return vic_err_set(err, VIC_EAUTH,
                           "%s: the server certificate is not trusted; if it is the right "
                           "server, pin its thumbprint: SHA-1 %s (SHA-256 %s)",
                           c->host, c->seen_sha1, c->seen_sha256);
    return vic_err_set(err, VIC_EUPSTREAM, "%s: %s", c->host,
                       errbuf[0] ? errbuf : curl_easy_strerror(cc));
}

/* ---- transport ---- */

typedef struct sink {
    vic_buf buf;
    int fd;
    size_t limit;
    bool over;
    bool io_error;
} sink;

static size_t write_cb(char *p, size_t sz, size_t n, void *ud)
{
    sink *s = ud;
    size_t len = sz * n;
    if (s->fd >= 0) {
        size_t off = 0;
        while (off < len) {
            ssize_t w = write(s->fd, p + off, len - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                s->io_error = true;
                return 0;
            }
            off += (size_t)w;
        }
        return len;
    }
    if (s->buf.len + len > s->limit) {
        s->over = true;
        return 0;
    }
    vic_buf_append(&s->buf, p, len);
    return len;
}

/* Reads an upload; nothing when no file is set (a handle reused after an upload). */
static size_t read_cb(char *p, size_t sz, size_t n, void *ud)
{
    return ud ? fread(p, sz, n, (FILE *)ud) : 0;
}

/* Options every request sets, each back to its default first (no curl_easy_reset: it would
 * turn the cookie engine off, losing the session). */
static void setup_common(vs_conn *c, CURL *h, char *errbuf)
{
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL); /* (this one selects POST: GET comes last) */
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 0L);
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(h, CURLOPT_READDATA, NULL);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)-1);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 0L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 15L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(h, CURLOPT_SSL_SESSIONID_CACHE, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, c->pin[0] ? 0L : 2L);
    curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_cb);
    curl_easy_setopt(h, CURLOPT_SSL_CTX_DATA, c);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "vic-c/1 (vim25)");
    c->tls_verdict = 0;
    errbuf[0] = '\0';
}

/* One SOAP round trip under the lock; no re-login. */
static int soap_post(vs_conn *c, const char *method, const char *this_ref, const char *inner,
                     xmlDoc **doc, xmlNode **resp, char *ft, size_t ftcap, vic_err **err)
{
    vic_buf req = VIC_BUF_INIT;
    vic_buf_appendf(&req,
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
                    "<soapenv:Envelope xmlns:soapenv=\"" VS_NS_SOAPENV "\" "
                    "xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" "
                    "xmlns:xsi=\"" VS_NS_XSI "\"><soapenv:Body><%s xmlns=\"" VS_NS_VIM25 "\">",
                    method);
    vs_xml_ref(&req, "_this", this_ref);
    vic_buf_appendf(&req, "%s</%s></soapenv:Body></soapenv:Envelope>", inner ? inner : "", method);

    char errbuf[CURL_ERROR_SIZE];
    char action[64];
    snprintf(action, sizeof(action), "SOAPAction: \"urn:vim25/%s\"",
             c->api_version[0] ? c->api_version : "6.5");
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: text/xml; charset=utf-8");
    hdrs = curl_slist_append(hdrs, action);
    hdrs = curl_slist_append(hdrs, "Expect:");
    sink s = {.buf = VIC_BUF_INIT, .fd = -1, .limit = VS_MAX_RESPONSE};

    pthread_mutex_lock(&c->mu);
    c->round_trips++;
    setup_common(c, c->curl, errbuf);
    curl_easy_setopt(c->curl, CURLOPT_URL, c->url);
    curl_easy_setopt(c->curl, CURLOPT_POST, 1L);
    curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, req.data);
    curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req.len);
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, 300L);
    CURLcode cc = curl_easy_perform(c->curl);
    long status = 0;
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
    int rc = 0;
    if (cc != CURLE_OK)
        rc = s.over ? vic_err_set(err, VIC_ETOOBIG, "%s: response over %u bytes", method,
                                  VS_MAX_RESPONSE)
                    : tls_error(c, cc, errbuf, err);
    pthread_mutex_unlock(&c->mu);
    curl_slist_free_all(hdrs);
    vic_buf_free(&req);
    if (rc == 0)
        rc = vs_soap_parse(s.buf.data, s.buf.len, status, doc, resp, ft, ftcap, err);
    vic_buf_free(&s.buf);
    return rc;
}

static int login(vs_conn *c, vic_err **err)
{
    vic_buf b = VIC_BUF_INIT;
    vs_xml_elem(&b, "userName", c->user);
    vs_xml_elem(&b, "password", c->password);
    xmlDoc *doc cleanup_xmldoc = NULL;
    xmlNode *resp = NULL;
    char ft[128];
    int rc = soap_post(c, "Login", c->session_manager, b.data, &doc, &resp, ft, sizeof(ft), err);
    if (b.data)
        memset(b.data, 0, b.len);
    vic_buf_free(&b);
    if (rc < 0 && strcmp(ft, "InvalidLogin") == 0)
        return vic_err_set(err, VIC_EAUTH, "%s refused the user name or password of %s", c->host,
                           c->user);
    if (rc < 0)
        return vic_err_wrap(err, rc, "login to %s", c->host);
    c->logged_in = true;
    return 0;
}

int vs_call(vs_conn *c, const char *method, const char *this_ref, const char *inner, xmlDoc **doc,
            xmlNode **resp, vic_err **err)
{
    char ft[128];
    int rc = soap_post(c, method, this_ref, inner, doc, resp, ft, sizeof(ft), err);
    if (rc < 0 && strcmp(ft, "NotAuthenticated") == 0) {
        vic_log(VIC_LOG_INFO, "vsphere session expired host=%s; logging in again", c->host);
        vic_err_free(err);
        if ((rc = login(c, err)) < 0)
            return rc;
        rc = soap_post(c, method, this_ref, inner, doc, resp, ft, sizeof(ft), err);
    }
    return rc;
}

int vs_call_ref(vs_conn *c, const char *method, const char *this_ref, const char *inner, char *out,
                size_t cap, vic_err **err)
{
    xmlDoc *doc cleanup_xmldoc = NULL;
    xmlNode *resp = NULL;
    out[0] = '\0';
    int rc = vs_call(c, method, this_ref, inner, &doc, &resp, err);
    if (rc < 0)
        return rc;
    xmlNode *rv = vs_child(resp, "returnval");
    if (rv) {
        char *r cleanup_free = ref_of(rv);
        if (strlen(r) >= cap)
            return vic_err_set(err, VIC_EUPSTREAM, "%s: reference too long", method);
        snprintf(out, cap, "%s", r);
    }
    return 0;
}

static int retrieve_once(vs_conn *c, const char *method, const char *inner, json_t *objs,
                         char **token, char *ft, size_t ftcap, vic_err **err)
{
    xmlDoc *doc cleanup_xmldoc = NULL;
    xmlNode *resp = NULL;
    int rc = soap_post(c, method, c->property_collector, inner, &doc, &resp, ft, ftcap, err);
    if (rc < 0)
        return rc;
    return vs_parse_retrieve(resp, objs, token, ft, ftcap, err);
}

int vs_retrieve(vs_conn *c, const char *spec_inner, json_t **out, vic_err **err)
{
    *out = NULL;
    cleanup_free char *inner = xasprintf("<specSet>%s</specSet><options/>", spec_inner);
    json_t *objs cleanup_json = json_array();
    char *token = NULL;
    char ft[128] = "";
    int rc = retrieve_once(c, "RetrievePropertiesEx", inner, objs, &token, ft, sizeof(ft), err);
    if (rc < 0 && strcmp(ft, "NotAuthenticated") == 0) {
        vic_err_free(err);
        json_array_clear(objs);
        if ((rc = login(c, err)) < 0)
            return rc;
        rc = retrieve_once(c, "RetrievePropertiesEx", inner, objs, &token, ft, sizeof(ft), err);
    }
    for (int pages = 0; rc == 0 && token && pages < 100000; pages++) {
        vic_buf b = VIC_BUF_INIT;
        vs_xml_elem(&b, "token", token);
        free(token);
        token = NULL;
        rc = retrieve_once(c, "ContinueRetrievePropertiesEx", b.data, objs, &token, ft, sizeof(ft),
                           err);
        vic_buf_free(&b);
    }
    free(token);
    if (rc < 0)
        return rc;
    *out = steal_ptr(objs);
    return 0;
}

int vs_props(vs_conn *c, const char *ref, const char *const *paths, json_t **out, vic_err **err)
{
    *out = NULL;
    char type[64];
    const char *value;
    if (vs_ref_split(ref, type, sizeof(type), &value) < 0)
        return vic_err_set(err, VIC_EINVAL, "\"%s\" is not a vSphere reference", ref);
    vic_buf b = VIC_BUF_INIT;
    vic_buf_appendf(&b, "<propSet><type>%s</type>", type);
    for (size_t i = 0; paths[i]; i++)
        vs_xml_elem(&b, "pathSet", paths[i]);
    vic_buf_append(&b, "</propSet><objectSet>", strlen("</propSet><objectSet>"));
    vs_xml_ref(&b, "obj", ref);
    vic_buf_append(&b, "</objectSet>", strlen("</objectSet>"));
    json_t *objs cleanup_json = NULL;
    int rc = vs_retrieve(c, b.data, &objs, err);
    vic_buf_free(&b);
    if (rc < 0) {
        if (rc == VIC_ENOTFOUND)
            return vic_err_set(err, VIC_ENOTFOUND, "%s not found", ref);
        return rc;
    }
    json_t *o = json_array_get(objs, 0);
    if (o == NULL)
        return vic_err_set(err, VIC_ENOTFOUND, "%s not found", ref);
    *out = json_incref(json_object_get(o, "props"));
    return 0;
}

int vs_wait_task(vs_conn *c, const char *task, json_t **result, vic_err **err)
{
    static const char *const paths[] = {"info.state", "info.error", "info.result", NULL};
    if (result)
        *result = NULL;
    unsigned delay_ms = 5;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        json_t *p cleanup_json = NULL;
        int rc = vs_props(c, task, paths, &p, err);
        if (rc < 0)
            return vic_err_wrap(err, rc, "task %s", task);
        const char *state = json_string_value(json_object_get(p, "info.state"));
        if (state && strcmp(state, "success") == 0) {
            if (result) {
                json_t *r = json_object_get(p, "info.result");
                *result = r ? json_incref(r) : json_null();
            }
            return 0;
        }
        if (state && strcmp(state, "error") == 0) {
            json_t *e = json_object_get(p, "info.error");
            json_t *f = json_object_get(e, "fault");
            const char *ft = json_string_value(json_object_get(f, "_type"));
            const char *msg = json_string_value(json_object_get(e, "localizedMessage"));
            const char *prop = json_string_value(json_object_get(f, "invalidProperty"));
            return vic_err_set(err, vs_fault_code(ft), "%s: %s%s%s%s", ft ? ft : "task failed",
                               msg && *msg ? msg : "(no message)",
                               prop ? " (invalidProperty: " : "", prop ? prop : "",
                               prop ? ")" : "");
        }
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - t0.tv_sec > 600)
            return vic_err_set(err, VIC_ETIMEOUT, "task %s still %s after 10 minutes", task,
                               state ? state : "unknown");
        struct timespec ts = {delay_ms / 1000, (long)(delay_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        if (delay_ms < 500)
            delay_ms *= 2;
    }
}

/* ---- datastore files ---- */

static size_t discard_cb(char *p, size_t sz, size_t n, void *ud)
{
    (void)p;
    sink *s = ud;
    if (s->buf.len < 4096)
        vic_buf_append(&s->buf, p, sz * n < 4096 ? sz * n : 4096);
    return sz * n;
}

int vs_http_file(vs_conn *c, const char *method, const char *path_query, int fd_out,
                 const char *in_path, long *status, vic_err **err)
{
    *status = 0;
    cleanup_free char *url = xasprintf("https://%s%s", c->host, path_query);
    FILE *in cleanup_file = NULL;
    curl_off_t size = 0;
    if (in_path) {
        in = fopen(in_path, "rb");
        if (in == NULL)
            return vic_err_sys(err, errno == ENOENT ? VIC_ENOTFOUND : VIC_EIO, errno, "open %s",
                               in_path);
        struct stat st;
        if (fstat(fileno(in), &st) < 0)
            return vic_err_sys(err, VIC_EIO, errno, "stat %s", in_path);
        size = (curl_off_t)st.st_size;
    }
    char errbuf[CURL_ERROR_SIZE];
    sink s = {.buf = VIC_BUF_INIT, .fd = fd_out, .limit = VS_MAX_RESPONSE};
    struct curl_slist *hdrs = curl_slist_append(NULL, "Expect:");
    hdrs = curl_slist_append(hdrs, "Content-Type: application/octet-stream");
    int rc = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        /* A handle per transfer, sharing the session cookie with the SOAP handle. */
        CURL *h = curl_easy_init();
        if (h == NULL) {
            rc = vic_err_set(err, VIC_EINTERNAL, "curl_easy_init failed");
            break;
        }
        pthread_mutex_lock(&c->mu);
        setup_common(c, h, errbuf);
        curl_easy_setopt(h, CURLOPT_SHARE, c->share);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        if (in) {
            rewind(in);
            curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
            curl_easy_setopt(h, CURLOPT_READDATA, in);
            curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, size);
            curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard_cb);
        } else {
            if (strcmp(method, "GET") != 0)
                curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
            curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
        }
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
        CURLcode cc = curl_easy_perform(h);
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
        if (cc != CURLE_OK)
            rc = s.io_error ? vic_err_sys(err, VIC_EIO, errno, "write the download")
                            : tls_error(c, cc, errbuf, err);
        curl_easy_cleanup(h);
        pthread_mutex_unlock(&c->mu);
        if (rc < 0 || (*status != 401 && *status != 403) || attempt == 1)
            break;
        /* the session expired: log in again and retry once */
        if (fd_out >= 0 && (ftruncate(fd_out, 0) < 0 || lseek(fd_out, 0, SEEK_SET) < 0)) {
            rc = vic_err_sys(err, VIC_EIO, errno, "reset the download");
            break;
        }
        if ((rc = login(c, err)) < 0)
            break;
    }
    curl_slist_free_all(hdrs);
    vic_buf_free(&s.buf);
    return rc;
}

/* ---- connection ---- */

static void sc_ref(xmlNode *sc, const char *name, char *out, size_t cap)
{
    xmlNode *n = vs_child(sc, name);
    out[0] = '\0';
    if (n) {
        char *r cleanup_free = ref_of(n);
        snprintf(out, cap, "%s", r);
    }
}

int vs_open(vs_conn *c, const hv_connect_opts *opts, vic_err **err)
{
    vic_curl_global_init();
    const char *t = opts->target;
    if (strncmp(t, "https://", 8) == 0)
        t += 8;
    size_t hl = strcspn(t, "/");
    if (hl == 0 || strcspn(t, "@ \t\r\n?#") < hl)
        return vic_err_set(err, VIC_EINVAL, "target \"%s\": expected host[:port]", opts->target);
    if (opts->user == NULL || *opts->user == '\0')
        return vic_err_set(err, VIC_EINVAL, "target %s: a user name is required", opts->target);
    c->host = xstrndup(t, hl);
    c->url = xasprintf("https://%s/sdk", c->host);
    c->user = xstrdup(opts->user);
    c->password = xstrdup(opts->password ? opts->password : "");
    normalize_thumb(opts->thumbprint, c->pin, sizeof(c->pin));
    if (opts->thumbprint && *opts->thumbprint && strlen(c->pin) != 40 && strlen(c->pin) != 64)
        return vic_err_set(err, VIC_EINVAL,
                           "thumbprint: expected a SHA-1 (40 hex digits) or SHA-256 (64) "
                           "certificate thumbprint");
    pthread_mutex_init(&c->mu, NULL);
    c->curl = curl_easy_init();
    if (c->curl == NULL)
        return vic_err_set(err, VIC_EINTERNAL, "curl_easy_init failed");
    /* The cookie engine holds the session cookie, in a share the file transfers use too. */
    c->share = curl_share_init();
    if (c->share == NULL)
        return vic_err_set(err, VIC_EINTERNAL, "curl_share_init failed");
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_COOKIE);
    curl_easy_setopt(c->curl, CURLOPT_SHARE, c->share);
    curl_easy_setopt(c->curl, CURLOPT_COOKIEFILE, "");
    snprintf(c->property_collector, sizeof(c->property_collector), "%s",
             "PropertyCollector:propertyCollector");
    xmlDoc *doc cleanup_xmldoc = NULL;
    xmlNode *resp = NULL;
    char ft[128];
    int rc = soap_post(c, "RetrieveServiceContent", "ServiceInstance:ServiceInstance", NULL, &doc,
                       &resp, ft, sizeof(ft), err);
    if (rc < 0)
        return rc;
    xmlNode *sc = vs_child(resp, "returnval");
    sc_ref(sc, "rootFolder", c->root_folder, sizeof(c->root_folder));
    sc_ref(sc, "propertyCollector", c->property_collector, sizeof(c->property_collector));
    sc_ref(sc, "searchIndex", c->search_index, sizeof(c->search_index));
    sc_ref(sc, "fileManager", c->file_manager, sizeof(c->file_manager));
    sc_ref(sc, "sessionManager", c->session_manager, sizeof(c->session_manager));
    sc_ref(sc, "viewManager", c->view_manager, sizeof(c->view_manager));
    sc_ref(sc, "extensionManager", c->extension_manager, sizeof(c->extension_manager));
    char *ver cleanup_free = vs_text(vs_child(vs_child(sc, "about"), "apiVersion"));
    snprintf(c->api_version, sizeof(c->api_version), "%s", *ver ? ver : "6.5");
    if (!c->root_folder[0] || !c->session_manager[0] || !c->property_collector[0])
        return vic_err_set(err, VIC_EUPSTREAM, "%s: incomplete service content", c->host);
    return login(c, err);
}

void vs_close_conn(vs_conn *c)
{
    if (c->curl && c->logged_in) {
        xmlDoc *doc cleanup_xmldoc = NULL;
        xmlNode *resp = NULL;
        char ft[64];
        soap_post(c, "Logout", c->session_manager, NULL, &doc, &resp, ft, sizeof(ft), NULL);
    }
    if (c->curl) {
        curl_easy_cleanup(c->curl);
        pthread_mutex_destroy(&c->mu);
    }
    if (c->share)
        curl_share_cleanup(c->share);
    free(c->host);
    free(c->url);
    free(c->user);
    vic_free_secret(c->password);
}
