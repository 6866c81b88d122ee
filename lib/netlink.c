#include "netlink.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#define NL_BUF 1024

/* A request under construction: the header, its fixed part, then attributes. */
typedef struct nl_req {
    union {
        struct nlmsghdr h;
        char buf[NL_BUF];
    } u;
    struct rtattr *nest[4];
    int depth;
    int overflow;
} nl_req;

static void req_init(nl_req *r, int type, int flags, const void *fixed, size_t len)
{
    memset(r, 0, sizeof(*r));
    r->u.h.nlmsg_len = NLMSG_LENGTH(len);
    r->u.h.nlmsg_type = (unsigned short)type;
    r->u.h.nlmsg_flags = (unsigned short)(NLM_F_REQUEST | NLM_F_ACK | flags);
    memcpy(NLMSG_DATA(&r->u.h), fixed, len);
}

static struct rtattr *attr(nl_req *r, int type, const void *data, size_t len)
{
    size_t at = NLMSG_ALIGN(r->u.h.nlmsg_len), need = RTA_LENGTH(len);
    if (at + RTA_ALIGN(need) > sizeof(r->u.buf)) {
        r->overflow = 1;
        return NULL;
    }
    struct rtattr *a = (struct rtattr *)(r->u.buf + at);
    a->rta_type = (unsigned short)type;
    a->rta_len = (unsigned short)need;
    if (len)
        memcpy(RTA_DATA(a), data, len);
    r->u.h.nlmsg_len = (unsigned)(at + RTA_ALIGN(need));
    return a;
}

static void attr_str(nl_req *r, int type, const char *s)
{
    attr(r, type, s, strlen(s) + 1);
}

static void attr_u32(nl_req *r, int type, uint32_t v)
{
    attr(r, type, &v, sizeof(v));
}

static void nest_begin(nl_req *r, int type)
{
    struct rtattr *a = attr(r, type, NULL, 0);
    if (a && r->depth < 4)
        r->nest[r->depth++] = a;
    else
        r->overflow = 1;
}

static void nest_end(nl_req *r)
{
    if (r->overflow || r->depth == 0)
        return;
    struct rtattr *a = r->nest[--r->depth];
    a->rta_len = (unsigned short)(r->u.buf + r->u.h.nlmsg_len - (char *)a);
}

/* Sends the request and reads the kernel's acknowledgement: 0, or -errno. */
static int talk(nl_req *r)
{
    if (r->overflow)
        return -EMSGSIZE;
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0)
        return -errno;
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    r->u.h.nlmsg_seq = 1;
    int rc = -EIO;
    if (sendto(fd, r->u.buf, r->u.h.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    char buf[4096];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = n < 0 ? -errno : -EIO;
            break;
        }
        struct nlmsghdr *h = (struct nlmsghdr *)buf;
        int done = 0;
        for (size_t left = (size_t)n; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
            if (h->nlmsg_type == NLMSG_ERROR) {
                const struct nlmsgerr *e = NLMSG_DATA(h);
                rc = e->error; /* 0 is the acknowledgement */
                done = 1;
                break;
            }
        }
        if (done)
            break;
    }
    close(fd);
    return rc;
}

static int fail(vic_err **err, int neg_errno, const char *what, const char *name)
{
    int e = -neg_errno;
    int code = e == EPERM || e == EACCES   ? VIC_EFORBIDDEN
               : e == EEXIST               ? VIC_ECONFLICT
               : e == ENODEV || e == ESRCH ? VIC_ENOTFOUND
                                           : VIC_EIO;
    if (code == VIC_EFORBIDDEN)
        return vic_err_set(err, code,
                           "%s %s: this host does not let us (%s; creating network devices "
                           "needs CAP_NET_ADMIN)",
                           what, name, strerror(e));
    return vic_err_sys(err, code, e, "%s %s", what, name);
}

