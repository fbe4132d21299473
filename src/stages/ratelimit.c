/* Stage: the route's rate limits and quotas, all of which must pass. Each limit counts the
 * requests of one key (a claim, the API key's client, the client address, a header, or the
 * route) in the local table shared by the workers, or in Redis, shared by every gateway. A
 * refusal is 429 with Retry-After; the
 * RateLimit-Policy and RateLimit headers follow draft-ietf-httpapi-ratelimit-headers-08. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/arena.h"
#include "core/clock.h"
#include "core/json.h"
#include "gate/span.h"
#include "gate/client_key.h"
#include "gate/exchange.h"
#include "gate/request.h"
#include "identity/claims.h"
#include "gate/access_log.h"
#include "gate/stage.h"
#include "gate/stage_facts.h"
#include "stages/registry.h"
#include "store/redis.h"

extern const gh_stage gh_stage_rate_limit; /* this stage: its state is found by it */

/* What the limit counts this request under; NULL when the request carries no such key (all
 * such requests then share one bucket). */
static const char *key_of(const gh_request *req, const gh_rate_limit_conf *l,
                          unsigned char buf[17], size_t *len)
{
    const char *v = NULL;
    switch (l->key) {
    case GH_LKEY_CLAIM:
        v = req->claims ? gh_claims_get(req->claims, req->claims_len, l->key_arg) : NULL;
        break;
    case GH_LKEY_API_KEY:
        v = req->api_client;
        break;
    case GH_LKEY_CLIENT_IP:
        return gh_client_address_bits(req, l->ipv4_prefix, l->ipv6_prefix, buf, len);
    case GH_LKEY_ROUTE:
        v = req->match.route->name;
        break;
    case GH_LKEY_HEADER: {
        size_t count;
        const gh_h1_header *found =
            gh_h1_find_last(req->h1.headers, req->h1.nheaders, l->key_arg, strlen(l->key_arg),
                            &count);
        if (count > 1)
            return NULL; /* twice: no key, rather than the client's choice of one */
        if (found)
            *len = found->value_len;
        return found ? found->value : NULL;
    }
    }
    if (v)
        *len = strlen(v);
    return v;
}

/* 16 bytes naming (limit, key): SHA-256 under the local table's random salt, so that nobody
 * can aim at a bucket's slot; for a Redis limit, under the limit's name, so that every gateway
 * sharing the store names a key alike. */
static void digest_key(gh_request *req, const gh_rate_limit_conf *l, unsigned char out[16])
{
    size_t len = 1;
    unsigned char buf[17];
    const char *key = key_of(req, l, buf, &len);
    if (!key)
        key = "\x01"; /* no key: one shared bucket, apart from every real key */
    gh_stage_tools *t = &req->svc->stage_tools;
    unsigned char md[32];
    unsigned int n = 0;
    EVP_DigestInit_ex2(t->md_ctx, t->sha256, NULL);
    if (l->redis)
        EVP_DigestUpdate(t->md_ctx, l->name, strlen(l->name) + 1);
    else
        EVP_DigestUpdate(t->md_ctx, l->table->salt, sizeof(l->table->salt));
    EVP_DigestUpdate(t->md_ctx, key, len);
    EVP_DigestFinal_ex(t->md_ctx, md, &n);
    memcpy(out, md, 16);
    out[15] |= 1; /* never all zero: that marks a free slot */
}

/* The wall clock that quota windows follow. Test builds (GH_TEST_CLOCK, the sanitizer build)
 * add the seconds written in the file GH_TEST_CLOCK_FILE names, so that a test can move time
 * past the end of a window; release builds have no such hook. */
static time_t wall_now(void)
{
    time_t now = time(NULL);
#ifdef GH_TEST_CLOCK
    const char *path = getenv("GH_TEST_CLOCK_FILE");
    FILE *f = path ? fopen(path, "r") : NULL;
    long long offset = 0;
    if (f && fscanf(f, "%lld", &offset) == 1)
        now += (time_t)offset;
    if (f)
        fclose(f);
#endif
    return now;
}

