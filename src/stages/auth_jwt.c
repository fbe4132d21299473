/* Stage: authenticate with identity.jwt.<name>. The token comes from the configured header
 * (Bearer scheme for Authorization) or cookie, never the query; it is verified against the
 * provider's keys and claim rules. A missing token is answered 401 with the challenge alone, an
 * invalid one 401 with error="invalid_token"; the precise reason goes to the log and metrics,
 * never to the client. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http/conn.h"
#include "identity/claims.h"
#include "identity/keyset.h"
#include "identity/token_cache.h"
#include "stages/key_wait.h"
#include "stages/stage.h"


static const gh_h1_header *only_header(const gh_request *req, const char *name, bool *several)
{
    const gh_h1_header *found = NULL;
    size_t nl = strlen(name);
    for (size_t i = 0; i < req->h1.nheaders; i++) {
        const gh_h1_header *h = &req->h1.headers[i];
        if (h->name_len != nl || strncasecmp(h->name, name, nl) != 0)
            continue;
        if (found)
            *several = true;
        found = h;
    }
    return found;
}

static const char *cookie_value(const gh_request *req, const char *name, size_t *len)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < req->h1.nheaders; i++) {
        const gh_h1_header *h = &req->h1.headers[i];
        if (!GH_H1_NAME_IS(h, "cookie"))
            continue;
        const char *p = h->value, *end = h->value + h->value_len;
        while (p < end) {
            const char *semi = memchr(p, ';', (size_t)(end - p));
            const char *e = semi ? semi : end;
            while (p < e && *p == ' ')
                p++;
            if ((size_t)(e - p) > nl && memcmp(p, name, nl) == 0 && p[nl] == '=') {
                *len = (size_t)(e - p - (ptrdiff_t)nl - 1);
                return p + nl + 1;
            }
            p = e + 1;
        }
    }
    return NULL;
}

/* The token, or NULL when none was sent; *bad when what was sent cannot be a single token. */
static const char *find_token(const gh_request *req, const gh_jwt_provider *p, size_t *len, bool *bad)
{
    if (p->token_cookie)
        return cookie_value(req, p->token_cookie, len);
    bool several = false;
    const gh_h1_header *h = only_header(req, p->token_header, &several);
    if (!h)
        return NULL;
    *bad = several;
    const char *v = h->value;
    size_t vl = h->value_len;
    if (strcasecmp(p->token_header, "authorization") == 0) {
        if (vl < 7 || strncasecmp(v, "Bearer ", 7) != 0) {
            *bad = true; /* another scheme: no bearer token to check */
            return v;
        }
        v += 7;
        vl -= 7;
    }
    if (vl == 0 || memchr(v, ' ', vl))
        *bad = true;
    *len = vl;
    return v;
}

/* Identity for the log and the claims the route forwards, from the flattened claims (which
 * live in the request's arena). */
static void keep_identity(gh_request *req, const char *flat, size_t len, const char *kid)
{
    req->auth_sub = gh_claims_get(flat, len, "sub");
    req->auth_iss = gh_claims_get(flat, len, "iss");
    const char *azp = gh_claims_get(flat, len, "azp");
    req->auth_client_id = azp ? azp : gh_claims_get(flat, len, "client_id");
    req->auth_kid = kid;
    const gh_route_conf *r = req->match.route;
    if (!r->nforward_claims)
        return;
    req->claim_values = gh_arena_zalloc(&req->arena, r->nforward_claims * sizeof(char *));
    for (size_t i = 0; req->claim_values && i < r->nforward_claims; i++)
        req->claim_values[i] = (char *)gh_claims_get(flat, len, r->forward_claims[i].claim);
}

/* Caches a token that passed every check, for its remaining lifetime. */
static void remember(const gh_jwt_provider *p, const unsigned char hash[32], json_t *claims,
                     const gh_jwk *key, uint64_t generation, char *flat, size_t flat_len)
{
    gh_token_entry e = {.kid = key->kid, .generation = generation, .payload = flat,
                        .payload_len = flat_len};
    memcpy(e.hash, hash, 32);
    memcpy(e.print, key->print, 32);
    e.exp = (int64_t)json_number_value(json_object_get(claims, "exp"));
    json_t *nbf = json_object_get(claims, "nbf");
    e.nbf = nbf ? (int64_t)json_number_value(nbf) : 0;
    gh_token_cache_put(p->cache, &e);
}

/* Whether the key that verified a cached token is still in the provider's key set. */
static bool still_keyed(const gh_jwt_provider *p, const gh_token_entry *e)
{
    if (!p->source || e->generation == atomic_load(&p->source->generation))
        return true;
    gh_keyset *ks = gh_key_source_acquire(p->source);
    bool found = ks && gh_jwks_find_print(&ks->jwks, e->kid, e->print);
    gh_keyset_release(ks);
    return found;
}

