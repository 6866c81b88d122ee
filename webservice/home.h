/*
 * home.h - opening the web service: $VIC_HOME, its database (vic.db and its migrations), TLS
 * material and the admin account; and closing it again.
 */
#ifndef VIC_WEBSERVICE_HOME_H
#define VIC_WEBSERVICE_HOME_H

#include "lib/err.h"
#include "lib/store.h"
#include "webservice/service.h"

/* The schema migrations of vic.db. */
extern const vic_migration ws_migrations[];
extern const size_t ws_n_migrations;

/* Opens $VIC_HOME (created 0700), its database and TLS material. */
int ws_open(ws **out, const ws_options *opt, vic_err **err);

/* Creates the admin account when there is none. When it generates the password,
 * *created_password receives it, to be shown once (NULL when it came from VIC_ADMIN_PASSWORD
 * or the account existed); the caller frees it with vic_free_secret(). Call it once the
 * service is reachable, so that a failed start never swallows a password nobody saw. */
int ws_ensure_admin(ws *w, char **created_password, vic_err **err);
void ws_free(ws *w);

#endif
