/*
 * fuzz_workdir.h - the scratch directory of the harnesses that unpack outside archives
 * (fuzz_layer.c, fuzz_cp.c): made once under /tmp, removed at exit, and the check that a
 * directory holds nothing but what an input was allowed to make.
 */
#ifndef VIC_TESTS_FUZZ_WORKDIR_H
#define VIC_TESTS_FUZZ_WORKDIR_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/file.h"
#include "portlayer/imagestore.h"

static char work[64];

static void cleanup_work(void)
{
    vic_rm_rf(work, NULL);
}

/* Makes work ("/tmp/vic-fuzz-NAME-XXXXXX"), removed when the harness exits. */
static void fuzz_workdir_init(const char *name)
{
    snprintf(work, sizeof(work), "/tmp/vic-fuzz-%s-XXXXXX", name);
    if (mkdtemp(work) == NULL)
        abort();
    atexit(cleanup_work);
}

/* 1 when dir holds no name but those in allowed; names what else appeared (what: where an
 * input may write, for the message). */
static int only_has(const char *dir, const char *const *allowed, size_t n, const char *what)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    struct dirent *de;
    int ok = 1;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        int found = 0;
        for (size_t i = 0; i < n; i++)
            found |= strcmp(de->d_name, allowed[i]) == 0;
        if (!found) {
            fprintf(stderr, "fuzz: %s/%s appeared outside %s\n", dir, de->d_name, what);
            ok = 0;
        }
    }
    closedir(d);
    return ok;
}

#endif
