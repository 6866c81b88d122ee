/*
 * dns.h - the DNS messages a VCH's name server reads and writes (RFC 1035): a query with one
 * question in, an authoritative answer with A records (or an error code) out. UDP only, no
 * EDNS, no compression in queries (a question is the first name of a message).
 *
 * Everything here reads outside input (any container can send a datagram): the parser takes
 * a byte buffer and its length, bounds every read, and refuses what it does not expect.
 */
#ifndef VIC_DNS_H
#define VIC_DNS_H

#include <stddef.h>
#include <stdint.h>

#define VIC_DNS_MAX_MSG 512 /* what a UDP answer without EDNS may carry */

#define VIC_DNS_NOERROR  0
#define VIC_DNS_FORMERR  1
#define VIC_DNS_SERVFAIL 2
#define VIC_DNS_NXDOMAIN 3
#define VIC_DNS_NOTIMP   4
#define VIC_DNS_REFUSED  5

#define VIC_DNS_TYPE_A    1
#define VIC_DNS_TYPE_AAAA 28
#define VIC_DNS_CLASS_IN  1

typedef struct vic_dns_query {
    uint16_t id;
    uint16_t flags;
    char name[256]; /* lowercase, dot-separated, without the final dot; "" for the root */
    uint16_t qtype;
    uint16_t qclass;
    size_t end; /* offset just past the question */
} vic_dns_query;

/* Parses msg as a standard query with one question. 0 on success; VIC_DNS_FORMERR (or
 * VIC_DNS_NOTIMP for another opcode) when msg has a header worth answering with that code
 * (q->id and q->flags are set, q->end is 0); -1 when it is not a query at all (drop it). */
int vic_dns_parse_query(const uint8_t *msg, size_t len, vic_dns_query *q);

/* Writes the answer to q into out: its id, QR and AA set, RD copied, the rcode, the question
 * copied from query (when q->end > 0) and one A record per address (network order), with ttl.
 * Returns the length, or 0 when it does not fit cap. */
size_t vic_dns_answer(const vic_dns_query *q, const uint8_t *query, int rcode,
                      const uint32_t *addrs, size_t n, uint32_t ttl, uint8_t *out, size_t cap);

#endif
