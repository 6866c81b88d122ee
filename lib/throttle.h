/*
 * throttle.h - slowing password guessing down without locking the right password out.
 *
 * Failed logins are counted per user name and source address together, so that one
 * client's guesses at a name slow down that client at that name and nobody else. Each
 * attempt takes its place before the password is checked (the count is atomic: of twenty
 * concurrent guesses, only the free ones are checked). After `free_failures` failures in
 * `window` seconds, the key's next check waits 30 s, doubling with each further failure up
 * to `max_delay`; an attempt before then is answered "wait" without a check.
 *
 * Credentials that succeeded before (within a day, in this process) are always let through
 * to the check, whatever the key's state: the administrator who logs in from the same
 * address an attacker guesses from is never refused for the attacker's failures, and the
 * attacker learns nothing from it (the check still decides). Only a keyed MAC of such
 * credentials is kept, in memory.
 */
#ifndef VIC_THROTTLE_H
#define VIC_THROTTLE_H

#include <stddef.h>
#include <time.h>

typedef struct vic_throttle vic_throttle;

vic_throttle *vic_throttle_new(unsigned free_failures, unsigned window, unsigned max_delay);
void vic_throttle_free(vic_throttle *t);

typedef enum vic_throttle_verdict {
    VIC_THROTTLE_CHECK, /* check the password, then call vic_throttle_end */
    VIC_THROTTLE_WAIT,  /* refused unchecked; *wait holds the seconds until the next check */
} vic_throttle_verdict;

/* An attempt's place, from vic_throttle_begin to vic_throttle_end. */
typedef struct vic_throttle_ticket {
    size_t slot;
    unsigned long long gen;
} vic_throttle_ticket;

vic_throttle_verdict vic_throttle_begin(vic_throttle *t, const char *user, const char *password,
                                        const char *source, time_t now, unsigned *wait,
                                        vic_throttle_ticket *ticket);

/* The outcome of a VIC_THROTTLE_CHECK attempt: ok 1 resets the key and remembers the
 * credentials as good; 0 (wrong) counts a failure; -1 (no verdict: the check itself failed)
 * only gives the place back. */
void vic_throttle_end(vic_throttle *t, const vic_throttle_ticket *ticket, const char *user,
                      const char *password, int ok, time_t now);

#endif
