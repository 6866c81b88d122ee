/*
 * portfwd.h - the local host's NAT port forwards: for each "ethernetN.portForward.M" line
 * of a powered-on VM ("tcp HOST_IP HOST_PORT GUEST_PORT"), the monitor listens on
 * HOST_IP:HOST_PORT in the host's network namespace and relays each connection to
 * 127.0.0.1:GUEST_PORT inside the guest's network namespace (a connection made there with
 * setns), both directions, half-closes included. A refused or failed guest connection closes
 * the client's; at most PORTFWD_MAX_CONNS connections at once, more are refused.
 *
 * A "udp" line relays datagrams: each client address (a flow) gets a socket of its own in
 * the guest, connected to 127.0.0.1:GUEST_PORT, and what the guest sends back on it goes to
 * that client from HOST_IP:HOST_PORT. A flow is forgotten after PORTFWD_UDP_IDLE_MS without
 * a datagram either way; at most PORTFWD_MAX_FLOWS at once, a new client taking the place of
 * the flow idle longest.
 *
 * Everything runs in the monitor's poll loop (non-blocking sockets, bounded buffers): a
 * slow side stops the other from being read, never the monitor.
 */
#ifndef VIC_LOCAL_PORTFWD_H
#define VIC_LOCAL_PORTFWD_H

#include <jansson.h>
#include <poll.h>
#include <sys/types.h>

#include "lib/err.h"

#define PORTFWD_MAX_RULES   64
#define PORTFWD_MAX_CONNS   256
#define PORTFWD_MAX_FLOWS   256
#define PORTFWD_UDP_IDLE_MS 90000 /* as Docker's userland proxy keeps a UDP flow */

typedef struct portfwd portfwd;

/* Binds every forward of the VM's configuration kv (an object of .vmx keys). A port that
 * cannot be bound fails with VIC_ECONFLICT naming it; a malformed line is VIC_EINVAL. *out
 * is NULL when the VM has no forwards. */
int portfwd_open(portfwd **out, const json_t *kv, vic_err **err);

/* Where guest connections are made: the guest's network namespace (its PID 1). */
int portfwd_attach(portfwd *p, pid_t guest, vic_err **err);

void portfwd_free(portfwd *p);

/* How many pollfd entries portfwd_poll_fill may use. */
size_t portfwd_poll_max(const portfwd *p);

/* Fills pf with what the forwards wait for; returns how many entries it used. */
size_t portfwd_poll_fill(portfwd *p, struct pollfd *pf);

/* Acts on the entries portfwd_poll_fill filled (same order, after poll; n 0 when poll timed
 * out), and forgets idle UDP flows. */
void portfwd_poll_handle(portfwd *p, const struct pollfd *pf, size_t n);

/* Milliseconds until the next UDP flow idles out (-1: none). */
long portfwd_timeout_ms(const portfwd *p);

/* How long a UDP flow may idle (ms > 0; otherwise PORTFWD_UDP_IDLE_MS). */
void portfwd_set_udp_idle_ms(portfwd *p, long ms);

/* How many UDP flows there are. */
size_t portfwd_udp_flows(const portfwd *p);

#endif
