/*
 * commands.h - vic-machine's commands, each a thin run of the lifecycle engine
 * (vch-wizard/vch.h) over what its flags (flags.h) ask for. argv[0] is the command's name;
 * each returns the process's exit code (flags.h) and writes its results to stdout, its
 * problems to stderr.
 */
#ifndef VIC_VM_COMMANDS_H
#define VIC_VM_COMMANDS_H

#include "vic-machine/flags.h"

int vm_cmd_create(int argc, char **argv, vm_common *c);
int vm_cmd_ls(int argc, char **argv, vm_common *c);
int vm_cmd_inspect(int argc, char **argv, vm_common *c);
int vm_cmd_delete(int argc, char **argv, vm_common *c);
int vm_cmd_start(int argc, char **argv, vm_common *c);
int vm_cmd_stop(int argc, char **argv, vm_common *c);
int vm_cmd_configure(int argc, char **argv, vm_common *c);
int vm_cmd_debug(int argc, char **argv, vm_common *c);
int vm_cmd_ui(int argc, char **argv, vm_common *c);

#endif
