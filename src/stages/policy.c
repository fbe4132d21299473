/* Stage: ask an external policy (OPA's data API) whether this request may go on. The input is
 * {"input": {method, path, route, params, headers (the policy's allow-list), identity: {sub,
 * claims}, client_ip}}; the answer {"result": bool} or {"result": {"allow": bool, "reason":
 * text}}. Decisions are cached by the SHA-256 of the whole input, allows and denies for their
 * own times, errors never; a reload starts an empty cache. The call never blocks the worker. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "core/json.h"
#include "gate/span.h"
#include "gate/exchange.h"
#include "identity/token_cache.h"
#include "stages/pending_call.h"
#include "gate/access_log.h"
#include "gate/stage.h"
#include "gate/stage_facts.h"
#include "stages/registry.h"

extern const gh_stage gh_stage_policy; /* this stage: its state is found by it */

#define GH_POLICY_MAX_ANSWER (64u * 1024)
#define GH_POLICY_REASON_MAX 200

typedef enum { DECIDE_ALLOW, DECIDE_DENY, DECIDE_ERROR } decision;

/* The claims as a JSON object: an array claim (several pairs of one name, in a row) as an
 * array of strings, every other value as a string. */
static void add_claims(gh_sbuf *b, const char *flat, size_t len)
{
    GH_SBUF_LIT(b, "{");
    const char *p = flat, *end = flat ? flat + len : NULL;
    bool first = true;
    while (p && p < end && *p) {
        const char *name = p, *value = p + strlen(p) + 1;
        const char *next = value + strlen(value) + 1;
        size_t count = 1;
        for (const char *q = next; q < end && *q && strcmp(q, name) == 0;) {
            const char *v = q + strlen(q) + 1;
            q = v + strlen(v) + 1;
            count++;
        }
        if (!first)
            GH_SBUF_LIT(b, ",");
        first = false;
        gh_sbuf_json_str(b, name, strlen(name));
        GH_SBUF_LIT(b, ":");
        if (count > 1)
            GH_SBUF_LIT(b, "[");
        for (size_t i = 0; i < count; i++) {
            if (i)
                GH_SBUF_LIT(b, ",");
            gh_sbuf_json_str(b, value, strlen(value));
            p = value + strlen(value) + 1;
            if (i + 1 < count)
                value = p + strlen(p) + 1;
        }
        if (count > 1)
            GH_SBUF_LIT(b, "]");
    }
    GH_SBUF_LIT(b, "}");
}

/* The input document (malloc'd), or NULL when out of memory. */
static char *input_of(const gh_request *req, const gh_policy_conf *pol)
{
    size_t cap = 1024 + 6 * (req->path_len + req->claims_len + req->h1.head_len);
    char *buf = malloc(cap);
    if (!buf)
        return NULL;
    gh_sbuf b = gh_sbuf_make(buf, cap - 1);
    GH_SBUF_LIT(&b, "{\"input\":{\"method\":");
    gh_sbuf_json_str(&b, req->h1.method, req->h1.method_len);
    GH_SBUF_LIT(&b, ",\"path\":");
    gh_sbuf_json_str(&b, req->path, req->path_len);
    GH_SBUF_LIT(&b, ",\"route\":");
    gh_sbuf_json_str(&b, req->match.route->name, strlen(req->match.route->name));
    GH_SBUF_LIT(&b, ",\"params\":{");
    for (size_t i = 0; i < req->match.nparams; i++) {
        const gh_route_param *p = &req->match.params[i];
        if (i)
            GH_SBUF_LIT(&b, ",");
        gh_sbuf_json_str(&b, p->name, p->name_len);
        GH_SBUF_LIT(&b, ":");
        gh_sbuf_json_str(&b, p->value, p->value_len);
    }
    GH_SBUF_LIT(&b, "},\"headers\":{");
    bool first = true;
    for (size_t k = 0; k < pol->nheaders; k++) {
        /* A header sent several times is one string, its values joined with ", " (an HTTP
         * list), so the policy sees every value the upstream will see. */
        size_t nl = strlen(pol->headers[k]), seen = 0;
        for (size_t i = 0; i < req->h1.nheaders; i++) {
            const gh_h1_header *h = &req->h1.headers[i];
            if (!gh_h1_name_is(h, pol->headers[k], nl))
                continue;
            if (seen++ == 0) {
                if (!first)
                    GH_SBUF_LIT(&b, ",");
                first = false;
                gh_sbuf_json_str(&b, pol->headers[k], nl);
                GH_SBUF_LIT(&b, ":\"");
            } else {
                GH_SBUF_LIT(&b, ", ");
            }
            gh_sbuf_json_chars(&b, h->value, h->value_len);
        }
        if (seen)
            GH_SBUF_LIT(&b, "\"");
    }
    GH_SBUF_LIT(&b, "},\"identity\":");
    if (req->claims) {
        GH_SBUF_LIT(&b, "{\"sub\":");
        if (req->auth_sub)
            gh_sbuf_json_str(&b, req->auth_sub, strlen(req->auth_sub));
        else
            GH_SBUF_LIT(&b, "null");
        GH_SBUF_LIT(&b, ",\"claims\":");
        add_claims(&b, req->claims, req->claims_len);
        GH_SBUF_LIT(&b, "}");
    } else if (req->api_client) {
        GH_SBUF_LIT(&b, "{\"client_id\":");
        gh_sbuf_json_str(&b, req->api_client, strlen(req->api_client));
        GH_SBUF_LIT(&b, "}");
    } else {
        GH_SBUF_LIT(&b, "null");
    }
    GH_SBUF_LIT(&b, ",\"client_ip\":");
    gh_sbuf_json_str(&b, req->client_ip, strlen(req->client_ip));
    GH_SBUF_LIT(&b, "}}");
    if (b.overflow) {
        free(buf);
        return NULL;
    }
    buf[b.len] = '\0';
    return buf;
}

