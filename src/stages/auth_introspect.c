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
#include "http/conn.h"
#include "identity/claims.h"
#include "identity/token_cache.h"
#include "server/events.h"
#include "stages/auth_introspect.h"
#include "stages/bearer.h"

#define GH_INTROSPECTION_MAX_BYTES (64u * 1024)

struct gh_introspection_wait {
    gh_introspection_wait *prev, *next;
    gh_request *req;
    gh_introspection_call *call;
};

struct gh_introspection_call {
    gh_http_call http; /* first: the client hands it back */
    struct gh_introspection_call *prev, *next;
    gh_worker *w;
    gh_config *config; /* held: the provider lives in it, whoever still waits */
    const gh_jwt_provider *p;
    unsigned char hash[32];
    gh_introspection_wait *waiters;
    char *form; /* the POST body; it holds the token, so it is wiped */
    struct curl_slist *headers;
};

/* What an answer decided for the requests that waited for it. */
typedef struct outcome {
    gh_jws_status st;
    const char *flat; /* flattened claims on success */
    size_t flat_len;
} outcome;

static void unlink_call(gh_worker *w, gh_introspection_call *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        w->introspections = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

static void call_free(gh_introspection_call *c)
{
    gh_http_client_remove(c->w->http, &c->http);
    gh_http_call_reset(&c->http);
    if (c->form) {
        OPENSSL_cleanse(c->form, strlen(c->form));
        free(c->form);
    }
    curl_slist_free_all(c->headers);
    gh_config_release(c->config);
    free(c);
}

static void abort_wait(gh_request *req)
{
    gh_introspection_wait *wt = req->introspection_wait;
    if (wt->prev)
        wt->prev->next = wt->next;
    else
        wt->call->waiters = wt->next;
    if (wt->next)
        wt->next->prev = wt->prev;
    req->introspection_wait = NULL;
    /* The call goes on without it: its answer still fills the cache. */
}

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

/* One failure event per worker and second: an unreachable provider is visible without a line
 * for every request. */
static void report_failure(gh_introspection_call *c, const char *why)
{
    int64_t now = (int64_t)time(NULL);
    if (c->w->introspection_event_at == now)
        return;
    c->w->introspection_event_at = now;
    char fields[512];
    gh_sbuf b = gh_sbuf_make(fields, sizeof(fields) - 1);
    GH_SBUF_LIT(&b, ",\"provider\":");
    gh_sbuf_json_str(&b, c->p->name, strlen(c->p->name));
    GH_SBUF_LIT(&b, ",\"error\":");
    gh_sbuf_json_str(&b, why, strlen(why));
    fields[b.len] = '\0';
    gh_event("error", "introspection_failed", "token introspection failed: requests get 503",
             fields);
}

/* Judges the provider's answer; on success *claims holds the parsed answer. */
static gh_jws_status judge(gh_introspection_call *c, CURLcode result, json_t **claims)
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
    json_t *doc = fail ? NULL : json_loadb(c->http.body ? c->http.body : "", c->http.len,
                                           JSON_REJECT_DUPLICATES, &jerr);
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
    return gh_claims_check(c->p, (const unsigned char *)c->http.body, c->http.len,
                           (int64_t)time(NULL), claims);
}

static void finished(gh_http_call *http, CURLcode result)
{
    gh_introspection_call *c = (gh_introspection_call *)http;
    unlink_call(c->w, c);
    json_t *claims = NULL;
    outcome o = {judge(c, result, &claims), NULL, 0};
    char *flat = o.st == GH_JWS_OK ? gh_claims_flatten(claims, &o.flat_len) : NULL;
    o.flat = flat;
    if (o.st == GH_JWS_OK && !flat)
        o.st = GH_JWS_INTROSPECTION_FAILED; /* out of memory */
    if (o.st != GH_JWS_INTROSPECTION_FAILED)
        remember(c->p, c->hash, &o, claims, (int64_t)time(NULL));
    json_decref(claims);
    gh_introspection_wait *list = c->waiters;
    c->waiters = NULL;
    while (list) {
        gh_introspection_wait *wt = list;
        list = wt->next;
        gh_request *req = wt->req;
        req->introspection_wait = NULL;
        req->wait_abort = NULL;
        char *kept = o.st == GH_JWS_OK ? gh_arena_alloc(&req->arena, o.flat_len) : NULL;
        if (kept) {
            memcpy(kept, o.flat, o.flat_len);
            gh_bearer_keep_identity(req, kept, o.flat_len, NULL);
            req->auth_ok = true;
            gh_metrics_auth(&req->conn->w->metrics, c->p->name, GH_JWS_OK);
            gh_request_resume(req, GH_NEXT);
        } else {
            gh_request_resume(req, gh_bearer_refuse(req, c->p, o.st == GH_JWS_OK ? GH_JWS_TOO_LARGE : o.st));
        }
    }
    free(flat);
    call_free(c);
}

