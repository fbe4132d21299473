/* Checks of identity providers (IDP) and webhook signers (HOOK). */
#include <string.h>

#include "audit/audit_internal.h"
#include "identity/jwk.h"

#define GH_AUDIT_MAX_LIFETIME_S 3600
#define GH_AUDIT_MAX_SKEW_S 300
#define GH_AUDIT_MAX_INTROSPECTION_CACHE_S 300
#define GH_AUDIT_MAX_WEBHOOK_TOLERANCE_S 300
#define GH_AUDIT_MIN_WEBHOOK_SECRET 32

/* RFC 7518 3.2: an HMAC key at least as long as the hash of the strongest algorithm allowed. */
static size_t hmac_key_needed(unsigned algs)
{
    return algs & GH_ALG_HS512 ? 64 : algs & GH_ALG_HS384 ? 48 : algs & GH_ALG_HS256 ? 32 : 0;
}

static void check_jwt(gh_audit *a, const gh_jwt_provider *p)
{
    const char *at = gh__audit_fmt(a, "identity.jwt.%s", p->name);
    const char *who = gh__audit_fmt(a, "identity provider %s", p->name);
    if (p->algorithms & GH_ALG_HMAC)
        gh__audit_find(a, "GH-IDP-002", GH_SEV_NONE, -1, gh__audit_fmt(a, "%s.algorithms", at), who,
                       "provider '%s' verifies HMAC-signed tokens: its secret can also mint them",
                       p->name);
    size_t needed = hmac_key_needed(p->algorithms);
    for (size_t k = 0; k < p->keys.n; k++) {
        const gh_jwk *key = &p->keys.keys[k];
        if (key->kty == GH_KTY_OCT && key->secret_len < needed) {
            gh__audit_find(a, "GH-IDP-003", GH_SEV_NONE, -1, gh__audit_fmt(a, "%s.secret", at), who,
                           "provider '%s' has a %zu-byte HMAC secret; %s needs %zu", p->name,
                           key->secret_len, needed == 64 ? "HS512" : "HS384", needed);
            break;
        }
    }
    if (p->max_lifetime_s == 0)
        gh__audit_find(a, "GH-IDP-004", GH_SEV_NONE, -1, gh__audit_fmt(a, "%s.max_lifetime", at), who,
                       "provider '%s' accepts tokens of any lifetime (no max_lifetime)", p->name);
    else if (p->max_lifetime_s > GH_AUDIT_MAX_LIFETIME_S)
        gh__audit_find(a, "GH-IDP-005", GH_SEV_NONE, -1, gh__audit_fmt(a, "%s.max_lifetime", at), who,
                       "provider '%s' accepts tokens that live up to %llu minutes", p->name,
                       (unsigned long long)(p->max_lifetime_s / 60));
}

static void check_skew(gh_audit *a, const gh_jwt_provider *p, const char *kind)
{
    if (p->clock_skew_s > GH_AUDIT_MAX_SKEW_S)
        gh__audit_find(a, "GH-IDP-006", GH_SEV_NONE, -1,
                       gh__audit_fmt(a, "identity.%s.%s.clock_skew", kind, p->name),
                       gh__audit_fmt(a, "identity provider %s", p->name),
                       "provider '%s' allows %llu seconds of clock skew", p->name,
                       (unsigned long long)p->clock_skew_s);
}

static void check_introspection(gh_audit *a, const gh_jwt_provider *p)
{
    if (p->introspect && p->introspect->cache_ttl_s > GH_AUDIT_MAX_INTROSPECTION_CACHE_S)
        gh__audit_find(a, "GH-IDP-008", GH_SEV_NONE, -1,
                       gh__audit_fmt(a, "identity.introspection.%s.cache_ttl", p->name),
                       gh__audit_fmt(a, "identity provider %s", p->name),
                       "provider '%s' keeps an active answer %llu seconds: a revoked token passes "
                       "that long", p->name, (unsigned long long)p->introspect->cache_ttl_s);
}

