/*
 * webui.h - droverd's HTTP server (libmicrohttpd), route table, metrics, REST API.
 */
#ifndef DROVER_WEBUI_H
#define DROVER_WEBUI_H

#include "core/core.h"

/* server.c */

/* end server.c */

/* metrics.c */

/* end metrics.c */

/* auth.c */
/* Register the users and tokens tables; before store_open. */
void auth_register(void);
/* Seed the admin user on first start (password in <state_dir>/admin-password). */
int auth_init(const char *state_dir, struct dr_error *err);
/* The route hook: bearer token, then role; 0 or 401/403. */
int auth_check(struct http_request *req);
int auth_user_create(const char *name, const char *password, const char *role,
    struct dr_error *err);
/* 0 when the password is right; *ret_role is a static string. */
int auth_password_check(const char *name, const char *password, const char **ret_role);
/* A new API token (shown once; stored hashed); ttl 0 = no expiry. Caller frees. */
int auth_token_create(const char *user, const char *name, int64_t ttl, char **ret_token,
    struct dr_error *err);

/* api.c */
/* Install the API routes and the auth hook; before http_server_start. */
void api_init(void);

#endif /* DROVER_WEBUI_H */
