/*
 * flags.h - vic-machine's command lines: the options every command shares, and each
 * command's own flags translated into what the lifecycle engine (vch-wizard/vch.h) takes (a
 * VCH spec, a partial model of changes, delete options).
 *
 * Help goes to c->out, problems to c->err (stdout and stderr in vic-machine), each problem
 * one line "vic-machine CMD: ...". A parser returns 0 to go on, VM_HELP when it printed the
 * help asked for, or VM_EXIT_USAGE when the command line is wrong.
 */
#ifndef VIC_VM_FLAGS_H
#define VIC_VM_FLAGS_H

#include <getopt.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "vch-wizard/vch.h"

/* Exit codes: 0 success, 1 the operation failed, 2 bad usage, 3 the specification is
 * invalid. */
enum { VM_EXIT_OP = 1, VM_EXIT_USAGE = 2, VM_EXIT_INVALID = 3 };

/* A parser's "help shown: exit 0". */
#define VM_HELP (-1)

typedef struct vm_common {
    FILE *out, *err;
    const char *target;
    const char *home;
    const char *bin_dir;
    const char *name;
    const char *id;
    const char *user;
    char *password; /* owned copy; the command line's is wiped (vic_free_secret it) */
    const char *thumbprint;
    const char *appliance_iso;
    long timeout_s; /* create: how long to wait for the appliance */
    int json;
    int tty; /* stdout is a terminal: progress redraws a step's line when it ends */
} vm_common;

/* The help of the options every command takes. */
extern const char *const vm_common_help;

/* A command's own option: handles o (its argument arg) into payload; 0 when taken. */
typedef int (*vm_opt_fn)(int o, const char *arg, void *payload);

/*
 * Parses the options every command shares plus the command's own (extra, handled by fn),
 * for the command cmd whose help shows args, what and extra_help. With positional, one
 * positional argument is taken into *positional.
 */
int vm_parse_common(int argc, char **argv, vm_common *c, const struct option *extra, size_t n_extra,
                    vm_opt_fn fn, void *payload, const char *cmd, const char *args,
                    const char *what, const char *extra_help, const char **positional);

/* The VCH a command works on (--id, else --name), or NULL after saying so. */
const char *vm_vch_of(const vm_common *c, const char *cmd);

/* create: the VCH spec (vic-machine-server's model) the flags ask for, *spec a new
 * reference when 0 is returned. */
int vm_create_flags(int argc, char **argv, vm_common *c, json_t **spec);

/* configure: the partial model the flags change (new reference when 0 is returned); an empty
 * object when they change nothing. */
int vm_configure_flags(int argc, char **argv, vm_common *c, json_t **changes);

/* debug: {"debug": LEVEL} (default 1). */
int vm_debug_flags(int argc, char **argv, vm_common *c, json_t **changes);

/* delete: what a delete removes besides the VCH. */
int vm_delete_flags(int argc, char **argv, vm_common *c, vch_delete_opts *o);
int vm_start_flags(int argc, char **argv, vm_common *c);
/* *grace_s: --grace, 10 by default. */
int vm_stop_flags(int argc, char **argv, vm_common *c, long *grace_s);

#endif