/* The quota window containing now (UTC) and when it ends. */
static int64_t window_of(gh_quota_window q, time_t now, int64_t *end_s)
{
    if (q == GH_QUOTA_DAY) {
        *end_s = (int64_t)(now / 86400 + 1) * 86400;
        return (int64_t)(now / 86400);
    }
    struct tm tm;
    gmtime_r(&now, &tm);
    int64_t id = (int64_t)(tm.tm_year + 1900) * 12 + tm.tm_mon;
    struct tm next = {.tm_year = tm.tm_mon == 11 ? tm.tm_year + 1 : tm.tm_year,
                      .tm_mon = (tm.tm_mon + 1) % 12, .tm_mday = 1};
    *end_s = (int64_t)timegm(&next);
    return q == GH_QUOTA_MONTH ? id : 0;
}

static int64_t ceil_s(int64_t us)
{
    return us <= 0 ? 0 : (us + 999999) / 1000000;
}

static void add_headers(gh_sbuf *policy, gh_sbuf *state, const gh_rate_limit_conf *l,
                        const gh_limit_verdict *v, int64_t window_end_s, time_t now)
{
    gh_sbuf_addf(policy, "%s\"%s\";q=%llu;w=%llu", policy->len ? ", " : "", l->name,
                 (unsigned long long)l->count, (unsigned long long)l->period_s);
    gh_sbuf_addf(state, "%s\"%s\";r=%llu;t=%lld", state->len ? ", " : "", l->name,
                 (unsigned long long)v->remaining, (long long)ceil_s(v->reset_us));
    if (!l->rule.quota)
        return;
    gh_sbuf_addf(policy, ", \"%s.quota\";q=%llu;w=%d", l->name, (unsigned long long)l->rule.quota,
                 l->quota_window == GH_QUOTA_DAY ? 86400 : 2592000);
    gh_sbuf_addf(state, ", \"%s.quota\";r=%llu;t=%lld", l->name,
                 (unsigned long long)v->quota_remaining, (long long)(window_end_s - now));
}

/* One request's pass through its route's limits (the stage's state for the request): local ones
 * at once, Redis ones when their answers come (pipelined on the worker's connection). */
typedef struct limit_run limit_run;
typedef struct limit_slot {
    limit_run *run;
    size_t i;
    int span; /* the request's child span for the store's answer (gate/span.h) */
} limit_slot;

struct limit_run {
    const char *note; /* the limit that refused it ("shadow:NAME" when it would have): logged */
    gh_request *req;
    const gh_route_conf *r;
    int64_t now_us;
    time_t now;
    size_t pending;
    bool store_down_deny; /* a Redis limit could not decide and on_failure is deny */
    gh_limit_verdict v[GH_MAX_ROUTE_LIMITS];
    int64_t window[GH_MAX_ROUTE_LIMITS], end_s[GH_MAX_ROUTE_LIMITS];
    unsigned char key[GH_MAX_ROUTE_LIMITS][16];
    gh_redis_cmd *cmd[GH_MAX_ROUTE_LIMITS];
    limit_slot slot[GH_MAX_ROUTE_LIMITS];
};

static void take_local(limit_run *run, size_t i)
{
    const gh_rate_limit_conf *l = run->r->limits[i];
    gh_limit_take(l->table, run->key[i], &l->rule, run->now_us, run->window[i],
                  (run->end_s[i] - (int64_t)run->now) * 1000000 + run->now_us, &run->v[i]);
}

/* A Redis limit that got no answer: as stores.redis.on_failure says. */
static void fall_back(limit_run *run, size_t i)
{
    const gh_redis_conf *store = run->req->config->redis;
    gh_metrics *m = &run->req->svc->metrics;
    if (store->on_failure == GH_REDIS_FAIL_LOCAL) {
        gh_metrics_store(m, GH_STORE_FALLBACK_LOCAL, 0);
        take_local(run, i);
    } else if (store->on_failure == GH_REDIS_FAIL_ALLOW) {
        gh_metrics_store(m, GH_STORE_FALLBACK_ALLOW, 0);
        run->v[i] = (gh_limit_verdict){.allowed = true};
    } else {
        gh_metrics_store(m, GH_STORE_FALLBACK_DENY, 0);
        run->v[i] = (gh_limit_verdict){.allowed = true}; /* refused below, as unavailable */
        run->store_down_deny = true;
    }
}