int vic_cidr_parse(const char *s, uint32_t *addr, int *prefix)
{
    char buf[32];
    if (s == NULL || strlen(s) >= sizeof(buf))
        return -1;
    snprintf(buf, sizeof(buf), "%s", s);
    char *slash = strchr(buf, '/');
    if (slash == NULL)
        return -1;
    *slash = '\0';
    char *end = NULL;
    errno = 0;
    long l = strtol(slash + 1, &end, 10);
    struct in_addr a;
    if (errno || end == slash + 1 || *end || l < 0 || l > 32 || inet_pton(AF_INET, buf, &a) != 1)
        return -1;
    *addr = ntohl(a.s_addr);
    *prefix = (int)l;
    return 0;
}

uint32_t vic_cidr_mask(int prefix)
{
    return prefix <= 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~(0xffffffffu >> prefix);
}

static int ifindex(const char *name, vic_err **err)
{
    unsigned idx = if_nametoindex(name);
    if (idx == 0)
        return vic_err_sys(err, VIC_ENOTFOUND, errno, "network device %s", name);
    return (int)idx;
}

static int link_set_up(int idx)
{
    struct ifinfomsg ifi = {
        .ifi_family = AF_UNSPEC, .ifi_index = idx, .ifi_flags = IFF_UP, .ifi_change = IFF_UP};
    nl_req r;
    req_init(&r, RTM_NEWLINK, 0, &ifi, sizeof(ifi));
    return talk(&r);
}

int vic_nl_link_up(const char *ifname, vic_err **err)
{
    int idx = ifindex(ifname, err);
    if (idx < 0)
        return idx;
    int rc = link_set_up(idx);
    return rc < 0 ? fail(err, rc, "bring up", ifname) : 0;
}

int vic_nl_bridge_ensure(const char *name, vic_err **err)
{
    if (if_nametoindex(name) == 0) {
        struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
        nl_req r;
        req_init(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof(ifi));
        attr_str(&r, IFLA_IFNAME, name);
        nest_begin(&r, IFLA_LINKINFO);
        attr_str(&r, IFLA_INFO_KIND, "bridge");
        nest_end(&r);
        int rc = talk(&r);
        if (rc < 0 && rc != -EEXIST)
            return fail(err, rc, "create bridge", name);
    }
    return vic_nl_link_up(name, err);
}

int vic_mac_parse(const char *s, unsigned char out[6])
{
    if (s == NULL || strlen(s) != 17)
        return -1;
    for (int i = 0; i < 17; i++)
        if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char)s[i]))
            return -1;
    for (int i = 0; i < 6; i++)
        out[i] = (unsigned char)strtoul(s + 3 * i, NULL, 16);
    return out[0] & 1 ? -1 : 0; /* the low bit of the first byte marks a group address */
}

int vic_mac_of_ip(const char *ip, char out[18])
{
    uint32_t a = 0;
    int prefix = 0;
    char cidr[40];
    out[0] = '\0';
    if (ip == NULL || strlen(ip) > 18)
        return -1;
    snprintf(cidr, sizeof(cidr), "%s%s", ip, strchr(ip, '/') ? "" : "/32");
    if (vic_cidr_parse(cidr, &a, &prefix) < 0)
        return -1;
    snprintf(out, 18, "02:42:%02x:%02x:%02x:%02x", a >> 24, (a >> 16) & 255, (a >> 8) & 255,
             a & 255);
    return 0;
}

int vic_nl_macvlan_add(const char *lower, const char *name, pid_t ns_pid, const char *mac,
                       vic_err **err)
{
    unsigned char hw[6];
    if (mac && vic_mac_parse(mac, hw) < 0)
        return vic_err_set(err, VIC_EINVAL, "%s: %s is not a unicast MAC address", name, mac);
    int lidx = ifindex(lower, err);
    if (lidx < 0)
        return lidx;
    struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
    nl_req r;
    req_init(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof(ifi));
    attr_str(&r, IFLA_IFNAME, name);
    attr_u32(&r, IFLA_LINK, (uint32_t)lidx);
    if (ns_pid > 0)
        attr_u32(&r, IFLA_NET_NS_PID, (uint32_t)ns_pid);
    if (mac)
        attr(&r, IFLA_ADDRESS, hw, sizeof(hw));
    nest_begin(&r, IFLA_LINKINFO);
    attr_str(&r, IFLA_INFO_KIND, "macvlan");
    nest_begin(&r, IFLA_INFO_DATA);
    attr_u32(&r, IFLA_MACVLAN_MODE, MACVLAN_MODE_BRIDGE);
    nest_end(&r);
    nest_end(&r);
    int rc = talk(&r);
    return rc < 0 ? fail(err, rc, "create the NIC", name) : 0;
}

