/*
 * gichan.h - the guestinfo channel between a VM's monitor and its guest (the tether).
 *
 * On ESX a guest reads and writes guestinfo keys through the VMware backdoor; on the local
 * host the monitor hands the guest one end of a stream socket and answers requests on the
 * other. Frames are a 4-byte big-endian length and a payload of at most VIC_GICHAN_MAX bytes.
 *
 *   request:  op (1 byte) key NUL [value]      op: 'G' get, 'S' set, 'L' list keys by prefix
 *             'M' key NUL value NUL ...        set several keys at once, all or none
 *   reply:    '+' payload | '-' message         payload: the value; for 'L', key NUL value NUL ...
 *
 * Both ends treat the other as untrusted: lengths are bounded, keys and values checked.
 */
#ifndef VIC_GICHAN_H
#define VIC_GICHAN_H

#include <jansson.h>
#include <stddef.h>

#include "err.h"

#define VIC_GICHAN_MAX     (1024 * 1024)
#define VIC_GICHAN_KEY_MAX 1024

/* Sends one frame. */
int vic_gichan_send(int fd, const void *payload, size_t len, vic_err **err);

/* Receives one frame into *out (caller frees; NUL-terminated beyond len). VIC_EUNAVAIL when
 * the peer closed, VIC_ETOOBIG when it announced more than VIC_GICHAN_MAX. */
int vic_gichan_recv(int fd, char **out, size_t *len, vic_err **err);

/* Client calls (the guest). Errors from the monitor come back as VIC_EFORBIDDEN (a refused
 * write), VIC_ENOTFOUND (no such key) or VIC_ELIMIT (rate limited), with its message. */
int vic_gichan_get(int fd, const char *key, char **out, vic_err **err);
int vic_gichan_set(int fd, const char *key, const char *value, vic_err **err);
/* Sets every key of kv (an object of strings) in one request: all are applied or none. */
int vic_gichan_set_many(int fd, const json_t *kv, vic_err **err);
/* Every visible key starting with prefix, as a JSON object of strings (new reference). */
int vic_gichan_list(int fd, const char *prefix, json_t **out, vic_err **err);

/* Server side: splits a request frame. key and value point into frame (value may be "").
 * For 'M', key is the first key and value the rest of the frame: walk it with
 * vic_gichan_next_pair. */
int vic_gichan_parse(const char *frame, size_t len, char *op, const char **key, const char **value,
                     vic_err **err);

/* Server side: the next key/value pair of an 'M' frame's pairs [*pos, end). Returns 1 and
 * advances *pos, 0 at the end, -1 for a malformed pair. */
int vic_gichan_next_pair(const char **pos, const char *end, const char **key, const char **value);

/* Server side: answers '+' with payload, or '-' with a message. */
int vic_gichan_reply(int fd, int ok, const void *payload, size_t len, vic_err **err);

#endif