static gh_introspection_call *call_start(gh_request *req, const gh_jwt_provider *p,
                                         const char *token, size_t len, const unsigned char hash[32])
{
    gh_worker *w = req->conn->w;
    const gh_introspection_conf *ic = p->introspect;
    gh_introspection_call *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->w = w;
    c->p = p;
    c->config = req->config;
    gh_config_ref(c->config);
    memcpy(c->hash, hash, 32);
    char *escaped = curl_easy_escape(NULL, token, (int)len);
    size_t n = escaped ? strlen(escaped) + 48 : 0;
    if (escaped && (c->form = malloc(n)))
        snprintf(c->form, n, "token=%s&token_type_hint=access_token", escaped);
    if (escaped) {
        OPENSSL_cleanse(escaped, strlen(escaped));
        curl_free(escaped);
    }
    c->headers = curl_slist_append(NULL, "Accept: application/json");
    if (!c->form || !c->headers ||
        gh_http_call_init(&c->http, ic->url, ic->ca_file, (long)ic->timeout_ms,
                          GH_INTROSPECTION_MAX_BYTES) != 0) {
        call_free(c);
        return NULL;
    }
    c->http.done = finished;
    CURL *e = c->http.easy;
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, c->form);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(c->form));
    curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    curl_easy_setopt(e, CURLOPT_USERPWD, ic->credentials);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->headers);
    if (gh_http_client_add(w->http, &c->http) != 0) {
        call_free(c);
        return NULL;
    }
    c->next = w->introspections;
    if (c->next)
        c->next->prev = c;
    w->introspections = c;
    return c;
}

/* The call in flight for this token on this worker, and how many the provider has. */
static gh_introspection_call *in_flight(gh_worker *w, const gh_jwt_provider *p,
                                        const unsigned char hash[32], uint32_t *count)
{
    *count = 0;
    for (gh_introspection_call *c = w->introspections; c; c = c->next) {
        if (c->p != p)
            continue;
        if (memcmp(c->hash, hash, 32) == 0)
            return c;
        (*count)++;
    }
    return NULL;
}

static gh_verdict run(gh_request *req, const void *conf)
{
    const gh_jwt_provider *p = conf;
    size_t len = 0;
    bool bad = false;
    const char *token = gh_bearer_find(req, p, &len, &bad);
    if (!token)
        return gh_bearer_refuse(req, p, GH_JWS_MISSING);
    if (bad)
        return gh_bearer_refuse(req, p, GH_JWS_MALFORMED);
    if (len > p->max_token_bytes)
        return gh_bearer_refuse(req, p, GH_JWS_TOO_LARGE);
    gh_worker *w = req->conn->w;
    unsigned char hash[32];
    gh_token_hash(w->md_ctx, w->sha256, token, len, hash);
    gh_token_entry cached;
    if (gh_token_cache_get(p->cache, hash, (int64_t)time(NULL), &req->arena, &cached)) {
        gh_metrics_auth(&w->metrics, p->name, GH_AUTH_CACHE_HIT);
        if (cached.negative)
            return gh_bearer_refuse(req, p, (gh_jws_status)cached.status);
        gh_bearer_keep_identity(req, cached.payload, cached.payload_len, NULL);
        req->auth_ok = true;
        gh_metrics_auth(&w->metrics, p->name, GH_JWS_OK);
        return GH_NEXT;
    }
    if (p->cache->enabled)
        gh_metrics_auth(&w->metrics, p->name, GH_AUTH_CACHE_MISS);
    uint32_t count;
    gh_introspection_call *c = in_flight(w, p, hash, &count);
    if (!c && count >= p->introspect->max_in_flight)
        return gh_bearer_refuse(req, p, GH_JWS_INTROSPECTION_BUSY);
    if (!c && !(c = call_start(req, p, token, len, hash)))
        return gh_bearer_refuse(req, p, GH_JWS_INTROSPECTION_FAILED);
    gh_introspection_wait *wt = gh_arena_zalloc(&req->arena, sizeof(*wt));
    if (!wt)
        return gh_bearer_refuse(req, p, GH_JWS_TOO_LARGE);
    wt->req = req;
    wt->call = c;
    wt->next = c->waiters;
    if (wt->next)
        wt->next->prev = wt;
    c->waiters = wt;
    req->introspection_wait = wt;
    req->wait_abort = abort_wait;
    return GH_WAIT;
}

const gh_stage gh_stage_auth_introspect = {"auth_introspect", run};

void gh_introspect_worker_stop(gh_worker *w)
{
    /* Connections are closed by now, so no call has a waiter left. */
    while (w->introspections) {
        gh_introspection_call *c = w->introspections;
        unlink_call(w, c);
        call_free(c);
    }
    gh_http_client_stop(w->http);
    w->http = NULL;
}
