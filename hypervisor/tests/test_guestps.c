/* What the local host reads of a guest's network namespace: /proc/net/dev's figures per
 * interface, loopback left out (hypervisor/local/guestps.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "hypervisor/local/guestps.h"
#include "lib/cleanup.h"

static void test_guestps_parse_net_dev(void **state)
{
    (void)state;
    static const char text[] =
        "Inter-|   Receive                                                |  Transmit\n"
        " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs "
        "drop fifo colls carrier compressed\n"
        "    lo:     120       2    0    0    0     0          0         0      120       2    0 "
        "   0    0     0       0          0\n"
        "  eth0: 1234567    890    1    2    0     0          0         0    65432     321    3 "
        "   4    0     0       0          0\n"
        "eth1:5 6 7 8 0 0 0 0 9 10 11 12 0 0 0 0\n";
    json_t *n cleanup_json = guestps_parse_net_dev(text);
    assert_int_equal(json_object_size(n), 2);
    assert_null(json_object_get(n, "lo"));
    json_t *want cleanup_json = json_pack(
        "{s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
        "s:I}}",
        "eth0", "rx_bytes", (json_int_t)1234567, "rx_packets", (json_int_t)890, "rx_errors",
        (json_int_t)1, "rx_dropped", (json_int_t)2, "tx_bytes", (json_int_t)65432, "tx_packets",
        (json_int_t)321, "tx_errors", (json_int_t)3, "tx_dropped", (json_int_t)4, "eth1",
        "rx_bytes", (json_int_t)5, "rx_packets", (json_int_t)6, "rx_errors", (json_int_t)7,
        "rx_dropped", (json_int_t)8, "tx_bytes", (json_int_t)9, "tx_packets", (json_int_t)10,
        "tx_errors", (json_int_t)11, "tx_dropped", (json_int_t)12);
    assert_true(json_equal(n, want));
    /* nothing but the headers, or nothing at all: no interfaces */
    json_t *none cleanup_json = guestps_parse_net_dev("Inter-|\n face |\n");
    assert_int_equal(json_object_size(none), 0);
    json_t *empty cleanup_json = guestps_parse_net_dev("");
    assert_int_equal(json_object_size(empty), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_guestps_parse_net_dev),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
