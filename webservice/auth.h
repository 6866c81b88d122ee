/*
 * auth.h - who is calling vic-webservice: the admin account, sessions, throttling.
 *
 * Admin credentials arrive as HTTP Basic on API calls or through POST /container/login,
 * which opens a session (a random cookie whose SHA-256 is stored, with a CSRF token, an idle
 * and an absolute expiry). Verified Basic credentials are remembered for a few minutes as an
 * HMAC under a per-process key, so that the slow password hash is paid once, not per call.
 * Failed attempts are counted per client address; past a threshold that address must wait.
 */
#ifndef VIC_WEBSERVICE_AUTH_H
#define VIC_WEBSERVICE_AUTH_H

#include <time.h>

#include "webservice/service.h"

#define WS_SESSION_COOKIE     "vic_session"
#define WS_LOGIN_MAX_FAILURES 5
#define WS_LOGIN_WINDOW       300 /* seconds over which failures are counted */

ws_auth *ws_auth_new(void);
void ws_auth_free(ws_auth *a);

/* Creates the user with a hashed password; VIC_ECONFLICT when it exists. */
int ws_user_create(ws *w, const char *user, const char *password, vic_err **err);

/* Removes an account (a first start that failed takes back the admin it generated). */
int ws_user_delete(ws *w, const char *user, vic_err **err);

/* Number of user accounts. */
int ws_user_count(ws *w, int *out, vic_err **err);

/* 0 when user/password are right; VIC_EAUTH (with a message that does not say which part
 * was wrong) when not; VIC_ELIMIT, with *retry_after (may be NULL) seconds, while failed
 * logins for this user from this address are slowed down (lib/throttle.h: credentials that
 * succeeded before are always checked, so the right password is never refused for someone
 * else's failures). */
int ws_login_check(ws *w, const char *remote, const char *user, const char *password,
                   unsigned *retry_after, vic_err **err);

typedef struct ws_session {
    char user[64];
    char csrf[64];
    time_t expires; /* the earlier of the idle and the absolute expiry */
} ws_session;

/* Opens a session for user; *token_out (caller frees) goes into the cookie. */
int ws_session_create(ws *w, const char *user, const char *remote, char **token_out,
                      ws_session *info, vic_err **err);

/* Looks a cookie token up; VIC_EAUTH when unknown or expired (expired ones are deleted). */
int ws_session_lookup(ws *w, const char *token, ws_session *info, vic_err **err);

int ws_session_delete(ws *w, const char *token, vic_err **err);

#endif
