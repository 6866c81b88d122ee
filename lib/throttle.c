#include "throttle.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "mem.h"

#define KEYS        256
#define KNOWN       32
#define KNOWN_TTL   (24 * 3600)
#define FIRST_DELAY 30

typedef struct key_entry {
    char key[192]; /* user "\n" source; "" when free */
    unsigned failures;
    unsigned in_flight;
    time_t window_start;
    time_t next_at; /* while slowed: when the next check may run */
    unsigned long long gen;
} key_entry;

typedef struct known_entry {
    unsigned char mac[32];
    time_t until;
} known_entry;

struct vic_throttle {
    pthread_mutex_t lock;
    unsigned free_failures, window, max_delay;
    unsigned char secret[32];
    key_entry keys[KEYS];
    known_entry known[KNOWN];
    unsigned known_next;
    unsigned long long gen;
};

vic_throttle *vic_throttle_new(unsigned free_failures, unsigned window, unsigned max_delay)
{
    vic_throttle *t = xzalloc(sizeof(*t));
    pthread_mutex_init(&t->lock, NULL);
    t->free_failures = free_failures;
    t->window = window;
    t->max_delay = max_delay;
    vic_random_bytes(t->secret, sizeof(t->secret));
    return t;
}

void vic_throttle_free(vic_throttle *t)
{
    if (t == NULL)
        return;
    pthread_mutex_destroy(&t->lock);
    OPENSSL_cleanse(t, sizeof(*t));
    free(t);
}

/* The key's entry (created when missing, taking the free or least recently used one). */
static key_entry *entry_for(vic_throttle *t, const char *key, time_t now)
{
    key_entry *victim = NULL;
    for (size_t i = 0; i < KEYS; i++) {
        key_entry *e = &t->keys[i];
        if (e->key[0] && strcmp(e->key, key) == 0)
            return e;
        /* an entry with attempts under way, or one being slowed, is never reused: guesses
         * at many names must not push a slowed key out */
        if (e->in_flight || e->next_at > now)
            continue;
        if (victim == NULL || !e->key[0] ||
            (victim->key[0] && e->window_start < victim->window_start))
            victim = e;
    }
    if (victim == NULL)
        return NULL;
    memset(victim, 0, sizeof(*victim));
    snprintf(victim->key, sizeof(victim->key), "%s", key);
    victim->window_start = now;
    victim->gen = ++t->gen;
    return victim;
}

static unsigned delay_after(const vic_throttle *t, unsigned failures)
{
    unsigned extra = failures - t->free_failures;
    unsigned d = FIRST_DELAY << (extra > 5 ? 5 : extra);
    return d > t->max_delay ? t->max_delay : d;
}

vic_throttle_verdict vic_throttle_begin(vic_throttle *t, const char *user, const char *password,
                                        const char *source, time_t now, unsigned *wait,
                                        vic_throttle_ticket *ticket)
{
    *wait = 0;
    unsigned char mac[32];
    vic_credentials_mac(mac, t->secret, user, password);
    char key[192];
    snprintf(key, sizeof(key), "%.100s\n%.64s", user, source);
    pthread_mutex_lock(&t->lock);
    int known = 0;
    for (size_t i = 0; i < KNOWN; i++)
        known |= t->known[i].until > now && CRYPTO_memcmp(t->known[i].mac, mac, 32) == 0;
    key_entry *e = entry_for(t, key, now);
    vic_throttle_verdict v = VIC_THROTTLE_CHECK;
    ticket->slot = KEYS; /* no place: vic_throttle_end only remembers good credentials */
    ticket->gen = 0;
    if (e == NULL) { /* every entry has attempts under way: a flood; known credentials pass */
        if (!known) {
            v = VIC_THROTTLE_WAIT;
            *wait = 1;
        }
    } else {
        /* a key left alone for a window after its last delay is forgiven */
        time_t quiet_since = e->next_at > e->window_start ? e->next_at : e->window_start;
        if (e->in_flight == 0 && now - quiet_since > (time_t)t->window) {
            e->failures = 0;
            e->next_at = 0;
            e->window_start = now;
        }
        /* slowed: one check when its time has come, none in parallel */
        if (!known && e->failures + e->in_flight >= t->free_failures &&
            (e->in_flight > 0 || now < e->next_at)) {
            v = VIC_THROTTLE_WAIT;
            *wait = e->next_at > now ? (unsigned)(e->next_at - now) : 1;
        }
        if (v == VIC_THROTTLE_CHECK) {
            e->in_flight++;
            ticket->slot = (size_t)(e - t->keys);
            ticket->gen = e->gen;
        }
    }
    pthread_mutex_unlock(&t->lock);
    OPENSSL_cleanse(mac, sizeof(mac));
    return v;
}

void vic_throttle_end(vic_throttle *t, const vic_throttle_ticket *ticket, const char *user,
                      const char *password, int ok, time_t now)
{
    unsigned char mac[32];
    if (ok > 0)
        vic_credentials_mac(mac, t->secret, user, password);
    pthread_mutex_lock(&t->lock);
    key_entry *e = ticket->slot < KEYS ? &t->keys[ticket->slot] : NULL;
    if (e && e->gen == ticket->gen) {
        if (e->in_flight)
            e->in_flight--;
        if (ok < 0) {
            /* no verdict: nothing to count */
        } else if (ok) {
            e->failures = 0;
            e->next_at = 0;
            e->window_start = now;
        } else {
            e->failures++;
            if (e->failures >= t->free_failures)
                e->next_at = now + delay_after(t, e->failures);
        }
    }
    if (ok > 0) {
        known_entry *k = NULL;
        for (size_t i = 0; i < KNOWN && k == NULL; i++)
            if (CRYPTO_memcmp(t->known[i].mac, mac, 32) == 0)
                k = &t->known[i];
        if (k == NULL)
            k = &t->known[t->known_next++ % KNOWN];
        memcpy(k->mac, mac, 32);
        k->until = now + KNOWN_TTL;
    }
    pthread_mutex_unlock(&t->lock);
    if (ok > 0)
        OPENSSL_cleanse(mac, sizeof(mac));
}
