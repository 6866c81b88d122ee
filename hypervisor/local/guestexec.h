/*
 * guestexec.h - programs started in a running containerVM from outside (as VMware Tools'
 * guest operations do on ESX): the local host's exec channel.
 *
 * The monitor listens on the VM folder's exec.sock (0600). A holder connects and sends an
 * EXEC frame (lib/attach.h) with the program's spec; the monitor starts it inside the guest:
 * in the VM's cgroup and every one of the guest's namespaces (user last, so the program
 * holds no host privilege: it is the guest's root, or the user the spec names, looked up in
 * the guest's own passwd file), with pipes or a terminal of the guest's devpts. Its output
 * comes back as STDOUT/STDERR frames, STDIN/RESIZE/CLOSE frames go in, and an EXIT frame
 * with its status ends the channel (126/127 with the reason on STDERR when it could not
 * start). A holder that leaves does not stop the program. At most GEXEC_MAX at once.
 *
 * Like the port forwards, everything runs in the monitor's poll loop.
 */
#ifndef VIC_LOCAL_GUESTEXEC_H
#define VIC_LOCAL_GUESTEXEC_H

#include <jansson.h>
#include <poll.h>
#include <stddef.h>
#include <sys/types.h>

#include "lib/confine.h"
#include "lib/err.h"

#define GEXEC_MAX      32
#define GEXEC_SPEC_MAX (256 * 1024)

typedef struct gexec gexec;

/* Places pid in the VM's cgroup (payload: the caller's); may do nothing. */
typedef void (*gexec_join_fn)(pid_t pid, void *payload);

/* Opens the guest's namespaces (guest: its PID 1) and listens on vm_dir/exec.sock. Programs
 * started run confined to conf (copied): the container's capabilities, no-new-privileges and
 * seccomp filter, as its main session (lib/confine.h). */
int gexec_open(gexec **out, const char *vm_dir, pid_t guest, const vic_confine *conf,
               gexec_join_fn join, void *payload, vic_err **err);

/* Stops listening, removes exec.sock and closes every channel (the guest's programs die
 * with the guest). */
void gexec_free(gexec *g, const char *vm_dir);

size_t gexec_poll_max(const gexec *g);
size_t gexec_poll_fill(gexec *g, struct pollfd *pf);
void gexec_poll_handle(gexec *g, const struct pollfd *pf, size_t n);

/* Milliseconds until a finished program's output drain ends (-1: none pending). */
long gexec_timeout_ms(const gexec *g);

/* Collects the status of exited programs (call on SIGCHLD). Returns 1 when pid was one of
 * them (so the caller need not look further). */
int gexec_reaped(gexec *g, pid_t pid, int status);

/* The spec of an EXEC frame, checked: NULL and why (VIC_EINVAL) when malformed. Exposed for
 * the fuzz harness. New reference. */
json_t *gexec_parse_spec(const char *data, size_t len, vic_err **err);

#endif
