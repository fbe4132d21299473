/* Stage: authenticate an opaque access token with identity.introspection.<name> (RFC 7662).
 * The worker posts the token to the provider's endpoint with its client credentials, without
 * blocking: the request waits, and requests carrying the same token join the call in flight.
 * Only `active: true` with the provider's issuer and audience passes; answers are cached
 * (accepted until exp or cache_ttl, refused for negative_ttl); a transport failure or an error
 * status is never cached and answers 503. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "core/http_client.h"
#include "core/json.h"
#include "gate/span.h"
#include "gate/exchange.h"
#include "identity/claims.h"
#include "identity/token_cache.h"
#include "observe/events.h"
#include "gate/access_log.h"
#include "stages/bearer.h"
#include "stages/registry.h"
#include "stages/pending_call.h"

extern const gh_stage gh_stage_auth_introspect; /* this stage: its state is found by it */

#define GH_INTROSPECTION_MAX_BYTES (64u * 1024)

/* What an answer decided for the requests that waited for it. */
typedef struct outcome {
    const gh_jwt_provider *p;
    gh_jws_status st;
    const char *flat; /* flattened claims on success */
    size_t flat_len;
} outcome;

static void remember(const gh_jwt_provider *p, const unsigned char hash[32], const outcome *o,
                     json_t *claims, int64_t now)
{
    const gh_introspection_conf *ic = p->introspect;
    gh_token_entry e = {.payload = (char *)(o->flat ? o->flat : ""), .payload_len = o->flat ? o->flat_len : 1};
    memcpy(e.hash, hash, 32);
    if (o->st == GH_JWS_OK) {
        e.exp = now + (int64_t)ic->cache_ttl_s;
        json_t *exp = json_object_get(claims, "exp");
        if (json_is_number(exp) && (int64_t)json_number_value(exp) < e.exp)
            e.exp = (int64_t)json_number_value(exp);
        if (ic->cache_ttl_s == 0)
            return;
    } else {
        e.negative = true;
        e.status = (uint16_t)o->st;
        e.exp = now + (int64_t)ic->negative_ttl_s;
        if (ic->negative_ttl_s == 0)
            return;
    }
    gh_token_cache_put(p->cache, &e);
}

static const gh_jwt_provider *provider(const gh_pending_call *c)
{
    return c->owner;
}

/* One failure event per worker and second: an unreachable provider is visible without a line
 * for every request. */
static void report_failure(gh_pending_call *c, const char *why)
{
    if (!gh_pending_event_due(c->svc))
        return;
    char fields[512];
    gh_sbuf b = gh_sbuf_make(fields, sizeof(fields));
    GH_SBUF_LIT(&b, ",\"provider\":");
    gh_sbuf_json_str(&b, provider(c)->name, strlen(provider(c)->name));
    GH_SBUF_LIT(&b, ",\"error\":");
    gh_sbuf_json_str(&b, why, strlen(why));
    gh_event_built("error", "introspection_failed",
                   "token introspection failed: requests get 503", &b);
}

/* Judges the provider's answer; on success *claims holds the parsed answer. */
static gh_jws_status judge(gh_pending_call *c, CURLcode result, json_t **claims)
{
    *claims = NULL;
    long code = 0;
    curl_easy_getinfo(c->http.easy, CURLINFO_RESPONSE_CODE, &code);
    char why[96];
    const char *fail = gh_http_call_failure(&c->http, result);
    if (!fail && code != 200) {
        snprintf(why, sizeof(why), "HTTP status %ld", code);
        fail = why;
    }
    json_error_t jerr;
    const char *answer = c->http.answer.p ? c->http.answer.p : "";
    json_t *doc =
        fail ? NULL : json_loadb(answer, c->http.answer.len, JSON_REJECT_DUPLICATES, &jerr);
    if (!fail && !json_is_object(doc))
        fail = "the answer is not a JSON object";
    if (fail) {
        json_decref(doc);
        report_failure(c, fail);
        return GH_JWS_INTROSPECTION_FAILED;
    }
    bool active = json_is_true(json_object_get(doc, "active"));
    json_decref(doc);
    if (!active)
        return GH_JWS_INACTIVE;
    return gh_claims_check(provider(c), (const unsigned char *)c->http.answer.p, c->http.answer.len,
                           (int64_t)time(NULL), claims);
}

