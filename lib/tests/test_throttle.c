/* Slowing password guessing down (lib/throttle) without locking the right password out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include "lib/throttle.h"

#define T0 1000000

static vic_throttle_verdict attempt(vic_throttle *t, const char *user, const char *pw,
                                    const char *src, time_t now, int ok, unsigned *wait)
{
    vic_throttle_ticket tk;
    unsigned w = 0;
    vic_throttle_verdict v = vic_throttle_begin(t, user, pw, src, now, &w, &tk);
    if (v == VIC_THROTTLE_CHECK)
        vic_throttle_end(t, &tk, user, pw, ok, now);
    if (wait)
        *wait = w;
    return v;
}

static void test_slows_after_free_failures(void **state)
{
    (void)state;
    vic_throttle *t = vic_throttle_new(5, 300, 900);
    for (int i = 0; i < 5; i++)
        assert_int_equal(attempt(t, "admin", "guess", "127.0.0.1", T0, 0, NULL),
                         VIC_THROTTLE_CHECK);
    unsigned wait = 0;
    assert_int_equal(attempt(t, "admin", "guess", "127.0.0.1", T0 + 1, 0, &wait),
                     VIC_THROTTLE_WAIT);
    assert_int_equal(wait, 29);
    /* its time come: one more check, then a longer wait */
    assert_int_equal(attempt(t, "admin", "guess", "127.0.0.1", T0 + 30, 0, NULL),
                     VIC_THROTTLE_CHECK);
    assert_int_equal(attempt(t, "admin", "guess", "127.0.0.1", T0 + 31, 0, &wait),
                     VIC_THROTTLE_WAIT);
    assert_int_equal(wait, 59);
    /* another name, or another address, is not slowed */
    assert_int_equal(attempt(t, "bob", "guess", "127.0.0.1", T0 + 31, 0, NULL), VIC_THROTTLE_CHECK);
    assert_int_equal(attempt(t, "admin", "guess", "127.0.0.2", T0 + 31, 0, NULL),
                     VIC_THROTTLE_CHECK);
    vic_throttle_free(t);
}

static void test_counts_attempts_before_their_check(void **state)
{
    (void)state;
    vic_throttle *t = vic_throttle_new(5, 300, 900);
    vic_throttle_ticket tk[20];
    unsigned wait;
    int checked = 0;
    for (int i = 0; i < 20; i++)
        checked += vic_throttle_begin(t, "admin", "guess", "10.0.0.1", T0, &wait, &tk[i]) ==
                   VIC_THROTTLE_CHECK;
    assert_int_equal(checked, 5); /* twenty at once: five checked, as if one after another */
    for (int i = 0; i < 5; i++)
        vic_throttle_end(t, &tk[i], "admin", "guess", 0, T0);
    assert_int_equal(attempt(t, "admin", "guess", "10.0.0.1", T0, 0, NULL), VIC_THROTTLE_WAIT);
    vic_throttle_free(t);
}

static void test_right_password_is_never_refused(void **state)
{
    (void)state;
    vic_throttle *t = vic_throttle_new(5, 300, 900);
    assert_int_equal(attempt(t, "admin", "right", "127.0.0.1", T0, 1, NULL), VIC_THROTTLE_CHECK);
    for (int i = 0; i < 12; i++)
        attempt(t, "admin", "guess", "127.0.0.1", T0 + 1, 0, NULL);
    assert_int_equal(attempt(t, "admin", "guess", "127.0.0.1", T0 + 2, 0, NULL), VIC_THROTTLE_WAIT);
    /* the administrator at the attacker's address, with the password that worked before */
    assert_int_equal(attempt(t, "admin", "right", "127.0.0.1", T0 + 2, 1, NULL),
                     VIC_THROTTLE_CHECK);
    /* and its success does not open the way for guesses: they count from zero again */
    for (int i = 0; i < 5; i++)
        assert_int_equal(attempt(t, "admin", "guess", "127.0.0.1", T0 + 3, 0, NULL),
                         VIC_THROTTLE_CHECK);
    assert_int_equal(attempt(t, "admin", "guess", "127.0.0.1", T0 + 3, 0, NULL), VIC_THROTTLE_WAIT);
    vic_throttle_free(t);
}

static void test_no_verdict_counts_nothing_and_quiet_forgives(void **state)
{
    (void)state;
    vic_throttle *t = vic_throttle_new(2, 300, 900);
    for (int i = 0; i < 10; i++)
        assert_int_equal(attempt(t, "u", "p", "s", T0, -1, NULL), VIC_THROTTLE_CHECK);
    attempt(t, "u", "p", "s", T0, 0, NULL);
    attempt(t, "u", "p", "s", T0, 0, NULL);
    assert_int_equal(attempt(t, "u", "p", "s", T0 + 1, 0, NULL), VIC_THROTTLE_WAIT);
    /* a window of quiet after the wait ended forgives the key */
    assert_int_equal(attempt(t, "u", "p", "s", T0 + 30 + 301, 0, NULL), VIC_THROTTLE_CHECK);
    assert_int_equal(attempt(t, "u", "p", "s", T0 + 30 + 301, 0, NULL), VIC_THROTTLE_CHECK);
    vic_throttle_free(t);
}

static void test_guesses_at_many_names_keep_a_slowed_key(void **state)
{
    (void)state;
    vic_throttle *t = vic_throttle_new(1, 300, 900);
    attempt(t, "admin", "guess", "s", T0, 0, NULL);
    char name[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof(name), "user%d", i);
        attempt(t, name, "guess", "s", T0 + 1, 0, NULL);
    }
    assert_int_equal(attempt(t, "admin", "guess", "s", T0 + 2, 0, NULL), VIC_THROTTLE_WAIT);
    vic_throttle_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slows_after_free_failures),
        cmocka_unit_test(test_counts_attempts_before_their_check),
        cmocka_unit_test(test_right_password_is_never_refused),
        cmocka_unit_test(test_no_verdict_counts_nothing_and_quiet_forgives),
        cmocka_unit_test(test_guesses_at_many_names_keep_a_slowed_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
