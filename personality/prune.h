/*
 * prune.h - docker container prune, image prune, system df (and system prune, which the CLI
 * makes of the prunes): Docker's routes, answers and filters over the port layer.
 *
 *   POST /containers/prune  {"ContainersDeleted": [ids] | null, "SpaceReclaimed": n}
 *   POST /images/prune      {"ImagesDeleted": [{"Untagged"} | {"Deleted"}] | null,
 *                            "SpaceReclaimed": n}
 *   GET  /system/df         {"LayersSize", "Images", "Containers", "Volumes", "BuildCache"}
 *   POST /build/prune       {"CachesDeleted": null, "SpaceReclaimed": 0}: a VCH builds
 *                           nothing, so it has no build cache to prune
 */
#ifndef VIC_PERSONALITY_PRUNE_H
#define VIC_PERSONALITY_PRUNE_H

#include <jansson.h>
#include <stdint.h>

#include "lib/err.h"
#include "lib/http.h"

/* A prune's filters (Docker's filters parameter). */
typedef struct engine_prune_filter {
    int64_t until_ns; /* until: only objects created before this; 0: no limit */
    json_t *labels;   /* label: ["k", "k=v", ...] all of which must match; NULL: none */
    json_t *unlabels; /* label!: none of which may match; NULL: none */
    int dangling;     /* dangling: 1 true, 0 false, -1 not given */
} engine_prune_filter;

/* Parses the filters text q (NULL or "": none) for a prune whose keys are allowed
 * (NULL-terminated, among "until", "label", "label!", "dangling"); now_ns is the reference
 * of a relative until ("10m"). VIC_EINVAL, as Docker words it, for an unknown key ("invalid
 * filter 'k'"), a bad until ("failed to parse value as time or duration: \"v\""), a dangling
 * that is not a boolean ("invalid filter 'dangling=v'"), malformed JSON. Clear *out with
 * engine_prune_filter_clear whatever the outcome. */
int engine_prune_filter_parse(engine_prune_filter *out, const char *q, const char *const *allowed,
                              int64_t now_ns, vic_err **err);
void engine_prune_filter_clear(engine_prune_filter *f);

/* Docker's until value in ns since the epoch: a Go duration before now_ns ("90s", "1h30m",
 * "1.5h"), a Unix time ("1700000000", "1700000000.5") or an RFC 3339 date or time
 * ("2024-01-02", "2024-01-02T03:04:05", with fractions and "Z" or "+hh:mm"; without a zone
 * UTC). -1 when it is none of them. */
int64_t engine_prune_until(const char *v, int64_t now_ns);

/* Whether an object with labels (an object of strings, may be NULL) and creation time
 * created_ns passes f's until and label filters. */
int engine_prune_match(const engine_prune_filter *f, const json_t *labels, int64_t created_ns);

/* payload: engine_ctx */
int engine_container_prune_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                   vic_err **err);
int engine_image_prune_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                               vic_err **err);
int engine_system_df_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);
int engine_build_prune_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                               vic_err **err);

#endif
