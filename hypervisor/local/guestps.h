/*
 * guestps.h - the processes of a powered-on containerVM on the local host, as VMware's guest
 * operations list them (ListProcessesInGuest): read from /proc, every process in the guest's
 * PID namespace, with the ids the guest sees (its PIDs, and its uids: host uid minus the
 * guest id base).
 */
#ifndef VIC_LOCAL_GUESTPS_H
#define VIC_LOCAL_GUESTPS_H

#include <jansson.h>
#include <sys/types.h>

#include "lib/err.h"

/* The processes of the guest whose monitor is process monitor, as a JSON array of {pid,
 * ppid, uid, start_time (Unix seconds), cpu_ns, tty, cmd} sorted by pid. VIC_ECONFLICT when
 * the monitor runs no guest. */
int guestps_list(pid_t monitor, json_t **out, vic_err **err);

/* Sends sig to the guest's process guest_pid (its PID as the guest sees it). VIC_ENOTFOUND
 * when the guest has no such process. */
int guestps_signal(pid_t monitor, long guest_pid, int sig, vic_err **err);

/* What the host sees of the guest whose monitor is process monitor: {pid (the host's id of
 * the guest's PID 1), processes (how many the guest's PID namespace holds), nics (the
 * figures of guestps_parse_net_dev for the guest's network namespace)}. VIC_ECONFLICT when
 * the monitor runs no guest. */
int guestps_usage(pid_t monitor, json_t **out, vic_err **err);

/* The interfaces of a /proc/net/dev text but loopback, as {ifname: {rx_bytes, rx_packets,
 * rx_errors, rx_dropped, tx_bytes, tx_packets, tx_errors, tx_dropped}}. New reference. */
json_t *guestps_parse_net_dev(const char *text);

#endif
