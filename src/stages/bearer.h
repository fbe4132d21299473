/* Bearer tokens for the stages that check them (auth_jwt, auth_introspect). */
#ifndef GH_STAGES_BEARER_H
#define GH_STAGES_BEARER_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config-t.h"
#include "identity/jws.h"
#include "gate/stage.h"

/* The request's token, from the provider's header (the Bearer scheme with Authorization) or
 * cookie, never the query: present, one, and not too large. NULL when it was not (the refusal
 * is recorded: the stage returns GH_DONE). */
const char *gh_bearer_token(gh_request *req, const gh_jwt_provider *p, size_t *len);
/* Identity for the log and the claims the route forwards, from flattened claims that live in
 * the request's arena; kid may be NULL. */
void gh_bearer_keep_identity(gh_request *req, const char *flat, size_t len, const char *kid);
/* Refuses the request for status st (401, or 503 when the provider could not be consulted) and
 * counts it; returns GH_DONE (the stage's caller answers). detail (NULL: a generic one) goes to
 * the log with a 503. */
gh_verdict gh_bearer_refuse(gh_request *req, const gh_jwt_provider *p, gh_jws_status st);
gh_verdict gh_bearer_refuse_detail(gh_request *req, const gh_jwt_provider *p, gh_jws_status st,
                                   const char *detail);

/* The challenge of the token stages (gate/stage-t.h): Bearer for a 401, from whichever stage,
 * on a route that takes tokens; conf is the gh_jwt_provider. */
bool gh_bearer_challenge(gh_sbuf *head, const gh_request *req, gh_reason reason, const void *conf,
                         bool own);

/* The facts of the token stages (gate/stage_facts-t.h): the provider that verifies the token,
 * by the route key that names it; conf is the gh_jwt_provider. */
void gh_bearer_facts(gh_stage_facts *out, const void *conf);

#endif
