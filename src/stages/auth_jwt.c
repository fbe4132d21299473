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
#include "identity/token_cache.h"
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
                     const char *kid, char *flat, size_t flat_len)
{
    gh_token_entry e = {.kid = kid, .payload = flat, .payload_len = flat_len};
    memcpy(e.hash, hash, 32);
    e.exp = (int64_t)json_number_value(json_object_get(claims, "exp"));
    json_t *nbf = json_object_get(claims, "nbf");
    e.nbf = nbf ? (int64_t)json_number_value(nbf) : 0;
    gh_token_cache_put(p->cache, &e);
}

static gh_verdict refuse(gh_request *req, const gh_jwt_provider *p, gh_jws_status st)
{
    req->auth_failed = true;
    req->auth_reason = gh_jws_status_slug(st);
    gh_metrics_auth(&req->conn->w->metrics, p->name, (int)st);
    gh_conn_refuse(req, st == GH_JWS_MISSING ? GH_R_MISSING_TOKEN : GH_R_INVALID_TOKEN,
                   st == GH_JWS_MISSING ? "this route requires a bearer token"
                                        : "the access token is not valid for this route");
    return GH_DONE;
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
        cached.nbf <= now + (int64_t)p->clock_skew_s) {
        /* Verified before, under this snapshot's keys and rules; only time has moved. */
        gh_metrics_auth(&req->conn->w->metrics, p->name, GH_AUTH_CACHE_HIT);
        keep_identity(req, cached.payload, cached.payload_len, cached.kid);
        req->auth_ok = true;
        gh_metrics_auth(&req->conn->w->metrics, p->name, GH_JWS_OK);
        return GH_NEXT;
    }
    if (p->cache->enabled)
        gh_metrics_auth(&req->conn->w->metrics, p->name, GH_AUTH_CACHE_MISS);
    unsigned char *scratch = gh_arena_alloc(&req->arena, len + 1);
    gh_jws jws;
    json_t *claims = NULL;
    gh_jws_status st = scratch ? gh_jws_verify_with(&req->conn->w->verifier, token, len,
                                                    p->max_token_bytes, &p->keys, p->algorithms,
                                                    scratch, &jws)
                               : GH_JWS_TOO_LARGE;
    if (st == GH_JWS_OK)
        st = gh_claims_check(p, jws.payload, jws.payload_len, now, &claims);
    if (st != GH_JWS_OK)
        return refuse(req, p, st);
    size_t flat_len = 0;
    char *flat = gh_claims_flatten(claims, &flat_len);
    char *kept = flat ? gh_arena_alloc(&req->arena, flat_len) : NULL;
    if (!kept) {
        free(flat);
        json_decref(claims);
        return refuse(req, p, GH_JWS_TOO_LARGE);
    }
    memcpy(kept, flat, flat_len);
    remember(p, hash, claims, jws.key->kid, flat, flat_len);
    free(flat);
    json_decref(claims);
    keep_identity(req, kept, flat_len, jws.key->kid);
    req->auth_ok = true;
    gh_metrics_auth(&req->conn->w->metrics, p->name, GH_JWS_OK);
    return GH_NEXT;
}

const gh_stage gh_stage_auth_jwt = {"auth_jwt", run};
