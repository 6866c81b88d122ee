/* libFuzzer harness: unpacking an arbitrary tar or tar.gz as a layer and applying it onto a
 * root directory (portlayer/layer.c). Whatever the input, nothing may appear outside the
 * directories made for it: after each input the work directory must hold only those, and the
 * sentinel directory beside them (the target of the "../outside" paths in the corpus and
 * dictionary) must stay empty. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/file.h"
#include "lib/mem.h"
#include "portlayer/imagestore.h"
#include "tests/fuzz/fuzz_workdir.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_workdir_init("layer");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* layer/ is where the tar unpacks; root/ is what it is applied onto; outside/ is bait */
    char *layer = xasprintf("%s/w/layer", work);
    char *root = xasprintf("%s/w/root", work);
    char *outside = xasprintf("%s/w/outside", work);
    char *w = xasprintf("%s/w", work);
    mkdir(w, 0755);
    mkdir(layer, 0755);
    mkdir(root, 0755);
    mkdir(outside, 0755);
    int fd = memfd_create("layer", MFD_CLOEXEC);
    if (fd < 0 || write(fd, data, size) != (ssize_t)size || lseek(fd, 0, SEEK_SET) != 0)
        abort();
    json_t *meta = NULL;
    if (pl_layer_unpack(&meta, fd, layer, 8u << 20, NULL) == 0) {
        if (!pl_digest_valid(json_string_value(json_object_get(meta, "diff_id"))))
            abort();
        pl_layer_apply(root, layer, meta, NULL, NULL);
        json_decref(meta);
    } else if (meta) {
        abort();
    }
    close(fd);
    static const char *const expected[] = {"layer", "root", "outside"};
    static const char *const top[] = {"w"};
    if (!only_has(w, expected, 3, "the layer") || !only_has(outside, NULL, 0, "the layer") ||
        !only_has(work, top, 1, "the layer"))
        abort();
    vic_rm_rf(w, NULL);
    free(w);
    free(outside);
    free(root);
    free(layer);
    return 0;
}