/* Every limit has decided: count, add headers, and pass or refuse. */
static gh_verdict finish(limit_run *run)
{
    gh_request *req = run->req;
    const gh_route_conf *r = run->r;
    gh_metrics *m = &req->svc->metrics;
    char pbuf[512], sbuf[512];
    gh_sbuf policy = gh_sbuf_make(pbuf, sizeof(pbuf)), state = gh_sbuf_make(sbuf, sizeof(sbuf));
    const gh_rate_limit_conf *refused_by = NULL;
    gh_limit_verdict refusal = {0};
    bool always = false;
    for (size_t i = 0; i < r->nlimits; i++) {
        const gh_rate_limit_conf *l = r->limits[i];
        const gh_limit_verdict *v = &run->v[i];
        if (l->headers != GH_LHDR_NEVER)
            add_headers(&policy, &state, l, v, run->end_s[i], run->now);
        always |= l->headers == GH_LHDR_ALWAYS;
        gh_limit_result result = v->allowed          ? GH_LIMIT_ALLOWED
                                 : l->shadow         ? GH_LIMIT_SHADOW_LIMITED
                                 : v->quota_exceeded ? GH_LIMIT_QUOTA_EXCEEDED
                                                     : GH_LIMIT_LIMITED;
        gh_metrics_limit(m, l->name, result);
        if (v->allowed)
            continue;
        if (l->shadow) {
            char note[96];
            snprintf(note, sizeof(note), "shadow:%s", l->name);
            if (!run->note)
                run->note = gh_arena_strdup(&req->arena, note);
            continue;
        }
        if (!refused_by || v->retry_after_us > refusal.retry_after_us) {
            refused_by = l;
            refusal = *v;
        }
    }
    char extra[1200];
    gh_sbuf x = gh_sbuf_make(extra, sizeof(extra) - 1);
    if (refused_by)
        gh_sbuf_addf(&x, "Retry-After: %lld\r\n",
                     (long long)(ceil_s(refusal.retry_after_us) ? ceil_s(refusal.retry_after_us) : 1));
    if ((refused_by || always) && policy.len && !policy.overflow && !state.overflow)
        gh_sbuf_addf(&x, "RateLimit-Policy: %.*s\r\nRateLimit: %.*s\r\n", (int)policy.len, pbuf,
                     (int)state.len, sbuf);
    if (x.len && !x.overflow) {
        extra[x.len] = '\0';
        req->extra_headers = gh_arena_strdup(&req->arena, extra);
    }
    if (!refused_by && run->store_down_deny) {
        run->note = "(store unavailable)";
        return gh_stage_refuse(req, GH_R_RATE_LIMIT_UNAVAILABLE,
                               "the rate-limit store cannot be reached; try again shortly");
    }
    if (!refused_by)
        return GH_NEXT;
    run->note = refused_by->name;
    return gh_stage_refuse(req, refusal.quota_exceeded ? GH_R_QUOTA_EXCEEDED : GH_R_RATE_LIMITED,
                           refusal.quota_exceeded
                               ? "the quota for this window is used up"
                               : "too many requests; retry after the time given");
}

static gh_verdict finish_step(gh_request *req, const void *run)
{
    (void)req;
    return finish((limit_run *)run);
}

static void on_store_answer(void *ctx, bool ok, const gh_limit_verdict *v)
{
    limit_slot *slot = ctx;
    limit_run *run = slot->run;
    run->cmd[slot->i] = NULL;
    gh_span_end(run->req, slot->span, 0, ok ? NULL : "store_unavailable");
    if (ok)
        run->v[slot->i] = *v;
    else
        fall_back(run, slot->i);
    if (--run->pending)
        return;
    gh_request_resume(run->req, finish_step, run);
}

static void abandon(gh_request *req, const void *conf, void *ctx)
{
    (void)conf;
    limit_run *run = ctx;
    for (size_t i = 0; run && i < run->r->nlimits; i++)
        if (run->cmd[i]) {
            gh_redis_cancel(run->cmd[i]);
            run->cmd[i] = NULL;
            gh_span_end(req, run->slot[i].span, 0, "abandoned");
        }
}

