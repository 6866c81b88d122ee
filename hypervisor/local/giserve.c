#include "hypervisor/local/giserve.h"

#include <string.h>
#include <unistd.h>

#include "hypervisor/local/local.h"
#include "hypervisor/local/vmx.h"
#include "lib/cleanup.h"
#include "lib/gichan.h"
#include "lib/guestinfo.h"

void giserve_init(giserve *s, const char *vm_dir, const char *vmx_path)
{
    memset(s, 0, sizeof(*s));
    s->vm_dir = vm_dir;
    s->vmx_path = vmx_path;
    s->tokens = GISERVE_SET_BURST;
    clock_gettime(CLOCK_MONOTONIC, &s->last_refill);
}

static int take_token(giserve *s)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double dt = (double)(now.tv_sec - s->last_refill.tv_sec) +
                (double)(now.tv_nsec - s->last_refill.tv_nsec) / 1e9;
    s->last_refill = now;
    s->tokens += dt * GISERVE_SET_RATE;
    if (s->tokens > GISERVE_SET_BURST)
        s->tokens = GISERVE_SET_BURST;
    if (s->tokens < 1)
        return 0;
    s->tokens -= 1;
    return 1;
}

static void refuse(int *ok, vic_buf *reply, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void refuse(int *ok, vic_buf *reply, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    *ok = 0;
    vic_buf_append(reply, msg, strlen(msg));
    free(msg);
}

/* Checks one write; on refusal fills reply and returns 0. */
static int check_write(const char *key, const char *value, json_t *changes, int *ok, vic_buf *reply)
{
    if (vic_gi_key_is_readonly(key)) {
        refuse(ok, reply, "key %.200s is not writable by the guest", key);
        return 0;
    }
    if (strlen(value) > GISERVE_VALUE_MAX) {
        refuse(ok, reply, "value larger than %d bytes", GISERVE_VALUE_MAX);
        return 0;
    }
    json_t *js = json_string(value);
    if (js == NULL) {
        refuse(ok, reply, "value of %.200s is not UTF-8", key);
        return 0;
    }
    json_object_set_new(changes, key, js);
    return 1;
}

/* Applies writes: every key is checked first, then all are written in one replacement of
 * the .vmx, or none. */
static void handle_set(giserve *s, char op, const char *key, const char *value, size_t len, int *ok,
                       vic_buf *reply)
{
    json_t *changes cleanup_json = json_object();
    if (op == 'S') {
        if (!check_write(key, value, changes, ok, reply))
            return;
    } else {
        const char *pos = value, *end = value + len, *k, *v;
        while (vic_gichan_next_pair(&pos, end, &k, &v) == 1)
            if (!check_write(k, v, changes, ok, reply))
                return;
    }
    if (!take_token(s)) {
        refuse(ok, reply, "rate limited: more than %d writes per second", GISERVE_SET_RATE);
        return;
    }
    vic_err *err cleanup_err = NULL;
    int lock = local_vm_lock(s->vm_dir, &err);
    json_t *kv cleanup_json = NULL;
    int rc = lock < 0 ? lock : vmx_read(&kv, s->vmx_path, &err);
    if (rc == 0) {
        json_object_update(kv, changes);
        cleanup_free char *text = NULL;
        rc = vmx_format(&text, kv, &err);
        if (rc == 0 && strlen(text) > GISERVE_CONFIG_MAX)
            rc = vic_err_set(&err, VIC_ETOOBIG, "configuration would exceed %d bytes",
                             GISERVE_CONFIG_MAX);
        if (rc == 0)
            rc = vmx_write(s->vmx_path, kv, &err);
    }
    if (lock >= 0)
        close(lock);
    if (rc < 0)
        refuse(ok, reply, "%s", err->msg);
    else
        *ok = 1;
}

void giserve_handle(giserve *s, const char *frame, size_t len, int *ok, vic_buf *reply)
{
    vic_err *err cleanup_err = NULL;
    char op;
    const char *key, *value;
    *ok = 0;
    if (vic_gichan_parse(frame, len, &op, &key, &value, &err) < 0) {
        refuse(ok, reply, "%s", err->msg);
        return;
    }
    if (op == 'S' || op == 'M') {
        handle_set(s, op, key, value, (size_t)(frame + len - value), ok, reply);
        return;
    }
    if (strncmp(key, "guestinfo.", 10) != 0) {
        refuse(ok, reply, "not found (only guestinfo.* keys are visible to the guest)");
        return;
    }
    json_t *kv cleanup_json = NULL;
    if (vmx_read(&kv, s->vmx_path, &err) < 0) {
        refuse(ok, reply, "%s", err->msg);
        return;
    }
    if (op == 'G') {
        const char *v = json_string_value(json_object_get(kv, key));
        if (v == NULL) {
            refuse(ok, reply, "not found");
            return;
        }
        vic_buf_append(reply, v, strlen(v));
        *ok = 1;
        return;
    }
    size_t plen = strlen(key); /* 'L': every visible key with this prefix */
    const char *k;
    json_t *v;
    json_object_foreach(kv, k, v)
    {
        if (strncmp(k, key, plen) != 0)
            continue;
        vic_buf_append(reply, k, strlen(k) + 1);
        vic_buf_append(reply, json_string_value(v), strlen(json_string_value(v)) + 1);
    }
    if (reply->len + 1 > VIC_GICHAN_MAX) {
        reply->len = 0;
        refuse(ok, reply, "too many keys for one reply");
        return;
    }
    *ok = 1;
}
