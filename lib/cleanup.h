/*
 * cleanup.h - scope-based release of resources with __attribute__((cleanup)).
 *
 * Declare locals initialised to NULL or -1 with one of these markers; they are released when
 * the variable leaves scope. To hand ownership out, copy the pointer and set the local to NULL.
 * Handles of a module's own types (sqlite statements in store.h, TLS material in service.h)
 * are released by markers beside that module.
 */
#ifndef VIC_CLEANUP_H
#define VIC_CLEANUP_H

#include <dirent.h>
#include <jansson.h>
#include <libxml/tree.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "err.h"
#include "mem.h"

static inline void vic_cleanup_free_(void *p)
{
    free(*(void **)p);
}

static inline void vic_cleanup_close_(int *fd)
{
    if (*fd >= 0)
        close(*fd);
}

static inline void vic_cleanup_file_(FILE **f)
{
    if (*f)
        fclose(*f);
}

static inline void vic_cleanup_dir_(DIR **d)
{
    if (*d)
        closedir(*d);
}

static inline void vic_cleanup_json_(json_t **j)
{
    json_decref(*j);
}

static inline void vic_cleanup_err_(vic_err **e)
{
    vic_err_free(e);
}

static inline void vic_cleanup_secret_(char **p)
{
    vic_free_secret(*p);
}

static inline void vic_cleanup_buf_(vic_buf *b)
{
    vic_buf_free(b);
}

static inline void vic_cleanup_xmldoc_(xmlDoc **d)
{
    if (*d)
        xmlFreeDoc(*d);
}

static inline void vic_cleanup_bio_(BIO **b)
{
    BIO_free(*b);
}

static inline void vic_cleanup_pkey_(EVP_PKEY **p)
{
    EVP_PKEY_free(*p);
}

#define cleanup_free   __attribute__((cleanup(vic_cleanup_free_)))
#define cleanup_secret __attribute__((cleanup(vic_cleanup_secret_)))
#define cleanup_close  __attribute__((cleanup(vic_cleanup_close_)))
#define cleanup_file   __attribute__((cleanup(vic_cleanup_file_)))
#define cleanup_json   __attribute__((cleanup(vic_cleanup_json_)))
#define cleanup_dirp   __attribute__((cleanup(vic_cleanup_dir_)))
#define cleanup_err    __attribute__((cleanup(vic_cleanup_err_)))
#define cleanup_buf    __attribute__((cleanup(vic_cleanup_buf_)))
#define cleanup_xmldoc __attribute__((cleanup(vic_cleanup_xmldoc_)))
#define cleanup_bio    __attribute__((cleanup(vic_cleanup_bio_)))
#define cleanup_pkey   __attribute__((cleanup(vic_cleanup_pkey_)))

/* Returns the pointer and clears the variable: `*out = steal_ptr(p);`. */
#define steal_ptr(p)                                                                               \
    ({                                                                                             \
        __typeof__(p) steal_tmp_ = (p);                                                            \
        (p) = NULL;                                                                                \
        steal_tmp_;                                                                                \
    })

#endif
