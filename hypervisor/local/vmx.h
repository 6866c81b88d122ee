/*
 * vmx.h - the local host's VM configuration file: `key = "value"` lines, as VMware's .vmx.
 *
 * Values are quoted; inside them '"', '|', '#' and control characters are written as "|XX"
 * (two hex digits), VMware's escape. Keys are printable ASCII without space, '=', '"' or '#'.
 * Lines starting with '#' and blank lines are ignored. The file is replaced atomically
 * (write a temporary file, fsync, rename, fsync the directory), so a reader sees the old or
 * the new configuration, never a mix.
 */
#ifndef VIC_VMX_H
#define VIC_VMX_H

#include <jansson.h>
#include <stddef.h>

#include "lib/err.h"

#define VMX_MAX_FILE (4 * 1024 * 1024)
#define VMX_MAX_KEY  1024

/* Parses buf into a JSON object of strings (new reference). VIC_EINVAL names the line. */
int vmx_parse(json_t **out, const char *buf, size_t len, vic_err **err);

/* The file text for kv (an object of strings), keys sorted; caller frees. VIC_EINVAL for a
 * key the format cannot carry or a non-string value. */
int vmx_format(char **out, const json_t *kv, vic_err **err);

/* 1 when key may appear in a .vmx file. */
int vmx_key_valid(const char *key);

int vmx_read(json_t **out, const char *path, vic_err **err);
int vmx_write(const char *path, const json_t *kv, vic_err **err);

#endif
