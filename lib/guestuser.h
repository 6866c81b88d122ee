/*
 * guestuser.h - what a guest agent needs to start a program as Docker would: the command
 * resolved against PATH, and a user (and group) looked up in the guest's passwd and group
 * files. Used inside a containerVM (the tether's sessions, the monitor's exec sessions),
 * after the guest's root is in place.
 */
#ifndef VIC_GUESTUSER_H
#define VIC_GUESTUSER_H

#include <stddef.h>

/* Resolves cmd against PATH (from env, "NAME=value" entries) as execvp would, into out.
 * Returns 0, or -1 with a Docker-style message in msg. */
int vic_guest_lookup_path(const char *cmd, char *const *env, size_t n_env, char *out, size_t cap,
                          char *msg, size_t msg_cap);

/* Looks user ("name" or "uid", optionally ":group") up in passwd/group files. Returns 0, or
 * -1 with a Docker-style message. The file paths are parameters for tests. */
int vic_guest_lookup_user(const char *user, const char *group, const char *passwd_file,
                          const char *group_file, unsigned *uid, unsigned *gid, char *home,
                          size_t home_cap, char *msg, size_t msg_cap);

#endif
