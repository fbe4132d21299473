#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
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
    json_t *jexp = json_object_get(root, "exp");
    if (!jexp && p->introspect)
        exp = now; /* introspection answers need not carry exp (RFC 7662 2.2) */
    else if (numeric(jexp, &exp) != 0)
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
    if (st == GH_JWS_OK && p->issuer && (!iss || strcmp(iss, p->issuer) != 0))
        st = GH_JWS_ISS_MISMATCH; /* an introspection provider may leave issuer out */
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

#define GH_CLAIM_VALUE_MAX 1024

static bool text_of(json_t *v, char *buf, size_t cap, const char **s, size_t *n)
{
    if (json_is_string(v)) {
        *s = json_string_value(v);
        *n = json_string_length(v);
    } else if (json_is_integer(v)) {
        *n = (size_t)snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
        *s = buf;
    } else if (json_is_boolean(v)) {
        *s = json_is_true(v) ? "true" : "false";
        *n = strlen(*s);
    } else {
        return false;
    }
    if (*n > GH_CLAIM_VALUE_MAX)
        return false;
    for (size_t i = 0; i < *n; i++)
        if ((unsigned char)(*s)[i] < 0x20 || (*s)[i] == 0x7f)
            return false; /* a claim never smuggles a line break into a header */
    return true;
}

#define GH_CLAIM_ARRAY_MAX 64

/* Appends "key\0value\0" to out (grown as needed, with room left for the list's final NUL);
 * false when memory ran out. */
static bool append_pair(gh_bytes *out, const char *key, size_t kl, const char *s, size_t n)
{
    if (gh_bytes_reserve(out, kl + n + 3, SIZE_MAX) != 0)
        return false;
    memcpy(out->p + out->len, key, kl + 1);
    out->len += kl + 1;
    memcpy(out->p + out->len, s, n);
    out->p[out->len + n] = '\0';
    out->len += n + 1;
    return true;
}

char *gh_claims_flatten(json_t *claims, size_t *len)
{
    gh_bytes out = {0};
    (void)gh_bytes_reserve(&out, 256, SIZE_MAX); /* out.p stays NULL when memory ran out */
    const char *key;
    json_t *v;
    json_object_foreach(claims, key, v)
    {
        char num[32];
        const char *s;
        size_t n, kl = strlen(key);
        if (!out.p || kl == 0)
            break;
        /* An array of scalars (scp, groups, roles, aud) becomes one pair per element. */
        size_t count = json_is_array(v) ? json_array_size(v) : 1;
        for (size_t i = 0; out.p && i < count && i < GH_CLAIM_ARRAY_MAX; i++) {
            json_t *e = json_is_array(v) ? json_array_get(v, i) : v;
            if (text_of(e, num, sizeof(num), &s, &n) && !append_pair(&out, key, kl, s, n))
                gh_bytes_free(&out);
        }
    }
    if (out.p)
        out.p[out.len++] = '\0';
    *len = out.len;
    return out.p;
}

const char *gh_claims_next(const char *flat, size_t len, const char *name, const char *after)
{
    const char *p = flat, *end = flat + len;
    if (after) /* continue past the value returned last */
        p = after + strlen(after) + 1;
    while (p < end && *p) {
        const char *value = p + strlen(p) + 1;
        if (strcmp(p, name) == 0)
            return value;
        p = value + strlen(value) + 1;
    }
    return NULL;
}

const char *gh_claims_get(const char *flat, size_t len, const char *name)
{
    return gh_claims_next(flat, len, name, NULL);
}
