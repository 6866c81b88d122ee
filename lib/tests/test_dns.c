/*
 * lib/dns.c: a query's question read (case folded, bounds kept), malformed and non-query
 * messages refused the right way, and answers that repeat the question and carry A records.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <string.h>

#include "lib/dns.h"

static const uint8_t query_web[] = {0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
                                    0x00, 0x00, 0x00, 0x03, 'W',  'e',  'b',  0x03, 'l',
                                    'a',  'n',  0x00, 0x00, 0x01, 0x00, 0x01};

static void test_parse_query(void **state)
{
    (void)state;
    vic_dns_query q;
    assert_int_equal(vic_dns_parse_query(query_web, sizeof(query_web), &q), 0);
    assert_string_equal(q.name, "web.lan");
    assert_int_equal(q.qtype, VIC_DNS_TYPE_A);
    assert_int_equal(q.id, 0x1234);
    assert_int_equal(q.end, sizeof(query_web));
}

static void test_malformed(void **state)
{
    (void)state;
    vic_dns_query q;
    uint8_t m[sizeof(query_web)];
    assert_int_equal(vic_dns_parse_query(query_web, 5, &q), -1);
    memcpy(m, query_web, sizeof(m));
    m[2] |= 0x80; /* a response */
    assert_int_equal(vic_dns_parse_query(m, sizeof(m), &q), -1);
    memcpy(m, query_web, sizeof(m));
    m[12] = 0xc0; /* a compression pointer as the question */
    assert_int_equal(vic_dns_parse_query(m, sizeof(m), &q), VIC_DNS_FORMERR);
    memcpy(m, query_web, sizeof(m));
    m[12] = 40; /* a label running past the end */
    assert_int_equal(vic_dns_parse_query(m, sizeof(m), &q), VIC_DNS_FORMERR);
    assert_int_equal(vic_dns_parse_query(query_web, sizeof(query_web) - 2, &q), VIC_DNS_FORMERR);
    memcpy(m, query_web, sizeof(m));
    m[2] = 0x28; /* opcode 5 (update) */
    assert_int_equal(vic_dns_parse_query(m, sizeof(m), &q), VIC_DNS_NOTIMP);
    memcpy(m, query_web, sizeof(m));
    m[5] = 2; /* two questions */
    assert_int_equal(vic_dns_parse_query(m, sizeof(m), &q), VIC_DNS_FORMERR);
}

static void test_answer(void **state)
{
    (void)state;
    vic_dns_query q;
    assert_int_equal(vic_dns_parse_query(query_web, sizeof(query_web), &q), 0);
    uint8_t out[VIC_DNS_MAX_MSG];
    uint32_t a[2] = {inet_addr("10.1.0.2"), inet_addr("10.1.0.3")};
    size_t n = vic_dns_answer(&q, query_web, VIC_DNS_NOERROR, a, 2, 5, out, sizeof(out));
    assert_int_equal(n, sizeof(query_web) + 32);
    assert_int_equal(out[0], 0x12);
    assert_int_equal(out[2] & 0x84, 0x84); /* QR and AA */
    assert_int_equal(out[3] & 0x0f, 0);
    assert_int_equal(out[7], 2);
    assert_memory_equal(out + 12, query_web + 12, sizeof(query_web) - 12);
    assert_memory_equal(out + sizeof(query_web) + 12, &a[0], 4);
    /* NXDOMAIN: no answers; too small a buffer: nothing */
    n = vic_dns_answer(&q, query_web, VIC_DNS_NXDOMAIN, NULL, 0, 5, out, sizeof(out));
    assert_int_equal(out[3] & 0x0f, VIC_DNS_NXDOMAIN);
    assert_int_equal(n, sizeof(query_web));
    assert_int_equal(vic_dns_answer(&q, query_web, 0, a, 2, 5, out, 20), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_query),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_answer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
