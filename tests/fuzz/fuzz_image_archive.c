/* libFuzzer harness: what docker load reads (portlayer/imagearchive.c). The first byte picks
 * the parser: manifest.json alone (every path it hands out must be relative and free of
 * "..", and it hands out nothing on failure), or the whole input as the uploaded archive,
 * loaded into a scratch image store. Nothing may crash or leak. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/mem.h"
#include "portlayer/imagearchive.h"

static pl_imagestore *store;
static char home[] = "/tmp/vic-fuzz-imagearchive-XXXXXX";

static void remove_home(void)
{
    pl_imagestore_free(store);
    char *cmd = xasprintf("rm -rf '%s'", home);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz_image_archive: could not remove %s\n", home);
    free(cmd);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (!mkdtemp(home) || pl_imagestore_open(&store, home, NULL) < 0)
        abort();
    atexit(remove_home);
    return 0;
}

static void check_path(const json_t *p)
{
    const char *s = json_string_value(p);
    if (s == NULL || *s == '\0' || s[0] == '/' || strstr(s, "..") == s || strstr(s, "/../") ||
        strstr(s, "//"))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 1) {
        json_t *m = NULL;
        if (pl_archive_manifest_parse(&m, (const char *)data + 1, size - 1, NULL) == 0) {
            size_t i, j;
            json_t *e, *l;
            json_array_foreach(m, i, e)
            {
                check_path(json_object_get(e, "config"));
                json_array_foreach(json_object_get(e, "layers"), j, l) check_path(l);
            }
        } else if (m) {
            abort();
        }
        json_decref(m);
        return 0;
    }
    int fd = memfd_create("fuzz", MFD_CLOEXEC);
    if (fd < 0 || write(fd, data + 1, size - 1) != (ssize_t)(size - 1) ||
        lseek(fd, 0, SEEK_SET) != 0)
        abort();
    json_t *loaded = NULL;
    if (pl_image_load(&loaded, store, fd, NULL) < 0 && loaded)
        abort();
    json_decref(loaded);
    close(fd);
    return 0;
}
