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

#define GH_CLAIM_VALUE_MAX 1024

static const gh_h1_header *only_header(const gh_request *req, const char *name, bool *several)
{
    const gh_h1_header *found = NULL;
    size_t nl = strlen(name);
    for (size_t i = 0; i < req->h1.nheaders; i++) {
        if (!gh_h1_name_is(&req->h1.headers[i], name, nl) &&
            !(req->h1.headers[i].name_len == nl && strncasecmp(req->h1.headers[i].name, name, nl) == 0))
            continue;
        if (found)
            *several = true;
        found = &req->h1.headers[i];
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

static char *arena_json_text(gh_request *req, json_t *v)
{
    char buf[64];
    const char *s = NULL;
    size_t n = 0;
    if (json_is_string(v)) {
        s = json_string_value(v);
        n = json_string_length(v);
    } else if (json_is_integer(v)) {
        n = (size_t)snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
        s = buf;
    } else if (json_is_boolean(v)) {
        s = json_is_true(v) ? "true" : "false";
        n = strlen(s);
    }
    if (!s || n > GH_CLAIM_VALUE_MAX)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return NULL; /* a claim never smuggles a line break into a header */
    return gh_arena_strndup(&req->arena, s, n);
}

/* Identity for the log and the claims the route forwards, copied into the request's arena. */
static void keep_identity(gh_request *req, json_t *claims, const char *kid)
{
    req->auth_sub = arena_json_text(req, json_object_get(claims, "sub"));
    req->auth_iss = arena_json_text(req, json_object_get(claims, "iss"));
    json_t *cid = json_object_get(claims, "azp");
    req->auth_client_id = arena_json_text(req, cid ? cid : json_object_get(claims, "client_id"));
    req->auth_kid = kid;
    const gh_route_conf *r = req->match.route;
    if (!r->nforward_claims)
        return;
    req->claim_values = gh_arena_zalloc(&req->arena, r->nforward_claims * sizeof(char *));
    for (size_t i = 0; req->claim_values && i < r->nforward_claims; i++)
        req->claim_values[i] = arena_json_text(req, json_object_get(claims, r->forward_claims[i].claim));
}

/* Caches a token that passed every check, for its remaining lifetime. */
static void remember(const gh_jwt_provider *p, const unsigned char hash[32], json_t *claims,
                     const gh_jws *jws)
{
    gh_token_entry e = {.kid = jws->key->kid, .payload = (char *)jws->payload,
                        .payload_len = jws->payload_len};
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
    gh_token_hash(token, len, hash);
    json_t *claims = NULL;
    json_error_t jerr;
    if (gh_token_cache_get(p->cache, hash, now - (int64_t)p->clock_skew_s, &req->arena, &cached) &&
        cached.nbf <= now + (int64_t)p->clock_skew_s &&
        (claims = json_loadb(cached.payload, cached.payload_len, 0, &jerr))) {
        /* Verified before, under this snapshot's keys and rules; only time has moved. */
        gh_metrics_auth(&req->conn->w->metrics, p->name, GH_AUTH_CACHE_HIT);
        keep_identity(req, claims, cached.kid);
        json_decref(claims);
        req->auth_ok = true;
        gh_metrics_auth(&req->conn->w->metrics, p->name, GH_JWS_OK);
        return GH_NEXT;
    }
    if (p->cache->enabled)
        gh_metrics_auth(&req->conn->w->metrics, p->name, GH_AUTH_CACHE_MISS);
    unsigned char *scratch = gh_arena_alloc(&req->arena, len + 1);
    gh_jws jws;
    gh_jws_status st = scratch ? gh_jws_verify(token, len, p->max_token_bytes, &p->keys,
                                               p->algorithms, scratch, &jws)
                               : GH_JWS_TOO_LARGE;
    if (st == GH_JWS_OK)
        st = gh_claims_check(p, jws.payload, jws.payload_len, now, &claims);
    if (st != GH_JWS_OK)
        return refuse(req, p, st);
    remember(p, hash, claims, &jws);
    keep_identity(req, claims, jws.key->kid);
    json_decref(claims);
    req->auth_ok = true;
    gh_metrics_auth(&req->conn->w->metrics, p->name, GH_JWS_OK);
    return GH_NEXT;
}

const gh_stage gh_stage_auth_jwt = {"auth_jwt", run};
