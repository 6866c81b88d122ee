/*
 * tether: PID 1 of a containerVM (see tether.h). Built static: it runs inside whatever root
 * disk the container's image provides.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tether/tether.h"

int main(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("Usage: tether\n\nPID 1 of a VIC-C containerVM: runs the session that the VM's "
               "guestinfo describes\n(fd 3: guestinfo channel, fd 4: serial port). Started by "
               "the VM's monitor.\n");
        return 0;
    }
    if (getpid() != 1)
        fprintf(stderr, "tether: warning: not running as PID 1\n");
    return tether_main();
}