/* What the answer says; *reason (malloc'd or NULL) is the policy's words. */
static decision read_answer(gh_pending_call *c, CURLcode result, char **reason)
{
    *reason = NULL;
    long code = 0;
    curl_easy_getinfo(c->http.easy, CURLINFO_RESPONSE_CODE, &code);
    if (gh_http_call_failure(&c->http, result) || code != 200)
        return DECIDE_ERROR;
    json_error_t jerr;
    json_t *doc = json_loadb(c->http.answer.p ? c->http.answer.p : "", c->http.answer.len,
                              JSON_REJECT_DUPLICATES, &jerr);
    json_t *res = json_object_get(doc, "result");
    decision d = DECIDE_ERROR;
    if (json_is_object(doc) && !res) {
        d = DECIDE_DENY; /* OPA's answer for an undefined rule: nothing allows it */
        *reason = strdup("the policy has no decision for this input");
    } else if (json_is_boolean(res)) {
        d = json_is_true(res) ? DECIDE_ALLOW : DECIDE_DENY;
    } else if (json_is_object(res) && json_is_boolean(json_object_get(res, "allow"))) {
        d = json_is_true(json_object_get(res, "allow")) ? DECIDE_ALLOW : DECIDE_DENY;
        const char *why = json_string_value(json_object_get(res, "reason"));
        if (why)
            *reason = strndup(why, GH_POLICY_REASON_MAX);
    }
    json_decref(doc);
    for (char *p = *reason; p && *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' '; /* it goes to the log */
    return d;
}

/* What a decision does to the request. Returns the verdict for the stage chain. */
static gh_verdict apply(gh_request *req, const gh_route_conf *r, decision d, const char *reason)
{
    const gh_policy_conf *pol = r->policy;
    bool shadow = r->authz.shadow;
    gh_metrics *m = &req->svc->metrics;
    if (d == DECIDE_ALLOW || (d == DECIDE_ERROR && pol->on_error_allow)) {
        if (d == DECIDE_ERROR) {
            char why[160];
            snprintf(why, sizeof(why), "policy %s unavailable: allowed (on_error: allow)", pol->name);
            req->authz_reason = gh_arena_strdup(&req->arena, why);
        }
        if (req->authz == GH_AUTHZ_NONE)
            req->authz = GH_AUTHZ_ALLOW;
        gh_metrics_authz(m, r->name, GH_AUTHZ_ALLOW);
        return GH_NEXT;
    }
    char why[GH_POLICY_REASON_MAX + 96];
    if (d == DECIDE_ERROR)
        snprintf(why, sizeof(why), "policy %s unavailable", pol->name);
    else
        snprintf(why, sizeof(why), "policy %s: %s", pol->name, reason && *reason ? reason : "denied");
    req->authz_reason = gh_arena_strdup(&req->arena, why);
    if (shadow) {
        req->authz = GH_AUTHZ_SHADOW_DENY;
        gh_metrics_authz(m, r->name, GH_AUTHZ_SHADOW_DENY);
        return GH_NEXT;
    }
    req->authz = GH_AUTHZ_DENY;
    gh_metrics_authz(m, r->name, GH_AUTHZ_DENY);
    if (d == DECIDE_ERROR)
        return gh_stage_refuse(req, GH_R_POLICY_UNAVAILABLE,
                               "the policy service could not decide; try again shortly");
    return gh_stage_refuse(req, GH_R_POLICY_DENIED, "the policy does not allow this request");
}

static void remember(const gh_policy_conf *pol, const unsigned char question[32], decision d,
                     const char *reason)
{
    uint64_t ttl = d == DECIDE_ALLOW ? pol->cache_ttl_s : pol->deny_cache_ttl_s;
    if (d == DECIDE_ERROR || ttl == 0)
        return;
    gh_token_entry e = {.exp = (int64_t)time(NULL) + (int64_t)ttl, .negative = d == DECIDE_DENY,
                        .payload = (char *)(reason ? reason : ""),
                        .payload_len = (reason ? strlen(reason) : 0) + 1};
    memcpy(e.hash, question, 32);
    gh_token_cache_put(pol->cache, &e);
}

/* The policy's answer, for each request that waited for it. */
typedef struct answer {
    decision d;
    const char *reason;
} answer;

static gh_verdict apply_answer(gh_request *req, const void *arg)
{
    const answer *a = arg;
    return apply(req, req->match.route, a->d, a->reason);
}

static void finished(gh_pending_call *c, CURLcode result)
{
    const gh_policy_conf *pol = c->owner;
    char *reason = NULL;
    decision d = read_answer(c, result, &reason);
    double secs = 0;
    curl_easy_getinfo(c->http.easy, CURLINFO_TOTAL_TIME, &secs);
    gh_metrics_policy(&c->svc->metrics, pol->name, (gh_policy_result)d, (uint64_t)(secs * 1e6));
    remember(pol, c->question, d, reason);
    answer a = {d, reason};
    for (gh_request *req; (req = gh_pending_next_waiter(c));)
        gh_request_resume(req, apply_answer, &a);
    free(reason);
}

static gh_verdict run(gh_request *req, const void *conf)
{
    const gh_route_conf *r = conf;
    const gh_policy_conf *pol = r->policy;
    gh_services *svc = req->svc;
    char *input = input_of(req, pol);
    if (!input)
        return apply(req, r, DECIDE_ERROR, NULL);
    unsigned char question[32];
    gh_token_hash(svc->stage_tools.md_ctx, svc->stage_tools.sha256, input, strlen(input), question);
    gh_token_entry cached;
    if (gh_token_cache_get(pol->cache, question, (int64_t)time(NULL), &req->arena, &cached)) {
        free(input);
        gh_metrics_policy(&svc->metrics, pol->name, GH_POLICY_CACHE_HIT, 0);
        return apply(req, r, cached.negative ? DECIDE_DENY : DECIDE_ALLOW, cached.payload);
    }
    gh_metrics_policy(&svc->metrics, pol->name, GH_POLICY_CACHE_MISS, 0);
    uint32_t others;
    gh_pending_call *c = gh_pending_find(svc, pol, question, &others);
    if (c) {
        free(input);
    } else if (others >= pol->max_in_flight) {
        free(input);
        return apply(req, r, DECIDE_ERROR, NULL);
    } else {
        gh_pending_spec spec = {pol->url, pol->ca_file, (long)pol->timeout_ms, GH_POLICY_MAX_ANSWER,
                                input, "Content-Type: application/json", NULL,
                                GH_SPAN_POLICY, pol->name};
        if (!(c = gh_pending_start(req, pol, question, &spec, finished)))
            return apply(req, r, DECIDE_ERROR, NULL);
    }
    if (gh_pending_join(c, req, gh_stage_context(req, &gh_stage_policy)) != 0)
        return apply(req, r, DECIDE_ERROR, NULL);
    return GH_WAIT;
}

static const void *conf_of(const gh_route_conf *r)
{
    return r->policy ? r : NULL;
}

/* The route's authorization mode covers its policy too: in shadow mode a denial is logged. */
static void facts(gh_stage_facts *out, const void *conf)
{
    const gh_route_conf *r = conf;
    gh_stage_fact *f = gh_stage_fact_add(out, GH_FACT_POLICY, "policy", "auth.policy");
    f->name = r->policy->name;
    f->fails_open = r->policy->on_error_allow;
    f->shadow = r->authz.shadow;
}

const gh_stage gh_stage_policy = {
    .name = "policy",
    .phase = GH_PHASE_POLICY,
    .bind = conf_of,
    .run = run,
    .ctx_size = sizeof(gh_pending_ctx),
    .abort = gh_pending_abort,
    .log = gh_log_decision,
    .facts = facts,
};
