/*
 * archive.c - docker cp over the port layer (see archive.h).
 *
 * A GET first asks the port layer for the stat (so that a missing path is Docker's 404, and
 * the stat header goes out with the answer), then relays the port layer's tar stream chunk
 * by chunk from a thread of its own. A PUT hands the spooled body's file to the port layer
 * as its request body.
 */
#include "personality/archive.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/crypto.h"
#include "lib/httpc.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "personality/common.h"

#define ARCHIVE_STALL_MS (5 * 60 * 1000)

static char *query_escape(const char *s)
{
    vic_buf b = VIC_BUF_INIT;
    vic_buf_append(&b, "", 0);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
            strchr("-._~/", *c))
            vic_buf_append(&b, c, 1);
        else
            vic_buf_appendf(&b, "%%%02X", *c);
    }
    return vic_buf_steal(&b);
}

/* The port layer's path for the request's container and query path, with suffix. */
static char *pl_archive_path(vic_http_req *req, const char *suffix, const char *extra,
                             vic_err **err)
{
    const char *path = vic_http_req_query(req, "path");
    if (path == NULL || *path == '\0') {
        vic_err_set(err, VIC_EINVAL, "path: is required");
        return NULL;
    }
    cleanup_free char *esc = query_escape(path);
    cleanup_free char *tail = xasprintf("%s?path=%s%s", suffix, esc, extra ? extra : "");
    return engine_pl_path(req, tail, err);
}

typedef struct relay {
    engine_ctx *c;
    char *path;
    char *id;
    vic_http_stream *s;
} relay;

static int relay_chunk(const void *data, size_t len, void *payload)
{
    relay *r = payload;
    return vic_http_stream_write_wait(r->s, data, len, ARCHIVE_STALL_MS, NULL) < 0 ? -1 : 0;
}

static void *relay_thread(void *arg)
{
    relay *r = arg;
    vic_err *err = NULL;
    if (vic_httpc_raw(r->c->pl, "GET", r->path, -1, NULL, ARCHIVE_STALL_MS, relay_chunk, r, &err) <
            0 &&
        err->code != VIC_EUNAVAIL)
        /* the status is sent already: the client sees a cut archive and says so */
        vic_log(VIC_LOG_WARN, "event=archive_relay_failed id=%s err=\"%s\"", r->id, err->msg);
    vic_err_free(&err);
    vic_http_stream_close(r->s);
    vic_http_stream_release(r->s);
    free(r->path);
    free(r->id);
    free(r);
    return NULL;
}

int engine_archive_get_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    engine_ctx *c = payload;
    cleanup_free char *stat_path = pl_archive_path(req, "/archive/stat", NULL, err);
    if (stat_path == NULL)
        return (*err)->code;
    json_t *st cleanup_json = NULL;
    int rc = vic_httpc_json(c->pl, "GET", stat_path, NULL, 0, &st, err);
    if (rc < 0)
        return engine_docker_err(rc, ENGINE_OBJ_CONTAINER, NULL, err);
    cleanup_free char *text = json_dumps(st, JSON_COMPACT);
    cleanup_free char *b64 = vic_base64_encode(text, strlen(text));
    if (strcmp(vic_http_req_method(req), "HEAD") == 0) {
        vic_http_resp_text(resp, 200, "application/x-tar", "", 0);
        vic_http_resp_header(resp, "X-Docker-Container-Path-Stat", b64);
        return 0;
    }
    relay *r = xzalloc(sizeof(*r));
    r->c = c;
    r->path = pl_archive_path(req, "/archive", NULL, NULL);
    r->id = xstrdup(vic_http_req_param(req, "id"));
    r->s = vic_http_resp_stream(resp, 200, "application/x-tar");
    vic_http_resp_header(resp, "X-Docker-Container-Path-Stat", b64);
    pthread_t th;
    if (pthread_create(&th, NULL, relay_thread, r) != 0) {
        vic_http_stream_close(r->s);
        vic_http_stream_release(r->s);
        free(r->path);
        free(r->id);
        free(r);
        return vic_err_set(err, VIC_EINTERNAL, "cannot start the archive");
    }
    pthread_detach(th);
    return 0;
}

int engine_archive_put_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    engine_ctx *c = payload;
    const char *nodnd = vic_http_req_query(req, "noOverwriteDirNonDir");
    int no_over = nodnd && strcmp(nodnd, "0") && strcmp(nodnd, "false");
    cleanup_free char *path =
        pl_archive_path(req, "/archive", no_over ? "&noOverwriteDirNonDir=1" : NULL, err);
    if (path == NULL)
        return (*err)->code;
    int fd = vic_http_req_body_fd(req), own cleanup_close = -1;
    if (fd < 0) { /* sent without Content-Type application/x-tar: the body is in memory */
        size_t len = 0;
        const char *body = vic_http_req_body(req, &len);
        own = fd = memfd_create("archive", MFD_CLOEXEC);
        if (fd < 0 || (len && write(fd, body, len) != (ssize_t)len) || lseek(fd, 0, SEEK_SET))
            return vic_err_sys(err, VIC_EIO, errno, "keep the archive");
    }
    int rc = vic_httpc_raw(c->pl, "PUT", path, fd, "application/x-tar", ARCHIVE_STALL_MS, NULL,
                           NULL, err);
    if (rc < 0)
        return engine_docker_err(rc, ENGINE_OBJ_CONTAINER, NULL, err);
    vic_http_resp_text(resp, 200, "application/json", "", 0);
    return 0;
}
