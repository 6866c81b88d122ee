/* What the hypervisor layer knows of this machine for every driver: its own networks. */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "hypervisor/hv.h"
#include "lib/netlink.h"

const hv_caps *hv_caps_of(const hv_conn *c)
{
    return c->driver->caps;
}

/* Whether interface name is loopback or a bridge a driver made for containers. */
static int skipped(const char *name)
{
    static const hv_driver *const drivers[] = {&hv_local_driver, &hv_vsphere_driver};
    if (strncmp(name, "lo", 2) == 0)
        return 1;
    for (size_t i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++) {
        const char *prefix = drivers[i]->caps->bridge_prefix;
        if (prefix && strncmp(name, prefix, strlen(prefix)) == 0)
            return 1;
    }
    return 0;
}

int hv_host_net_overlap(uint32_t net, int len, char *ifname, size_t cap)
{
    struct ifaddrs *ifs = NULL;
    if (getifaddrs(&ifs) < 0)
        return 0;
    int hit = 0;
    for (struct ifaddrs *i = ifs; i && !hit; i = i->ifa_next) {
        if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET || i->ifa_netmask == NULL ||
            skipped(i->ifa_name))
            continue;
        uint32_t a = ntohl(((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr);
        uint32_t m = ntohl(((struct sockaddr_in *)i->ifa_netmask)->sin_addr.s_addr);
        int ml = __builtin_popcount(m);
        int shorter = len < ml ? len : ml;
        if ((net & vic_cidr_mask(shorter)) == ((a & m) & vic_cidr_mask(shorter))) {
            snprintf(ifname, cap, "%s", i->ifa_name);
            hit = 1;
        }
    }
    freeifaddrs(ifs);
    return hit;
}
