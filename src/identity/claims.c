#include <string.h>

#include "identity/claims.h"

/* A NumericDate: a JSON number of seconds. */
static int numeric(json_t *v, double *out)
{
    if (!json_is_number(v))
        return -1;
    *out = json_number_value(v);
    return 0;
}

static bool audience_ok(const gh_jwt_provider *p, json_t *aud)
{
    for (size_t i = 0; i < p->naudiences; i++) {
        if (json_is_string(aud) && strcmp(json_string_value(aud), p->audiences[i]) == 0)
            return true;
        size_t k;
        json_t *a;
        json_array_foreach(aud, k, a) if (json_is_string(a) &&
                                          strcmp(json_string_value(a), p->audiences[i]) == 0) return true;
    }
    return false;
}

static gh_jws_status check_times(const gh_jwt_provider *p, json_t *root, double now)
{
    double exp, nbf, iat, skew = (double)p->clock_skew_s;
    json_t *jnbf = json_object_get(root, "nbf"), *jiat = json_object_get(root, "iat");
    if (numeric(json_object_get(root, "exp"), &exp) != 0)
        return GH_JWS_MISSING_EXP;
    if (now > exp + skew)
        return GH_JWS_EXPIRED;
    if (jnbf && (numeric(jnbf, &nbf) != 0 || nbf > now + skew))
        return GH_JWS_NOT_YET_VALID;
    if (jiat && (numeric(jiat, &iat) != 0 || iat > now + skew))
        return GH_JWS_ISSUED_IN_FUTURE;
    if (p->max_lifetime_s && (!jiat || exp - iat > (double)p->max_lifetime_s))
        return GH_JWS_LIFETIME_TOO_LONG;
    return GH_JWS_OK;
}

gh_jws_status gh_claims_check(const gh_jwt_provider *p, const unsigned char *payload, size_t len,
                              int64_t now, json_t **claims)
{
    *claims = NULL;
    json_error_t err;
    json_t *root = json_loadb((const char *)payload, len, JSON_REJECT_DUPLICATES, &err);
    if (!root || !json_is_object(root)) {
        json_decref(root);
        return GH_JWS_CLAIMS_MALFORMED;
    }
    gh_jws_status st = check_times(p, root, (double)now);
    const char *iss = json_string_value(json_object_get(root, "iss"));
    if (st == GH_JWS_OK && (!iss || strcmp(iss, p->issuer) != 0))
        st = GH_JWS_ISS_MISMATCH;
    if (st == GH_JWS_OK && !audience_ok(p, json_object_get(root, "aud")))
        st = GH_JWS_AUD_MISMATCH;
    for (size_t i = 0; st == GH_JWS_OK && i < p->nrequired_claims; i++)
        if (!json_object_get(root, p->required_claims[i]))
            st = GH_JWS_MISSING_CLAIM;
    if (st != GH_JWS_OK) {
        json_decref(root);
        return st;
    }
    *claims = root;
    return GH_JWS_OK;
}
