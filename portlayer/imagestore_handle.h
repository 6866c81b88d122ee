/*
 * imagestore_handle.h - the image store's handle, shared by the modules that keep the store
 * (imagestore.c: opening and the index; blobs.c: blobs and layers). Not an API: callers use
 * the opaque pl_imagestore of imagestore.h.
 */
#ifndef PL_IMAGESTORE_HANDLE_H
#define PL_IMAGESTORE_HANDLE_H

#include <pthread.h>

struct pl_imagestore {
    char *dir;  /* the store's directory */
    int lockfd; /* inuse.lock, held shared while the store is open */
    pthread_mutex_t mu;
};

#endif
