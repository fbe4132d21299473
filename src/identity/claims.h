/* Registered claims (RFC 7519) checked against a provider's rules. */
#ifndef GH_IDENTITY_CLAIMS_H
#define GH_IDENTITY_CLAIMS_H

#include <jansson.h>
#include <stdint.h>

#include "config/config-t.h"
#include "identity/jws.h"

/* Parses the verified payload and checks exp (required), nbf, iat, max_lifetime, iss, aud and
 * the required claims at time now (seconds). On GH_JWS_OK *claims holds the parsed object
 * (json_decref it); otherwise *claims is NULL. */
gh_jws_status gh_claims_check(const gh_jwt_provider *p, const unsigned char *payload, size_t len,
                              int64_t now, json_t **claims);

#endif
