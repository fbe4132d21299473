/* Stage: authenticate with identity.jwt.<name>. The token (stages/bearer.c) is verified
 * against the provider's keys and claim rules, or found in the verified-token cache. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/clock.h"
#include "gate/exchange.h"
#include "identity/claims.h"
#include "identity/keyset.h"
#include "identity/token_cache.h"
#include "gate/access_log.h"
#include "stages/bearer.h"
#include "stages/registry.h"
#include "stages/key_wait.h"
#include "gate/access_log.h"
#include "gate/stage.h"
#include "stages/registry.h"

extern const gh_stage gh_stage_auth_jwt; /* this stage: its state is found by it */

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

static gh_verdict run(gh_request *req, const void *conf);

/* The stage's state for one request: the wait for keys, at most one. */
typedef struct jwt_ctx {
    gh_key_wait *wait;
    bool waited;
} jwt_ctx;

/* The keys this request waited for have come (or the wait ended): check the token again. */
static void wake(gh_request *req)
{
    jwt_ctx *x = gh_stage_context(req, &gh_stage_auth_jwt);
    x->wait = NULL;
    x->waited = true;
    const gh_route_conf *r = req->match.route;
    gh_request_resume(req, run, r->stages[req->stage_at].conf);
}

/* Waits for a fetch of the provider's keys, once per request, when one may start now;
 * otherwise the request is answered with what there is. */
static bool wait_for_keys(gh_request *req, const gh_jwt_provider *p)
{
    jwt_ctx *x = gh_stage_context(req, &gh_stage_auth_jwt);
    if (!x || x->waited || !gh_key_source_may_refetch(p->source, gh_monotonic_ms()))
        return false;
    x->wait = gh_key_wait_start(req, p->source, wake);
    return x->wait != NULL;
}

static void abort_wait(gh_request *req, const void *conf, void *ctx)
{
    (void)conf;
    jwt_ctx *x = ctx;
    if (x)
        gh_key_wait_cancel(req->svc, x->wait);
}

/* Verifies a token not found in the cache, with the provider's keys as they are now. */
static gh_verdict verify(gh_request *req, const gh_jwt_provider *p, const char *token, size_t len,
                         const unsigned char hash[32], int64_t now)
{
    gh_keyset *ks = p->source ? gh_key_source_acquire(p->source) : NULL;
    if (p->source && !ks)
        return wait_for_keys(req, p) ? GH_WAIT : gh_bearer_refuse(req, p, GH_JWS_NO_KEYS);
    const gh_jwks *keys = ks ? &ks->jwks : &p->keys;
    unsigned char *scratch = gh_arena_alloc(&req->arena, len + 1);
    gh_jws jws;
    json_t *claims = NULL;
    gh_jws_status st = scratch ? gh_jws_verify_with(&req->svc->stage_tools.verifier, token, len,
                                                    p->max_token_bytes, keys, p->algorithms,
                                                    scratch, &jws)
                               : GH_JWS_TOO_LARGE;
    if (st == GH_JWS_OK || st == GH_JWS_SIGNATURE)
        gh_outq_batch_heavy(&req->svc->batch); /* a signature check: answers go out together */
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
        return gh_bearer_refuse(req, p, st);
    gh_bearer_keep_identity(req, kept, flat_len, kid);
    req->auth_ok = true;
    gh_metrics_auth(&req->svc->metrics, p->name, GH_JWS_OK);
    return GH_NEXT;
}

static gh_verdict run(gh_request *req, const void *conf)
{
    const gh_jwt_provider *p = conf;
    size_t len = 0;
    const char *token = gh_bearer_token(req, p, &len);
    if (!token)
        return GH_DONE;
    int64_t now = (int64_t)time(NULL);
    gh_token_entry cached;
    unsigned char hash[32];
    gh_token_digest(req->svc->stage_tools.md_ctx, req->svc->stage_tools.sha256, token, len,
                    hash); /* one entry per ECDSA token, whichever s */
    if (gh_token_cache_get(p->cache, hash, now - (int64_t)p->clock_skew_s, &req->arena, &cached) &&
        cached.nbf <= now + (int64_t)p->clock_skew_s && still_keyed(p, &cached)) {
        /* Verified before, under this snapshot's rules and a key still in the set. */
        gh_metrics_auth(&req->svc->metrics, p->name, GH_AUTH_CACHE_HIT);
        gh_bearer_keep_identity(req, cached.payload, cached.payload_len, cached.kid);
        req->auth_ok = true;
        gh_metrics_auth(&req->svc->metrics, p->name, GH_JWS_OK);
        return GH_NEXT;
    }
    if (p->cache->enabled)
        gh_metrics_auth(&req->svc->metrics, p->name, GH_AUTH_CACHE_MISS);
    return verify(req, p, token, len, hash, now);
}

static const void *conf_of(const gh_route_conf *r)
{
    return r->auth_token && !r->auth_token->introspect ? r->auth_token : NULL;
}

const gh_stage gh_stage_auth_jwt = {
    .name = "auth_jwt",
    .phase = GH_PHASE_TOKEN,
    .bind = conf_of,
    .run = run,
    .ctx_size = sizeof(jwt_ctx),
    .abort = abort_wait,
    .log = gh_log_principal,
    .challenge = gh_bearer_challenge,
    .facts = gh_bearer_facts,
};