/* What the answer means for one request that waited for it. */
static gh_verdict conclude(gh_request *req, const void *arg)
{
    const outcome *o = arg;
    char *kept = o->st == GH_JWS_OK ? gh_arena_alloc(&req->arena, o->flat_len) : NULL;
    if (!kept)
        return gh_bearer_refuse(req, o->p, o->st == GH_JWS_OK ? GH_JWS_TOO_LARGE : o->st);
    memcpy(kept, o->flat, o->flat_len);
    gh_bearer_keep_identity(req, kept, o->flat_len, NULL);
    req->auth_ok = true;
    gh_metrics_auth(&req->svc->metrics, o->p->name, GH_JWS_OK);
    return GH_NEXT;
}

static void finished(gh_pending_call *c, CURLcode result)
{
    const gh_jwt_provider *p = provider(c);
    json_t *claims = NULL;
    outcome o = {p, judge(c, result, &claims), NULL, 0};
    char *flat = o.st == GH_JWS_OK ? gh_claims_flatten(claims, &o.flat_len) : NULL;
    o.flat = flat;
    if (o.st == GH_JWS_OK && !flat)
        o.st = GH_JWS_INTROSPECTION_FAILED; /* out of memory */
    if (o.st != GH_JWS_INTROSPECTION_FAILED)
        remember(p, c->question, &o, claims, (int64_t)time(NULL));
    json_decref(claims);
    for (gh_request *req; (req = gh_pending_next_waiter(c));)
        gh_request_resume(req, conclude, &o);
    free(flat);
}

/* The introspection request: the token, form-encoded, and the gateway's client credentials. */
static gh_pending_call *call_start(gh_request *req, const gh_jwt_provider *p, const char *token,
                                   size_t len, const unsigned char hash[32])
{
    const gh_introspection_conf *ic = p->introspect;
    char *escaped = curl_easy_escape(NULL, token, (int)len);
    size_t n = escaped ? strlen(escaped) + 48 : 0;
    char *form = escaped ? malloc(n) : NULL;
    if (form)
        snprintf(form, n, "token=%s&token_type_hint=access_token", escaped);
    if (escaped) {
        OPENSSL_cleanse(escaped, strlen(escaped));
        curl_free(escaped);
    }
    gh_pending_spec spec = {ic->url, ic->ca_file, (long)ic->timeout_ms, GH_INTROSPECTION_MAX_BYTES,
                            form, NULL, ic->credentials, GH_SPAN_INTROSPECTION, p->name};
    return form ? gh_pending_start(req, p, hash, &spec, finished) : NULL;
}

static gh_verdict run(gh_request *req, const void *conf)
{
    const gh_jwt_provider *p = conf;
    size_t len = 0;
    const char *token = gh_bearer_token(req, p, &len);
    if (!token)
        return GH_DONE;
    gh_services *svc = req->svc;
    unsigned char hash[32];
    gh_token_hash(svc->stage_tools.md_ctx, svc->stage_tools.sha256, token, len, hash);
    gh_token_entry cached;
    if (gh_token_cache_get(p->cache, hash, (int64_t)time(NULL), &req->arena, &cached)) {
        gh_metrics_auth(&svc->metrics, p->name, GH_AUTH_CACHE_HIT);
        if (cached.negative)
            return gh_bearer_refuse(req, p, (gh_jws_status)cached.status);
        gh_bearer_keep_identity(req, cached.payload, cached.payload_len, NULL);
        req->auth_ok = true;
        gh_metrics_auth(&svc->metrics, p->name, GH_JWS_OK);
        return GH_NEXT;
    }
    if (p->cache->enabled)
        gh_metrics_auth(&svc->metrics, p->name, GH_AUTH_CACHE_MISS);
    uint32_t others;
    gh_pending_call *c = gh_pending_find(svc, p, hash, &others);
    if (!c && others >= p->introspect->max_in_flight)
        return gh_bearer_refuse(req, p, GH_JWS_INTROSPECTION_BUSY);
    if (!c && !(c = call_start(req, p, token, len, hash)))
        return gh_bearer_refuse(req, p, GH_JWS_INTROSPECTION_FAILED);
    if (gh_pending_join(c, req, gh_stage_context(req, &gh_stage_auth_introspect)) != 0)
        return gh_bearer_refuse(req, p, GH_JWS_TOO_LARGE);
    return GH_WAIT;
}

static const void *conf_of(const gh_route_conf *r)
{
    return r->auth_token && r->auth_token->introspect ? r->auth_token : NULL;
}

const gh_stage gh_stage_auth_introspect = {
    .name = "auth_introspect",
    .phase = GH_PHASE_TOKEN,
    .bind = conf_of,
    .run = run,
    .ctx_size = sizeof(gh_pending_ctx),
    .abort = gh_pending_abort,
    .log = gh_log_principal,
    .challenge = gh_bearer_challenge,
    .facts = gh_bearer_facts,
};