int vic_nl_addr_add(const char *ifname, const char *cidr, vic_err **err)
{
    uint32_t a = 0;
    int prefix = 0;
    if (vic_cidr_parse(cidr, &a, &prefix) < 0)
        return vic_err_set(err, VIC_EINVAL, "%s is not an IPv4 address with a prefix length",
                           cidr ? cidr : "(null)");
    int idx = ifindex(ifname, err);
    if (idx < 0)
        return idx;
    struct ifaddrmsg ifa = {.ifa_family = AF_INET,
                            .ifa_prefixlen = (unsigned char)prefix,
                            .ifa_scope = RT_SCOPE_UNIVERSE,
                            .ifa_index = (unsigned)idx};
    nl_req r;
    req_init(&r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof(ifa));
    uint32_t be = htonl(a);
    attr(&r, IFA_LOCAL, &be, sizeof(be));
    attr(&r, IFA_ADDRESS, &be, sizeof(be));
    if (prefix < 31) {
        uint32_t bcast = htonl(a | (prefix == 0 ? 0xffffffffu : (0xffffffffu >> prefix)));
        attr(&r, IFA_BROADCAST, &bcast, sizeof(bcast));
    }
    int rc = talk(&r);
    if (rc < 0 && rc != -EEXIST)
        return fail(err, rc, "add an address to", ifname);
    return 0;
}

int vic_nl_link_del(const char *ifname, vic_err **err)
{
    struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
    nl_req r;
    req_init(&r, RTM_DELLINK, 0, &ifi, sizeof(ifi));
    attr_str(&r, IFLA_IFNAME, ifname);
    int rc = talk(&r);
    if (rc < 0 && rc != -ENODEV)
        return fail(err, rc, "delete", ifname);
    return 0;
}

int vic_nl_link_rename(const char *from, const char *to, vic_err **err)
{
    if (to == NULL || strlen(to) == 0 || strlen(to) >= IFNAMSIZ)
        return vic_err_set(err, VIC_EINVAL, "%s is not a network device name", to ? to : "");
    int idx = ifindex(from, err);
    if (idx < 0)
        return idx;
    /* a device is renamed while down */
    struct ifinfomsg ifi = {
        .ifi_family = AF_UNSPEC, .ifi_index = idx, .ifi_flags = 0, .ifi_change = IFF_UP};
    nl_req r;
    req_init(&r, RTM_NEWLINK, 0, &ifi, sizeof(ifi));
    int rc = talk(&r);
    if (rc < 0)
        return fail(err, rc, "bring down", from);
    ifi.ifi_change = 0;
    req_init(&r, RTM_NEWLINK, 0, &ifi, sizeof(ifi));
    attr_str(&r, IFLA_IFNAME, to);
    rc = talk(&r);
    return rc < 0 ? fail(err, rc, "rename", from) : 0;
}

int vic_nl_route_default(const char *ifname, const char *gateway, vic_err **err)
{
    struct in_addr gw;
    if (gateway == NULL || inet_pton(AF_INET, gateway, &gw) != 1)
        return vic_err_set(err, VIC_EINVAL, "gateway %s is not an IPv4 address",
                           gateway ? gateway : "(null)");
    int idx = ifindex(ifname, err);
    if (idx < 0)
        return idx;
    struct rtmsg rt = {.rtm_family = AF_INET,
                       .rtm_table = RT_TABLE_MAIN,
                       .rtm_protocol = RTPROT_BOOT,
                       .rtm_scope = RT_SCOPE_UNIVERSE,
                       .rtm_type = RTN_UNICAST};
    nl_req r;
    req_init(&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, &rt, sizeof(rt));
    attr(&r, RTA_GATEWAY, &gw.s_addr, sizeof(gw.s_addr));
    attr_u32(&r, RTA_OIF, (uint32_t)idx);
    int rc = talk(&r);
    if (rc < 0)
        return fail(err, rc, "add the default route through", gateway);
    return 0;
}
