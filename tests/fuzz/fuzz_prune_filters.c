/* libFuzzer harness: the filters of docker container/image/system prune
 * (personality/prune.c), which any Docker client sends. The input goes in as the filters
 * text and as an until value alone; nothing may crash or leak, a refusal hands out nothing,
 * an accepted until is never negative and a duration is read relative to its reference. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mem.h"
#include "personality/prune.h"

#define NOW (1700000000LL * 1000000000LL)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = xstrndup((const char *)data, size);
    static const char *const allowed[] = {"until", "label", "label!", "dangling", NULL};
    engine_prune_filter f;
    int rc = engine_prune_filter_parse(&f, s, allowed, NOW, NULL);
    if (rc == 0) {
        if (f.until_ns < 0 || f.dangling < -1 || f.dangling > 1)
            abort();
        json_t *labels = json_pack("{s:s}", "a", "b");
        engine_prune_match(&f, labels, NOW / 2);
        json_decref(labels);
    }
    engine_prune_filter_clear(&f);
    if (f.labels || f.unlabels)
        abort();
    int64_t t = engine_prune_until(s, NOW);
    if (t < -1)
        abort();
    /* a duration moves with its reference: the same text an hour later is an hour later */
    int64_t later = engine_prune_until(s, NOW + 3600LL * 1000000000LL);
    if (t > 0 && later > 0 && later != t && later - t != 3600LL * 1000000000LL)
        abort();
    free(s);
    return 0;
}
