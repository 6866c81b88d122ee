/*
 * vic-init: PID 1 of a VCH appliance (see init.h). Started by the appliance VM's monitor.
 */
#include <stdio.h>
#include <string.h>

#include "lib/log.h"
#include "tether/vic-init/init.h"

int main(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("Usage: vic-init\n\n"
               "PID 1 of a VIC-C VCH appliance: reads the VCH's configuration from guestinfo\n"
               "(" INIT_CONFIG_PREFIX "*), runs the port layer and the Docker personality,\n"
               "restarts them when they fail and publishes their state (guestinfo.vice..init.*).\n"
               "fd 3: guestinfo channel, fd 4: serial log; the working directory holds the\n"
               "token, the TLS key pair and the components' logs. Started by the VM's monitor.\n");
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "vic-init: unexpected argument %s (see --help)\n", argv[1]);
        return 2;
    }
    vic_log_init("vic-init", VIC_LOG_INFO);
    vic_err *err = NULL;
    if (vic_log_open_file("vic-init.log", &err) < 0)
        vic_err_free(&err);
    int code = init_run(3, 4);
    vic_log_close();
    return code;
}
