/* libFuzzer harness: docker cp's unpacking of an outside archive into a container
 * (portlayer/archive.c, pl_fs_put), with a volume mounted at /data and symlinks in the root
 * that point out of it (absolute, and "../.." climbing past the root). Whatever the input,
 * nothing may appear outside the root disk and the volume: after each input the work
 * directory must hold only them and the bait directory beside them, which must stay empty. */
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
#include "portlayer/archive.h"
#include "portlayer/imagestore.h"
#include "tests/fuzz/fuzz_workdir.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_workdir_init("cp");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *w = xasprintf("%s/w", work);
    char *root = xasprintf("%s/w/root", work);
    char *vol = xasprintf("%s/w/vol", work);
    char *outside = xasprintf("%s/w/outside", work);
    char *etc = xasprintf("%s/etc", root);
    char *abs_link = xasprintf("%s/abs", root);
    char *up_link = xasprintf("%s/up", root);
    char *up_target = xasprintf("../../../../../../../..%s", outside);
    char *vol_link = xasprintf("%s/out", vol);
    mkdir(w, 0755);
    mkdir(root, 0755);
    mkdir(vol, 0755);
    mkdir(outside, 0755);
    mkdir(etc, 0755);
    if (symlink(outside, abs_link) || symlink(up_target, up_link) || symlink("../..", vol_link))
        abort();
    int fd = memfd_create("tar", MFD_CLOEXEC);
    if (fd < 0 || write(fd, data, size) != (ssize_t)size || lseek(fd, 0, SEEK_SET) != 0)
        abort();
    pl_fs *fs = NULL;
    if (pl_fs_open(&fs, root, NULL) < 0 || pl_fs_add_mount(fs, "/data", vol, false, NULL) < 0)
        abort();
    pl_fs_put_opts o = {.max_bytes = 4u << 20, .max_entries = 2000};
    static const char *const dests[] = {"/", "/etc", "/abs", "/up/", "/data", "/data/out"};
    pl_fs_put(fs, dests[size % 6], fd, &o, NULL);
    pl_fs_free(fs);
    close(fd);
    static const char *const expected[] = {"root", "vol", "outside"};
    static const char *const top[] = {"w"};
    if (!only_has(w, expected, 3, "the container") ||
        !only_has(outside, NULL, 0, "the container") || !only_has(work, top, 1, "the container"))
        abort();
    vic_rm_rf(w, NULL);
    free(vol_link);
    free(up_target);
    free(up_link);
    free(abs_link);
    free(etc);
    free(outside);
    free(vol);
    free(root);
    free(w);
    return 0;
}
