#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "lib/cleanup.h"
#include "personality/containers.h"

/* 2026-12-07T12:00:00Z */
#define NOW ((time_t)1796644800)

static void status_of(const char *state, const char *started, const char *finished, int code,
                      char *out, size_t cap)
{
    json_t *c cleanup_json = json_pack("{s:s, s:s, s:s, s:i}", "state", state, "started_at",
                                       started, "finished_at", finished, "exit_code", code);
    engine_container_status(c, NOW, out, cap);
}

static void test_engine_status_counts_uptime_from_the_start(void **state)
{
    (void)state;
    char s[96];
    status_of("running", "2026-12-07T11:55:00.000000000Z", "0001-01-01T00:00:00Z", 0, s, sizeof(s));
    assert_string_equal(s, "Up 5 minutes");
    status_of("exited", "2026-12-07T09:00:00Z", "2026-12-07T10:00:00Z", 3, s, sizeof(s));
    assert_string_equal(s, "Exited (3) 2 hours ago");
}

/* A container powered on in its run block has no start time: year 1 is no uptime ("Up 20794
 * days"), and Docker shows a container that has not started as Created. */
static void test_engine_status_of_a_container_without_a_start_is_created(void **state)
{
    (void)state;
    char s[96];
    status_of("starting", "0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z", 0, s, sizeof(s));
    assert_string_equal(s, "Created");
    status_of("running", "0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z", 0, s, sizeof(s));
    assert_string_equal(s, "Created");
    status_of("created", "0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z", 125, s, sizeof(s));
    assert_string_equal(s, "Created");
    status_of("starting", "", "", 0, s, sizeof(s));
    assert_string_equal(s, "Created");
    /* an exit without its time: no "20794 days ago" either */
    status_of("exited", "2026-12-07T09:00:00Z", "0001-01-01T00:00:00Z", 1, s, sizeof(s));
    assert_string_equal(s, "Exited (1)");
    json_t *bare cleanup_json = json_object();
    engine_container_status(bare, NOW, s, sizeof(s));
    assert_string_equal(s, "Created");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_engine_status_counts_uptime_from_the_start),
        cmocka_unit_test(test_engine_status_of_a_container_without_a_start_is_created),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