static void log_limit(gh_log_line *l, const gh_request *req, const void *conf, const void *ctx)
{
    (void)req, (void)conf;
    const limit_run *run = ctx;
    const char *note = run ? run->note : NULL;
    gh_log_field(l, "rate_limit", note, note ? strlen(note) : 0);
}

static gh_verdict run(gh_request *req, const void *conf)
{
    const gh_route_conf *r = conf;
    limit_run *lr = gh_stage_context(req, &gh_stage_rate_limit);
    if (!lr) {
        return gh_stage_refuse(req, GH_R_INTERNAL, "out of request memory");
    }
    lr->req = req;
    lr->r = r;
    lr->now_us = (int64_t)gh_now_us();
    lr->now = wall_now();
    /* One count held while the limits are sent: a store that fails at once answers commands
     * already sent from inside this loop, and must not finish the request under our feet. */
    lr->pending = 1;
    for (size_t i = 0; i < r->nlimits; i++) {
        const gh_rate_limit_conf *l = r->limits[i];
        lr->slot[i] = (limit_slot){lr, i};
        digest_key(req, l, lr->key[i]);
        lr->window[i] = l->rule.quota ? window_of(l->quota_window, lr->now, &lr->end_s[i]) : 0;
        if (!l->redis) {
            take_local(lr, i);
            continue;
        }
        lr->pending++;
        lr->slot[i].span = gh_span_begin(req, GH_SPAN_STORE, l->name);
        lr->cmd[i] = gh_redis_take(&req->svc->redis, req->config->redis, l, lr->key[i], lr->window[i],
                                   lr->end_s[i], on_store_answer, &lr->slot[i]);
        if (!lr->cmd[i]) {
            gh_span_end(req, lr->slot[i].span, 0, "store_unavailable");
            lr->pending--;
            fall_back(lr, i);
        }
    }
    if (--lr->pending == 0)
        return finish(lr);
    return GH_WAIT;
}

static const void *conf_of(const gh_route_conf *r)
{
    return r->nlimits ? r : NULL;
}

/* One fact per limit: its name, and its rate, key, quota and store in a phrase. */
_Static_assert(GH_MAX_ROUTE_LIMITS + GH_MAX_STAGES <= GH_MAX_FACTS,
               "a route's facts have no room for all its limits");

static const char *period_name(uint64_t s)
{
    return s == 1 ? "s" : s == 60 ? "min" : s == 3600 ? "h" : "period";
}

static void facts(gh_stage_facts *out, const void *conf)
{
    static const char *const keys[] = {"jwt.", "api_key", "client_ip", "header.", "route"};
    const gh_route_conf *r = conf;
    for (size_t i = 0; i < r->nlimits; i++) {
        const gh_rate_limit_conf *l = r->limits[i];
        bool named_key = l->key_arg && (l->key == GH_LKEY_CLAIM || l->key == GH_LKEY_HEADER);
        gh_stage_fact *f = gh_stage_fact_add(out, GH_FACT_LIMIT, "rate limit", "rate_limit");
        f->name = l->name;
        char quota[64] = "", detail[256];
        if (l->quota_window != GH_QUOTA_NONE)
            snprintf(quota, sizeof(quota), ", quota %llu/%s", (unsigned long long)l->rule.quota,
                     l->quota_window == GH_QUOTA_DAY ? "day" : "month");
        snprintf(detail, sizeof(detail), "%llu/%s per %s%s%s%s", (unsigned long long)l->count,
                 period_name(l->period_s), keys[l->key], named_key ? l->key_arg : "", quota,
                 l->redis ? ", redis" : "");
        f->detail = gh_arena_strdup(out->arena, detail);
        f->shadow = l->shadow;
    }
}

const gh_stage gh_stage_rate_limit = {
    .name = "rate_limit",
    .phase = GH_PHASE_LIMIT,
    .ctx_size = sizeof(limit_run),
    .bind = conf_of,
    .run = run,
    .abort = abandon,
    .log = log_limit,
    .facts = facts,
};
