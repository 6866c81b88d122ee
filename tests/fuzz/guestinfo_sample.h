/*
 * guestinfo_sample.h - a sample guestinfo description shaped like vic's ExecutorConfig
 * (lib/config/executor), shared by lib/tests/test_guestinfo.c and fuzz_guestinfo.c.
 *
 * It has every field type: strings, integers, booleans, nested structs, a struct array, a
 * string array, a string map, a struct map, a secret string, a secret string array, hidden,
 * read-only and read-write scopes, and one required field.
 */
#ifndef VIC_TESTS_GUESTINFO_SAMPLE_H
#define VIC_TESTS_GUESTINFO_SAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/guestinfo.h"

typedef struct gi_common {
    char *id;    /* read-only "id", required */
    char *name;  /* read-only "name" */
    char *notes; /* hidden "notes" */
} gi_common;

typedef struct gi_cmd {
    char *path; /* read-only "Path" */
    char **args;
    size_t n_args; /* read-only "Args" */
    char *dir;     /* read-only "Dir" */
} gi_cmd;

typedef struct gi_session {
    gi_cmd cmd;          /* read-only "cmd" */
    bool tty;            /* read-only "tty" */
    bool runblock;       /* read-write "runblock" */
    int64_t exit_status; /* read-write "status" */
    char *started;       /* read-write "started" */
} gi_session;

typedef struct gi_network {
    char *name;  /* read-only "name" */
    char *ip;    /* read-only "ip" */
    int64_t mtu; /* read-write "mtu" */
} gi_network;

typedef struct gi_config {
    gi_common common;    /* read-only "common" */
    int64_t create_time; /* read-write "createtime" */
    int64_t debug;       /* read-only "diagnostics/debug" (a compound key) */
    bool asymrouting;    /* read-only "asymrouting" */
    char **session_ids;  /* read-only struct map "sessions" */
    gi_session *sessions;
    size_t n_sessions;
    gi_network *networks; /* read-only struct array "networks" */
    size_t n_networks;
    char **anno_keys; /* hidden string map "annotations" */
    char **anno_values;
    size_t n_annos;
    char *registry_password; /* read-only secret "registry/password" */
    char **secret_env;       /* read-only secret string array "secretenv" */
    size_t n_secret_env;
} gi_config;

static const vic_gi_field gi_common_fields[] = {
    VIC_GI_FIELD_STRING(gi_common, id, "id", VIC_GI_READONLY, VIC_GI_REQUIRED),
    VIC_GI_FIELD_STRING(gi_common, name, "name", VIC_GI_READONLY, 0),
    VIC_GI_FIELD_STRING(gi_common, notes, "notes", VIC_GI_HIDDEN, 0),
};
static const vic_gi_desc gi_common_desc = VIC_GI_DESC(gi_common, gi_common_fields);

static const vic_gi_field gi_cmd_fields[] = {
    VIC_GI_FIELD_STRING(gi_cmd, path, "Path", VIC_GI_READONLY, 0),
    VIC_GI_FIELD_STRING_ARRAY(gi_cmd, args, n_args, "Args", VIC_GI_READONLY, 0),
    VIC_GI_FIELD_STRING(gi_cmd, dir, "Dir", VIC_GI_READONLY, 0),
};
static const vic_gi_desc gi_cmd_desc = VIC_GI_DESC(gi_cmd, gi_cmd_fields);

static const vic_gi_field gi_session_fields[] = {
    VIC_GI_FIELD_STRUCT(gi_session, cmd, "cmd", VIC_GI_READONLY, 0, &gi_cmd_desc),
    VIC_GI_FIELD_BOOL(gi_session, tty, "tty", VIC_GI_READONLY, 0),
    VIC_GI_FIELD_BOOL(gi_session, runblock, "runblock", VIC_GI_READWRITE, 0),
    VIC_GI_FIELD_INT64(gi_session, exit_status, "status", VIC_GI_READWRITE, 0),
    VIC_GI_FIELD_STRING(gi_session, started, "started", VIC_GI_READWRITE, 0),
};
static const vic_gi_desc gi_session_desc = VIC_GI_DESC(gi_session, gi_session_fields);

static const vic_gi_field gi_network_fields[] = {
    VIC_GI_FIELD_STRING(gi_network, name, "name", VIC_GI_READONLY, 0),
    VIC_GI_FIELD_STRING(gi_network, ip, "ip", VIC_GI_READONLY, 0),
    VIC_GI_FIELD_INT64(gi_network, mtu, "mtu", VIC_GI_READWRITE, 0),
};
static const vic_gi_desc gi_network_desc = VIC_GI_DESC(gi_network, gi_network_fields);

static const vic_gi_field gi_config_fields[] = {
    VIC_GI_FIELD_STRUCT(gi_config, common, "common", VIC_GI_READONLY, 0, &gi_common_desc),
    VIC_GI_FIELD_INT64(gi_config, create_time, "createtime", VIC_GI_READWRITE, 0),
    VIC_GI_FIELD_INT64(gi_config, debug, "diagnostics/debug", VIC_GI_READONLY, 0),
    VIC_GI_FIELD_BOOL(gi_config, asymrouting, "asymrouting", VIC_GI_READONLY, 0),
    VIC_GI_FIELD_STRUCT_MAP(gi_config, session_ids, sessions, n_sessions, "sessions",
                            VIC_GI_READONLY, 0, &gi_session_desc),
    VIC_GI_FIELD_STRUCT_ARRAY(gi_config, networks, n_networks, "networks", VIC_GI_READONLY, 0,
                              &gi_network_desc),
    VIC_GI_FIELD_STRING_MAP(gi_config, anno_keys, anno_values, n_annos, "annotations",
                            VIC_GI_HIDDEN, 0),
    VIC_GI_FIELD_STRING(gi_config, registry_password, "registry/password", VIC_GI_READONLY,
                        VIC_GI_SECRET),
    VIC_GI_FIELD_STRING_ARRAY(gi_config, secret_env, n_secret_env, "secretenv", VIC_GI_READONLY,
                              VIC_GI_SECRET),
};
static const vic_gi_desc gi_config_desc = VIC_GI_DESC(gi_config, gi_config_fields);

/* The fixed key of the fuzz harness and the unit tests (not a real secret). */
#define GI_SAMPLE_KEY_HEX "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

#endif
