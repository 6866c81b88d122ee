/*
 * giserve.h - the monitor's side of the guestinfo channel: answers one request of the guest
 * against the VM's .vmx. The guest sees only guestinfo.* keys, may write only visible
 * read-write keys (lib/guestinfo.h), within a rate and size budget; everything else gets a
 * clear refusal and changes nothing.
 */
#ifndef VIC_LOCAL_GISERVE_H
#define VIC_LOCAL_GISERVE_H

#include <stddef.h>
#include <time.h>

#include "lib/mem.h"

#define GISERVE_SET_RATE   100 /* guest writes per second, sustained */
#define GISERVE_SET_BURST  200 /* and in a burst */
#define GISERVE_VALUE_MAX  (64 * 1024)
#define GISERVE_CONFIG_MAX (1024 * 1024)

typedef struct giserve {
    const char *vm_dir; /* holds vm.lock */
    const char *vmx_path;
    double tokens;
    struct timespec last_refill;
} giserve;

void giserve_init(giserve *s, const char *vm_dir, const char *vmx_path);

/* Answers the request frame: *ok is 1 with the payload in reply, or 0 with a message. */
void giserve_handle(giserve *s, const char *frame, size_t len, int *ok, vic_buf *reply);

#endif
