/*
 * regauth.h - the credentials a Docker client sends with a pull or a push: the
 * X-Registry-Auth header, base64url (padded or not; the standard alphabet is taken too) of
 * a JSON AuthConfig {"username", "password", "auth" (base64 "user:password"),
 * "serveraddress", "email", "identitytoken", "registrytoken"}.
 *
 * Secrets are wiped when freed; nothing here logs or stores them.
 */
#ifndef PL_REGAUTH_H
#define PL_REGAUTH_H

#include <stddef.h>

#include "lib/err.h"

/* The largest header taken (Docker's CLI sends a few hundred bytes). */
#define PL_REGAUTH_MAX 16384

typedef struct pl_regauth {
    char *username; /* NULL when the header brings none */
    char *password; /* a secret */
    char *server;   /* serveraddress, or NULL */
} pl_regauth;

/* Fills *out from an X-Registry-Auth value; NULL, "" and "{}" (what the CLI sends without a
 * login) give no credentials. VIC_EINVAL names what is malformed: not base64, not a JSON
 * object, a field that is not a string, an "auth" that is not base64 "user:password", a
 * header over PL_REGAUTH_MAX. Clear *out with pl_regauth_clear whatever the outcome. */
int pl_regauth_parse(pl_regauth *out, const char *header, vic_err **err);

void pl_regauth_clear(pl_regauth *a);

#endif
