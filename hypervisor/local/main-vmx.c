/*
 * vic-vmx: the monitor of one powered-on VM of the local host. Started by the local driver's
 * power on; not meant to be run by hand except for debugging.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "hypervisor/local/monitor.h"
#include "lib/log.h"

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"home", required_argument, NULL, 'H'}, {"bin-dir", required_argument, NULL, 'b'},
        {"vm", required_argument, NULL, 'v'},   {"ready-fd", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0},
    };
    monitor_opts o = {.ready_fd = -1};
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'H':
            o.home = optarg;
            break;
        case 'b':
            o.bin_dir = optarg;
            break;
        case 'v':
            o.vm = optarg;
            break;
        case 'r':
            o.ready_fd = atoi(optarg);
            break;
        case 'h':
            printf("Usage: vic-vmx --home DIR --bin-dir DIR --vm NAME [--ready-fd FD]\n\n"
                   "Runs a local VM until it powers off: the guest sandbox, its guestinfo\n"
                   "channel and its serial log. Started by power on.\n");
            return 0;
        default:
            return 2;
        }
    }
    if (o.home == NULL || o.bin_dir == NULL || o.vm == NULL) {
        fprintf(stderr, "vic-vmx: --home, --bin-dir and --vm are required\n");
        return 2;
    }
    vic_log_init("vmx", VIC_LOG_INFO);
    return monitor_run(&o);
}
