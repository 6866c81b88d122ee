#include "dns.h"

#include <string.h>

#define HDR 12

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

int vic_dns_parse_query(const uint8_t *msg, size_t len, vic_dns_query *q)
{
    memset(q, 0, sizeof(*q));
    if (msg == NULL || len < HDR)
        return -1;
    q->id = get16(msg);
    q->flags = get16(msg + 2);
    if (q->flags & 0x8000)
        return -1; /* a response: never answer one (no loops between servers) */
    if (((q->flags >> 11) & 0xf) != 0)
        return VIC_DNS_NOTIMP;
    if (get16(msg + 4) != 1 || get16(msg + 6) != 0 || get16(msg + 8) != 0)
        return VIC_DNS_FORMERR;
    size_t at = HDR, out = 0;
    for (;;) {
        if (at >= len)
            return VIC_DNS_FORMERR;
        uint8_t l = msg[at++];
        if (l == 0)
            break;
        if (l > 63 || at + l > len || out + l + 1 >= sizeof(q->name))
            return VIC_DNS_FORMERR; /* a pointer, or a label or name over the limits */
        if (out)
            q->name[out++] = '.';
        for (uint8_t i = 0; i < l; i++) {
            uint8_t c = msg[at + i];
            if (c == '.' || c < 0x21 || c > 0x7e)
                return VIC_DNS_FORMERR; /* names we hold are printable, without dots */
            q->name[out++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
        }
        at += l;
    }
    q->name[out] = '\0';
    if (at + 4 > len)
        return VIC_DNS_FORMERR;
    q->qtype = get16(msg + at);
    q->qclass = get16(msg + at + 2);
    q->end = at + 4;
    return 0;
}

size_t vic_dns_answer(const vic_dns_query *q, const uint8_t *query, int rcode,
                      const uint32_t *addrs, size_t n, uint32_t ttl, uint8_t *out, size_t cap)
{
    size_t qlen = q->end > HDR ? q->end - HDR : 0;
    size_t need = HDR + qlen + n * 16;
    if (need > cap || (qlen == 0 && n > 0) || n > 0xffff)
        return 0;
    memset(out, 0, HDR);
    put16(out, q->id);
    /* QR, the opcode, AA, the client's RD; RA stays 0: we recurse for nobody */
    put16(out + 2,
          (uint16_t)(0x8000 | (q->flags & 0x7800) | 0x0400 | (q->flags & 0x0100) | (rcode & 0xf)));
    put16(out + 4, qlen ? 1 : 0);
    put16(out + 6, (uint16_t)n);
    if (qlen)
        memcpy(out + HDR, query + HDR, qlen);
    size_t at = HDR + qlen;
    for (size_t i = 0; i < n; i++) {
        put16(out + at, 0xc000 | HDR); /* the question's name */
        put16(out + at + 2, VIC_DNS_TYPE_A);
        put16(out + at + 4, VIC_DNS_CLASS_IN);
        put16(out + at + 6, (uint16_t)(ttl >> 16));
        put16(out + at + 8, (uint16_t)ttl);
        put16(out + at + 10, 4);
        memcpy(out + at + 12, &addrs[i], 4);
        at += 16;
    }
    return at;
}
