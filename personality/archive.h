/*
 * archive.h - docker cp: Docker's /containers/{id}/archive (HEAD: the stat of a path in
 * X-Docker-Container-Path-Stat; GET: a tar of it; PUT: a tar unpacked into a directory),
 * relayed to the port layer's routes of the same name without holding an archive in memory.
 */
#ifndef VIC_PERSONALITY_ARCHIVE_H
#define VIC_PERSONALITY_ARCHIVE_H

#include "lib/http.h"

/* The largest archive a PUT takes (spooled to a temporary file on its way through). */
#define ENGINE_MAX_ARCHIVE_BODY ((size_t)2 << 30)

/* GET and HEAD (payload: engine_ctx). */
int engine_archive_get_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                               vic_err **err);
int engine_archive_put_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                               vic_err **err);

#endif