static void check_webhook(gh_audit *a, const gh_hmac_provider *h)
{
    const char *at = gh__audit_fmt(a, "identity.hmac.%s", h->name);
    const char *who = gh__audit_fmt(a, "webhook %s", h->name);
    for (size_t k = 0; k < h->nsecrets; k++) {
        if (h->secret_lens[k] < GH_AUDIT_MIN_WEBHOOK_SECRET) {
            gh__audit_find(a, "GH-HOOK-001", GH_SEV_NONE, -1,
                           gh__audit_fmt(a, "%s.secrets[%zu]", at, k), who, "webhook '%s' has a %zu-byte secret", h->name, h->secret_lens[k]);
            break;
        }
    }
    if (h->tolerance_s > GH_AUDIT_MAX_WEBHOOK_TOLERANCE_S)
        gh__audit_find(a, "GH-HOOK-002", GH_SEV_NONE, -1, gh__audit_fmt(a, "%s.tolerance", at), who,
                       "webhook '%s' accepts deliveries signed up to %llu seconds ago", h->name,
                       (unsigned long long)h->tolerance_s);
}

/* The first audience p and q both accept, or NULL. */
static const char *shared_audience(const gh_jwt_provider *p, const gh_jwt_provider *q)
{
    for (size_t i = 0; i < p->naudiences; i++)
        for (size_t k = 0; k < q->naudiences; k++)
            if (strcmp(p->audiences[i], q->audiences[k]) == 0)
                return p->audiences[i];
    return NULL;
}

/* The i-th token provider: the JWT ones, then the introspection ones. */
static const gh_jwt_provider *token_provider(const gh_config *c, size_t i)
{
    return i < c->njwt_providers ? &c->jwt_providers[i]
                                 : &c->introspection_providers[i - c->njwt_providers];
}

/* The same text, or both NULL. */
static bool same_text(const char *x, const char *y)
{
    return x == y || (x && y && strcmp(x, y) == 0);
}

/* Whether a token p verifies can verify with q: remote keys from the same place, local key sets
 * that share a key, or two introspection providers (the same issuer answers both). A JWT
 * provider and an introspection one read tokens of different shapes. */
static bool same_keys(const gh_jwt_provider *p, const gh_jwt_provider *q)
{
    if (p->introspect || q->introspect)
        return p->introspect && q->introspect;
    bool p_remote = p->jwks_uri || p->discovery_url, q_remote = q->jwks_uri || q->discovery_url;
    if (p_remote || q_remote)
        return p_remote && q_remote && same_text(p->jwks_uri, q->jwks_uri) &&
               same_text(p->discovery_url, q->discovery_url);
    for (size_t i = 0; i < p->keys.n; i++)
        for (size_t k = 0; k < q->keys.n; k++)
            if (memcmp(p->keys.keys[i].print, q->keys.keys[k].print, 32) == 0)
                return true;
    return false;
}

/* RFC 8725 3.12: the rules of two providers must not both accept one token. Providers of one
 * issuer, with the same keys, that share an audience do (the gateway does not read typ). */
static void check_exclusive(gh_audit *a)
{
    const gh_config *c = a->c;
    size_t n = c->njwt_providers + c->nintrospection_providers;
    for (size_t i = 0; i < n; i++) {
        const gh_jwt_provider *p = token_provider(c, i);
        for (size_t k = i + 1; p->issuer && k < n; k++) {
            const gh_jwt_provider *q = token_provider(c, k);
            const char *aud = same_text(p->issuer, q->issuer) && same_keys(p, q)
                                  ? shared_audience(p, q)
                                  : NULL;
            if (!aud)
                continue;
            gh__audit_find(a, "GH-IDP-009", GH_SEV_NONE, -1,
                           gh__audit_fmt(a, "identity.%s.%s.audiences",
                                         k < c->njwt_providers ? "jwt" : "introspection",
                                         q->name),
                           gh__audit_fmt(a, "identity provider %s", q->name),
                           "providers '%s' and '%s' both accept tokens of issuer '%s' for audience "
                           "'%s'", p->name, q->name, p->issuer, aud);
            break; /* one finding per provider */
        }
    }
}

void gh__audit_check_identity(gh_audit *a)
{
    const gh_config *c = a->c;
    check_exclusive(a);
    for (size_t i = 0; i < c->njwt_providers; i++) {
        check_jwt(a, &c->jwt_providers[i]);
        check_skew(a, &c->jwt_providers[i], "jwt");
    }
    for (size_t i = 0; i < c->nintrospection_providers; i++) {
        check_introspection(a, &c->introspection_providers[i]);
        check_skew(a, &c->introspection_providers[i], "introspection");
    }
    for (size_t i = 0; i < c->nhmac_providers; i++)
        check_webhook(a, &c->hmac_providers[i]);
}
