/* MAC addresses (lib/netlink.h): parsing one, and Docker's made from an IPv4 address. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "lib/netlink.h"

static void test_mac_parse(void **state)
{
    (void)state;
    unsigned char hw[6];
    assert_int_equal(vic_mac_parse("02:42:0a:fB:ff:01", hw), 0);
    static const unsigned char want[6] = {0x02, 0x42, 0x0a, 0xfb, 0xff, 0x01};
    assert_memory_equal(hw, want, 6);
    static const char *const bad[] = {NULL,
                                      "",
                                      "02:42:0a:fb:ff",
                                      "02:42:0a:fb:ff:01:00",
                                      "02-42-0a-fb-ff-01",
                                      "02:42:0a:fb:ff:0g",
                                      " 2:42:0a:fb:ff:01",
                                      "01:00:5e:00:00:01", /* a group address */
                                      "ff:ff:ff:ff:ff:ff"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (vic_mac_parse(bad[i], hw) == 0)
            fail_msg("%s: parsed", bad[i] ? bad[i] : "(null)");
}

static void test_mac_of_ip(void **state)
{
    (void)state;
    char mac[18];
    assert_int_equal(vic_mac_of_ip("172.17.0.2", mac), 0);
    assert_string_equal(mac, "02:42:ac:11:00:02");
    assert_int_equal(vic_mac_of_ip("10.251.255.1/16", mac), 0);
    assert_string_equal(mac, "02:42:0a:fb:ff:01");
    unsigned char hw[6];
    assert_int_equal(vic_mac_parse(mac, hw), 0); /* a unicast address */
    assert_int_equal(vic_mac_of_ip("10.1.0", mac), -1);
    assert_string_equal(mac, "");
    assert_int_equal(vic_mac_of_ip(NULL, mac), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mac_parse),
        cmocka_unit_test(test_mac_of_ip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
