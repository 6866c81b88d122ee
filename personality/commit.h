/*
 * commit.h - docker diff, export and commit: a container's root disk against its image, as a
 * list of changes, as a whole tar, and as a new image.
 *
 * Commit makes the new image's config as Docker Engine does (moby's BuildFromConfig, then
 * merge): the request's Config, the --change lines applied to it as Dockerfile instructions,
 * then what it leaves unset taken from the container's Config. The port layer stores the
 * layer and the config (portlayer/commit.h).
 */
#ifndef VIC_PERSONALITY_COMMIT_H
#define VIC_PERSONALITY_COMMIT_H

#include <jansson.h>

#include "lib/err.h"
#include "lib/http.h"

/* Applies docker commit's changes to cfg (a Docker container Config object, edited in place):
 * text is every change joined by newlines, read as a Dockerfile's lines (backslash
 * continuations, # comments and blank lines as a Dockerfile has them). The instructions a
 * commit takes are CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME and
 * WORKDIR, with the Dockerfile's quoting and $VAR / ${VAR} / ${VAR:-word} / ${VAR:+word}
 * substitution from cfg's Env where a Dockerfile substitutes. VIC_EINVAL with Docker's
 * message ("run is not a valid change command", ...) for anything else or a malformed
 * argument; cfg may then hold the instructions before the bad one. */
int engine_commit_changes(json_t *cfg, const char *text, vic_err **err);

/* Docker's merge of a commit's config user (edited in place) with the container's Config
 * ccfg: User, ExposedPorts, Env (by name), Labels, Cmd and Entrypoint (when no Entrypoint was
 * given), WorkingDir, Volumes and StopSignal fill in what user leaves unset. */
void engine_commit_merge(json_t *user, const json_t *ccfg);

/* GET /containers/{id}/changes: [{"Path", "Kind"}]. */
int engine_container_changes_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                     vic_err **err);

/* GET /containers/{id}/export: the root disk as a tar, streamed. */
int engine_container_export_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                    vic_err **err);

/* POST /commit?container=&repo=&tag=&comment=&author=&pause=&changes=...: 201 {"Id"}. */
int engine_commit_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);

#endif