static gh_verdict refuse(gh_request *req, const gh_jwt_provider *p, gh_jws_status st)
{
    req->auth_failed = true;
    req->auth_reason = gh_jws_status_slug(st);
    gh_metrics_auth(&req->conn->w->metrics, p->name, (int)st);
    if (st == GH_JWS_NO_KEYS)
        gh_conn_refuse(req, GH_R_IDP_UNAVAILABLE,
                       "the identity provider's keys could not be fetched; try again shortly");
    else
        gh_conn_refuse(req, st == GH_JWS_MISSING ? GH_R_MISSING_TOKEN : GH_R_INVALID_TOKEN,
                       st == GH_JWS_MISSING ? "this route requires a bearer token"
                                            : "the access token is not valid for this route");
    return GH_DONE;
}

static gh_verdict run(gh_request *req, const void *conf);

/* The keys this request waited for have come (or the wait ended): check the token again. */
static void wake(gh_request *req)
{
    req->keys_waited = true;
    const gh_route_conf *r = req->match.route;
    gh_request_resume(req, run(req, r->stages[req->stage_at].conf));
}

/* Waits for a fetch of the provider's keys, once per request, when one may start now;
 * otherwise the request is answered with what there is. */
static bool wait_for_keys(gh_request *req, const gh_jwt_provider *p)
{
    return !req->keys_waited && gh_key_source_may_refetch(p->source, gh_monotonic_ms()) &&
           gh_key_wait_start(req, p->source, wake) == 0;
}

/* Verifies a token not found in the cache, with the provider's keys as they are now. */
static gh_verdict verify(gh_request *req, const gh_jwt_provider *p, const char *token, size_t len,
                         const unsigned char hash[32], int64_t now)
{
    gh_keyset *ks = p->source ? gh_key_source_acquire(p->source) : NULL;
    if (p->source && !ks)
        return wait_for_keys(req, p) ? GH_WAIT : refuse(req, p, GH_JWS_NO_KEYS);
    const gh_jwks *keys = ks ? &ks->jwks : &p->keys;
    unsigned char *scratch = gh_arena_alloc(&req->arena, len + 1);
    gh_jws jws;
    json_t *claims = NULL;
    gh_jws_status st = scratch ? gh_jws_verify_with(&req->conn->w->verifier, token, len,
                                                    p->max_token_bytes, keys, p->algorithms,
                                                    scratch, &jws)
                               : GH_JWS_TOO_LARGE;
    if (st == GH_JWS_UNKNOWN_KID && ks && wait_for_keys(req, p)) {
        gh_keyset_release(ks); /* a rotation: the new key may be published already */
        return GH_WAIT;
    }
    if (st == GH_JWS_OK)
        st = gh_claims_check(p, jws.payload, jws.payload_len, now, &claims);
    size_t flat_len = 0;
    char *flat = st == GH_JWS_OK ? gh_claims_flatten(claims, &flat_len) : NULL;
    char *kept = flat ? gh_arena_alloc(&req->arena, flat_len) : NULL;
    const char *kid = kept && jws.key->kid ? gh_arena_strdup(&req->arena, jws.key->kid) : NULL;
    if (kept) {
        memcpy(kept, flat, flat_len);
        remember(p, hash, claims, jws.key, ks ? ks->generation : 0, flat, flat_len);
    } else if (st == GH_JWS_OK) {
        st = GH_JWS_TOO_LARGE; /* out of request memory */
    }
    free(flat);
    json_decref(claims);
    gh_keyset_release(ks);
    if (st != GH_JWS_OK)
        return refuse(req, p, st);
    keep_identity(req, kept, flat_len, kid);
    req->auth_ok = true;
    gh_metrics_auth(&req->conn->w->metrics, p->name, GH_JWS_OK);
    return GH_NEXT;
}

static gh_verdict run(gh_request *req, const void *conf)
{
    const gh_jwt_provider *p = conf;
    size_t len = 0;
    bool bad = false;
    const char *token = find_token(req, p, &len, &bad);
    if (!token)
        return refuse(req, p, GH_JWS_MISSING);
    if (bad)
        return refuse(req, p, GH_JWS_MALFORMED);
    if (len > p->max_token_bytes)
        return refuse(req, p, GH_JWS_TOO_LARGE);
    int64_t now = (int64_t)time(NULL);
    gh_token_entry cached;
    unsigned char hash[32];
    gh_token_hash(req->conn->w->md_ctx, req->conn->w->sha256, token, len, hash);
    if (gh_token_cache_get(p->cache, hash, now - (int64_t)p->clock_skew_s, &req->arena, &cached) &&
        cached.nbf <= now + (int64_t)p->clock_skew_s && still_keyed(p, &cached)) {
        /* Verified before, under this snapshot's rules and a key still in the set. */
        gh_metrics_auth(&req->conn->w->metrics, p->name, GH_AUTH_CACHE_HIT);
        keep_identity(req, cached.payload, cached.payload_len, cached.kid);
        req->auth_ok = true;
        gh_metrics_auth(&req->conn->w->metrics, p->name, GH_JWS_OK);
        return GH_NEXT;
    }
    if (p->cache->enabled)
        gh_metrics_auth(&req->conn->w->metrics, p->name, GH_AUTH_CACHE_MISS);
    return verify(req, p, token, len, hash, now);
}

const gh_stage gh_stage_auth_jwt = {"auth_jwt", run};
