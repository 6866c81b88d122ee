/*
 * vic-machine: create, list, inspect, reconfigure and delete Virtual Container Hosts.
 * A thin CLI over the lifecycle engine (vch-wizard/vch.h) that vic-webservice also uses: the
 * commands are in commands.c, their flags in flags.c.
 *
 * Exit codes: 0 success, 1 the operation failed, 2 bad usage, 3 the specification is invalid.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/mem.h"
#include "lib/version.h"
#include "vic-machine/commands.h"

static void usage(FILE *f)
{
    fprintf(f, "Usage: vic-machine COMMAND [OPTIONS]\n\n"
               "Manages Virtual Container Hosts (VCHs).\n\n"
               "Commands:\n"
               "  create      create a VCH\n"
               "  ls          list the VCHs\n"
               "  inspect     show a VCH (--log: its creation log; --env: docker env lines)\n"
               "  configure   change a live VCH's limits, debug level, syslog or registries\n"
               "  debug       raise a VCH's debug level\n"
               "  delete      delete a VCH\n"
               "  start       power a stopped VCH on (it comes back with its host again)\n"
               "  stop        power a VCH and its containers off (it stays off)\n"
               "  ui          register the vSphere Client plugin with vCenter (install, remove,\n"
               "              info)\n"
               "  version     show the version\n\n"
               "Run vic-machine COMMAND --help for a command's options.\n");
}

/* Runs command cmd; argv[0] is the command's name. */
static int run(const char *cmd, int argc, char **argv, vm_common *cp)
{
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        for (int i = 1; i < argc; i++)
            if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
                printf("Usage: vic-machine version\n\nPrints the version of vic-machine.\n");
                return 0;
            }
        printf("vic-machine version %s\n", vic_version());
        return 0;
    }
    if (strcmp(cmd, "create") == 0)
        return vm_cmd_create(argc, argv, cp);
    if (strcmp(cmd, "ls") == 0 || strcmp(cmd, "list") == 0)
        return vm_cmd_ls(argc, argv, cp);
    if (strcmp(cmd, "inspect") == 0)
        return vm_cmd_inspect(argc, argv, cp);
    if (strcmp(cmd, "delete") == 0)
        return vm_cmd_delete(argc, argv, cp);
    if (strcmp(cmd, "start") == 0)
        return vm_cmd_start(argc, argv, cp);
    if (strcmp(cmd, "stop") == 0)
        return vm_cmd_stop(argc, argv, cp);
    if (strcmp(cmd, "configure") == 0)
        return vm_cmd_configure(argc, argv, cp);
    if (strcmp(cmd, "debug") == 0)
        return vm_cmd_debug(argc, argv, cp);
    if (strcmp(cmd, "ui") == 0)
        return vm_cmd_ui(argc, argv, cp);
    fprintf(stderr, "vic-machine: unknown command %s\n\n", cmd);
    usage(stderr);
    return VM_EXIT_USAGE;
}

int main(int argc, char **argv)
{
    vic_log_init("vic-machine", VIC_LOG_WARN);
    if (argc < 2) {
        usage(stderr);
        return VM_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    vm_common c = {.out = stdout, .err = stderr, .target = "local", .tty = isatty(STDOUT_FILENO)};
    int rc = run(cmd, argc - 1, argv + 1, &c);
    vic_free_secret(c.password);
    return rc;
}
