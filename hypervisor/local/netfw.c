#include "hypervisor/local/netfw.h"

#include <net/if.h>
#include <nftables/libnftables.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/mem.h"

#define T "inet " NETFW_TABLE

/* The table, its set and chains, and the chains' rules rewritten (flush, then add: one
 * transaction with whatever follows, so no packet sees them half made). */
static const char skeleton[] =
    "add table " T "\n"
    "add set " T " segments { type ifname; comment \"host adapters of VIC-C bridge segments\"; }\n"
    "add chain " T " input { type filter hook input priority filter; policy accept; }\n"
    "add chain " T " forward { type filter hook forward priority filter; policy accept; }\n"
    "add chain " T " segment\n"
    "flush chain " T " input\n"
    "flush chain " T " forward\n"
    "flush chain " T " segment\n"
    "add rule " T " input iifname @segments jump segment\n"
    "add rule " T " forward iifname @segments drop\n"
    "add rule " T " forward oifname @segments drop\n"
    "add rule " T " segment meta nfproto ipv4 fib daddr . iif type local "
    "ct state established,related accept\n"
    "add rule " T " segment meta nfproto ipv4 fib daddr . iif type local "
    "meta l4proto { tcp, udp } th dport 53 accept\n"
    "add rule " T " segment drop\n";

/* libnftables keeps state of its own (caches, its parser's): one command at a time. */
static pthread_mutex_t nft_mu = PTHREAD_MUTEX_INITIALIZER;

/* Runs cmds (nft syntax, one transaction). VIC_EUNSUPPORTED, with nft's message, when it
 * fails: a host without nf_tables (or the fib, ct modules), or a caller without CAP_NET_ADMIN. */
static int run(const char *cmds, const char *what, vic_err **err)
{
    pthread_mutex_lock(&nft_mu);
    struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
    if (nft == NULL) {
        pthread_mutex_unlock(&nft_mu);
        return vic_err_set(err, VIC_EUNSUPPORTED, "nftables: cannot start libnftables");
    }
    nft_ctx_buffer_output(nft);
    nft_ctx_buffer_error(nft);
    int rc = nft_run_cmd_from_buffer(nft, cmds);
    int out = 0;
    if (rc != 0) {
        const char *msg = nft_ctx_get_error_buffer(nft);
        /* nft's first line says what failed; the rest quotes the command */
        size_t n = msg ? strcspn(msg, "\n") : 0;
        out = vic_err_set(err, VIC_EUNSUPPORTED, "nftables: %s: %.*s", what,
                          (int)(n > 300 ? 300 : n), n ? msg : "failed");
    }
    nft_ctx_free(nft);
    pthread_mutex_unlock(&nft_mu);
    return out;
}

/* Adapter names are ours ("vg" + hex digits); anything else would be quoted into nft. */
static int name_ok(const char *adapter, vic_err **err)
{
    size_t n = strlen(adapter);
    if (n < 3 || n >= IFNAMSIZ || strncmp(adapter, "vg", 2) != 0 ||
        strspn(adapter + 2, "0123456789abcdef") != n - 2)
        return vic_err_set(err, VIC_EINVAL, "not a segment's host adapter: \"%s\"", adapter);
    return 0;
}

int netfw_segment_add(const char *adapter, vic_err **err)
{
    int rc = name_ok(adapter, err);
    if (rc < 0)
        return rc;
    cleanup_free char *cmds =
        xasprintf("%sadd element " T " segments { \"%s\" }\n", skeleton, adapter);
    cleanup_free char *what = xasprintf("isolate segment adapter %s", adapter);
    return run(cmds, what, err);
}

int netfw_segment_remove(const char *adapter, vic_err **err)
{
    int rc = name_ok(adapter, err);
    if (rc < 0)
        return rc;
    /* adding first makes the delete succeed when the element (or the table) was not there */
    cleanup_free char *cmds =
        xasprintf("add table " T "\n"
                  "add set " T " segments { type ifname; comment \"host adapters of VIC-C bridge "
                  "segments\"; }\n"
                  "add element " T " segments { \"%s\" }\n"
                  "delete element " T " segments { \"%s\" }\n",
                  adapter, adapter);
    cleanup_free char *what = xasprintf("remove segment adapter %s", adapter);
    return run(cmds, what, err);
}

int netfw_probe(vic_err **err)
{
    return run(skeleton, "set up table " T, err);
}
