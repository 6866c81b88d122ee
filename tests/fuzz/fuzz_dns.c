/* libFuzzer harness: what any container can send the VCH's name server (lib/dns.c): a
 * datagram parsed as a query, then answered; the answer must stay inside its buffer and
 * repeat the question byte for byte. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vic_dns_query q;
    int rc = vic_dns_parse_query(data, size, &q);
    if (rc < 0)
        return 0;
    if (strlen(q.name) >= sizeof(q.name) || q.end > size)
        abort();
    uint8_t out[VIC_DNS_MAX_MSG];
    uint32_t addrs[2] = {0x0100000a, 0x0200000a};
    size_t n = rc == 0 ? 2 : 0;
    size_t len = vic_dns_answer(&q, data, rc, addrs, n, 5, out, sizeof(out));
    if (len > sizeof(out))
        abort();
    if (len > 0 && q.end > 12 && memcmp(out + 12, data + 12, q.end - 12) != 0)
        abort();
    if (len > 0 && ((out[2] & 0x80) == 0 || out[0] != data[0] || out[1] != data[1]))
        abort();
    return 0;
}
