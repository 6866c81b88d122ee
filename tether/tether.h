/*
 * tether.h - PID 1 of a containerVM.
 *
 * The tether reads its configuration from guestinfo (lib/execconfig.h) over the channel its
 * VM gives it, prepares the guest (hostname, /proc, /sys, /dev/pts, /dev/shm, /tmp, the
 * loopback interface), runs the session, reports `started` (or why it could not start) and
 * the start time, forwards signals to the session, reaps every orphan (it is init), copies
 * the session's output to the serial log (lib/serial.h framing), and when the session ends
 * writes its exit status and stop time and exits, which powers the VM off.
 *
 * File descriptors on entry: 3 is the guestinfo channel (lib/gichan.h), 4 the serial port,
 * 5 (optional) the interactive channel (lib/attach.h): stdin, terminal size, live output.
 */
#ifndef VIC_TETHER_H
#define VIC_TETHER_H

#include <stddef.h>

#define TETHER_GI_FD     3
#define TETHER_SERIAL_FD 4
#define TETHER_ATTACH_FD 5 /* the interactive channel (lib/attach.h), when the VM has one */

/* Runs the VM's main session; returns the tether's exit code (the session's). */
int tether_main(void);

#endif
