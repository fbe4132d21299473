/* What the bearer-token stages share: where the token is read, what a verified token leaves on
 * the request, and how a refusal is answered. A missing token is answered 401 with the
 * challenge alone, an invalid one 401 with error="invalid_token", a provider that cannot be
 * consulted 503; the precise reason goes to the log and metrics, never to the client. */
#include <string.h>
#include <strings.h>

#include "core/json.h"
#include "gate/exchange.h"
#include "gate/stage_facts.h"
#include "identity/claims.h"
#include "stages/bearer.h"

static const gh_h1_header *only_header(const gh_request *req, const char *name, bool *several)
{
    size_t count;
    const gh_h1_header *found =
        gh_h1_find_last(req->h1.headers, req->h1.nheaders, name, strlen(name), &count);
    if (count > 1)
        *several = true;
    return found;
}

/* The token, or NULL when none was sent; *bad when what was sent cannot be a single token. */
static const char *find_token(const gh_request *req, const gh_jwt_provider *p, size_t *len, bool *bad)
{
    if (p->token_cookie)
        return gh_h1_cookie(req->h1.headers, req->h1.nheaders, p->token_cookie, len);
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

/* Every value of a claim as one header value: an array's elements joined with ", " (an HTTP
 * list). NULL when the claim is absent. */
static char *header_value(gh_request *req, const char *flat, size_t len, const char *name)
{
    size_t total = 0, count = 0;
    for (const char *v = gh_claims_next(flat, len, name, NULL); v; v = gh_claims_next(flat, len, name, v)) {
        total += strlen(v) + 2;
        count++;
    }
    if (count <= 1)
        return (char *)gh_claims_get(flat, len, name);
    char *out = gh_arena_alloc(&req->arena, total + 1), *p = out;
    for (const char *v = gh_claims_next(flat, len, name, NULL); out && v; v = gh_claims_next(flat, len, name, v)) {
        if (p != out) {
            memcpy(p, ", ", 2);
            p += 2;
        }
        size_t n = strlen(v);
        memcpy(p, v, n);
        p += n;
    }
    if (out)
        *p = '\0';
    return out;
}

void gh_bearer_keep_identity(gh_request *req, const char *flat, size_t len, const char *kid)
{
    req->claims = flat;
    req->claims_len = len;
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
        req->claim_values[i] = header_value(req, flat, len, r->forward_claims[i].claim);
}

gh_verdict gh_bearer_refuse_detail(gh_request *req, const gh_jwt_provider *p, gh_jws_status st,
                                   const char *detail)
{
    req->auth_failed = true;
    req->auth_reason = gh_jws_status_slug(st);
    gh_metrics_auth(&req->svc->metrics, p->name, (int)st);
    if (st == GH_JWS_NO_KEYS || st == GH_JWS_INTROSPECTION_FAILED || st == GH_JWS_INTROSPECTION_BUSY)
        return gh_stage_refuse(
            req, GH_R_IDP_UNAVAILABLE,
            detail ? detail : "the identity provider could not be consulted; try again shortly");
    return gh_stage_refuse(req, st == GH_JWS_MISSING ? GH_R_MISSING_TOKEN : GH_R_INVALID_TOKEN,
                           st == GH_JWS_MISSING ? "this route requires a bearer token"
                                                : "the access token is not valid for this route");
}

gh_verdict gh_bearer_refuse(gh_request *req, const gh_jwt_provider *p, gh_jws_status st)
{
    return gh_bearer_refuse_detail(req, p, st, NULL);
}

const char *gh_bearer_token(gh_request *req, const gh_jwt_provider *p, size_t *len)
{
    bool bad = false;
    const char *token = find_token(req, p, len, &bad);
    gh_jws_status st = !token ? GH_JWS_MISSING
                       : bad  ? GH_JWS_MALFORMED
                       : *len > p->max_token_bytes ? GH_JWS_TOO_LARGE
                                                   : GH_JWS_OK;
    if (st == GH_JWS_OK)
        return token;
    gh_bearer_refuse(req, p, st);
    return NULL;
}

bool gh_bearer_challenge(gh_sbuf *head, const gh_request *req, gh_reason reason, const void *conf,
                         bool own)
{
    (void)req, (void)own;
    const gh_jwt_provider *p = conf;
    if (gh_reason_status(reason) != 401)
        return false;
    /* RFC 6750 3: the challenge; error="invalid_token" only when a token was presented. */
    gh_sbuf_addf(head, "WWW-Authenticate: Bearer realm=\"%s\"%s\r\n", p->realm,
                 reason == GH_R_INVALID_TOKEN
                     ? ", error=\"invalid_token\", error_description=\"The access token is invalid\""
                     : "");
    return true;
}

void gh_bearer_facts(gh_stage_facts *out, const void *conf)
{
    const gh_jwt_provider *p = conf;
    gh_stage_fact_proof(out, GH_PROOF_TOKEN, p->introspect ? "introspection" : "jwt", p->name,
                        p->introspect ? "auth.introspection" : "auth.jwt");
}
