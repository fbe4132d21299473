/* Registered claims (RFC 7519) checked against a provider's rules. */
#ifndef GH_IDENTITY_CLAIMS_H
#define GH_IDENTITY_CLAIMS_H

#include <jansson.h>
#include <stdint.h>

#include "config/config-t.h"
#include "identity/jws.h"

/* Parses the verified payload (or an introspection answer) and checks exp (required in a
 * token), nbf, iat, max_lifetime, iss (when the provider names one), aud and the required
 * claims at time now (seconds). On GH_JWS_OK *claims holds the parsed object
 * (json_decref it); otherwise *claims is NULL. */
gh_jws_status gh_claims_check(const gh_jwt_provider *p, const unsigned char *payload, size_t len,
                              int64_t now, json_t **claims);

/* The top-level claims whose values are strings, integers or booleans, as "name\0value\0"
 * pairs ending with an empty name; an array of such values gives one pair per element (at
 * most 64). Values with control characters or longer than 1 KiB are left out (they never
 * become headers). Returns a malloc'd buffer and its length. */
char *gh_claims_flatten(json_t *claims, size_t *len);
/* The value of name after the value `after` returned before (NULL: the first), or NULL. */
const char *gh_claims_next(const char *flat, size_t len, const char *name, const char *after);
/* The (first) value of name in a flattened buffer, or NULL. */
const char *gh_claims_get(const char *flat, size_t len, const char *name);

#endif
