#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/bytes.h"
#include "core/clock.h"
#include "tls/tls_server.h"
#include "identity/jws.h"
#include "observe/prometheus.h"
#include "server/worker.h"

typedef struct {
    gh_bytes out;
    int failed;
} dbuf;

static void emit(dbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emit(dbuf *b, const char *fmt, ...)
{
    for (int attempt = 0; attempt < 2 && !b->failed; attempt++) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->out.p + b->out.len, b->out.cap - b->out.len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = 1;
            return;
        }
        if ((size_t)n < b->out.cap - b->out.len) {
            b->out.len += (size_t)n;
            return;
        }
        /* vsnprintf writes its NUL too; the page has no bound of its own */
        if (gh_bytes_reserve(&b->out, (size_t)n + 1, SIZE_MAX) != 0) {
            b->failed = 1;
            return;
        }
    }
}

typedef struct {
    const char *key;
    int code;
    unsigned long long count, sum_us, hist[GH_HIST_BUCKETS];
} merged;

static gh_series_table *table_of(gh_metrics *m, size_t table)
{
    gh_series_table *tables[] = {&m->requests, &m->upstream, &m->auth, &m->authz, &m->limits,
                                 &m->policy, &m->store, &m->tls};
    return tables[table];
}

/* Sums one series table across workers. */
static merged *merge(gh_runtime *rt, size_t table, size_t *n)
{
    size_t cap = 0;
    for (int i = 0; i < rt->nworkers; i++) {
        gh_metrics *m = &rt->workers[i].svc.metrics;
        gh_series_table *t = table_of(m, table);
        cap += atomic_load_explicit(&t->n, memory_order_acquire);
    }
    merged *out = calloc(cap ? cap : 1, sizeof(*out));
    *n = 0;
    if (!out)
        return NULL;
    for (int i = 0; i < rt->nworkers; i++) {
        gh_metrics *m = &rt->workers[i].svc.metrics;
        gh_series_table *t = table_of(m, table);
        size_t count = atomic_load_explicit(&t->n, memory_order_acquire);
        for (size_t s = 0; s < count; s++) {
            gh_series *se = &t->items[s];
            merged *mg = NULL;
            for (size_t k = 0; k < *n && !mg; k++)
                if (out[k].code == se->code && strcmp(out[k].key, se->key) == 0)
                    mg = &out[k];
            if (!mg) {
                mg = &out[(*n)++];
                mg->key = se->key;
                mg->code = se->code;
            }
            mg->count += atomic_load_explicit(&se->count, memory_order_relaxed);
            mg->sum_us += atomic_load_explicit(&se->sum_us, memory_order_relaxed);
            for (int h = 0; h < GH_HIST_BUCKETS; h++)
                mg->hist[h] += atomic_load_explicit(&se->hist[h], memory_order_relaxed);
        }
    }
    return out;
}

/* One histogram per key of a merged table, folding its codes (those below max_code, or all
 * when max_code is negative) together. */
static void render_histograms(dbuf *b, const merged *m, size_t n, const char *name,
                              const char *help, const char *label, int max_code)
{
    emit(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    for (size_t i = 0; i < n; i++) {
        bool first = true;
        for (size_t j = 0; j < i; j++)
            if (strcmp(m[j].key, m[i].key) == 0)
                first = false;
        if (!first)
            continue;
        unsigned long long hist[GH_HIST_BUCKETS] = {0}, count = 0, sum = 0;
        for (size_t j = i; j < n; j++) {
            if (strcmp(m[j].key, m[i].key) != 0 || (max_code >= 0 && m[j].code >= max_code))
                continue;
            for (int h = 0; h < GH_HIST_BUCKETS; h++)
                hist[h] += m[j].hist[h];
            count += m[j].count;
            sum += m[j].sum_us;
        }
        unsigned long long cum = 0;
        for (int h = 0; h < GH_HIST_BUCKETS - 1; h++) {
            cum += hist[h];
            emit(b, "%s_bucket{%s=\"%s\",le=\"%g\"} %llu\n", name, label, m[i].key,
                 gh_hist_bounds[h], cum);
        }
        emit(b, "%s_bucket{%s=\"%s\",le=\"+Inf\"} %llu\n", name, label, m[i].key, count);
        emit(b, "%s_sum{%s=\"%s\"} %.6f\n", name, label, m[i].key, (double)sum / 1e6);
        emit(b, "%s_count{%s=\"%s\"} %llu\n", name, label, m[i].key, count);
    }
}

static void render_requests(dbuf *b, gh_runtime *rt)
{
    size_t n;
    merged *m = merge(rt, 0, &n);
    if (!m) {
        b->failed = 1;
        return;
    }
    emit(b, "# HELP gatehouse_requests_total Requests answered, by route and status code.\n"
            "# TYPE gatehouse_requests_total counter\n");
    for (size_t i = 0; i < n; i++)
        emit(b, "gatehouse_requests_total{route=\"%s\",code=\"%d\"} %llu\n", m[i].key, m[i].code,
             m[i].count);
    render_histograms(b, m, n, "gatehouse_request_duration_seconds",
                      "Time from request head to response end.", "route", -1);
    free(m);
}

static void render_upstreams(dbuf *b, gh_runtime *rt, const gh_config *cfg)
{
    size_t n;
    merged *m = merge(rt, 1, &n);
    if (!m) {
        b->failed = 1;
        return;
    }
    emit(b, "# HELP gatehouse_upstream_requests_total Upstream attempts, by upstream and result.\n"
            "# TYPE gatehouse_upstream_requests_total counter\n");
    for (size_t i = 0; i < n; i++)
        emit(b, "gatehouse_upstream_requests_total{upstream=\"%s\",result=\"%s\"} %llu\n", m[i].key,
             gh_upstream_result_name((gh_upstream_result)m[i].code), m[i].count);
    free(m);
    emit(b, "# HELP gatehouse_upstream_in_flight Requests in flight, by upstream (all workers).\n"
            "# TYPE gatehouse_upstream_in_flight gauge\n");
    for (size_t i = 0; i < cfg->nupstreams; i++)
        if (cfg->upstreams[i].state)
            emit(b, "gatehouse_upstream_in_flight{upstream=\"%s\"} %u\n", cfg->upstreams[i].name,
                 atomic_load(&cfg->upstreams[i].state->inflight));
}

static void render_auth(dbuf *b, gh_runtime *rt)
{
    size_t n;
    merged *m = merge(rt, 2, &n);
    if (!m) {
        b->failed = 1;
        return;
    }
    emit(b, "# HELP gatehouse_auth_success_total Requests authenticated, by provider.\n"
            "# TYPE gatehouse_auth_success_total counter\n");
    for (size_t i = 0; i < n; i++)
        if (m[i].code == GH_JWS_OK)
            emit(b, "gatehouse_auth_success_total{provider=\"%s\"} %llu\n", m[i].key, m[i].count);
    emit(b, "# HELP gatehouse_auth_failures_total Requests refused by authentication, by provider "
            "and reason.\n# TYPE gatehouse_auth_failures_total counter\n");
    for (size_t i = 0; i < n; i++)
        if (m[i].code != GH_JWS_OK && m[i].code < GH_JWS__COUNT)
            emit(b, "gatehouse_auth_failures_total{provider=\"%s\",reason=\"%s\"} %llu\n", m[i].key,
                 gh_jws_status_slug((gh_jws_status)m[i].code), m[i].count);
    emit(b, "# HELP gatehouse_token_cache_total Verified-token cache lookups, by provider and "
            "result.\n# TYPE gatehouse_token_cache_total counter\n");
    for (size_t i = 0; i < n; i++)
        if (m[i].code == GH_AUTH_CACHE_HIT || m[i].code == GH_AUTH_CACHE_MISS)
            emit(b, "gatehouse_token_cache_total{provider=\"%s\",result=\"%s\"} %llu\n", m[i].key,
                 m[i].code == GH_AUTH_CACHE_HIT ? "hit" : "miss", m[i].count);
    free(m);
}

/* TLS listeners: handshakes by result and failure reason, and how long each certificate in
 * force has left. */
static void render_tls(dbuf *b, gh_runtime *rt, const gh_config *cfg)
{
    size_t n;
    merged *m = merge(rt, 7, &n);
    if (!m) {
        b->failed = 1;
        return;
    }
    emit(b, "# HELP gatehouse_tls_handshakes_total TLS handshakes on the listeners, by result (ok: "
            "full, resumed: from a ticket, failed) and failure reason.\n# TYPE gatehouse_tls_handshakes_total counter\n");
    for (size_t i = 0; i < n; i++) {
        if (strcmp(m[i].key, "ok") == 0 || strcmp(m[i].key, "resumed") == 0)
            emit(b, "gatehouse_tls_handshakes_total{result=\"%s\"} %llu\n", m[i].key, m[i].count);
        else
            emit(b, "gatehouse_tls_handshakes_total{result=\"failed\",reason=\"%s\"} %llu\n",
                 m[i].key, m[i].count);
    }
    free(m);
    emit(b, "# HELP gatehouse_tls_certificate_expiry_days Days until a listener's certificate "
            "expires (negative: expired).\n# TYPE gatehouse_tls_certificate_expiry_days gauge\n");
    time_t now = time(NULL);
    for (size_t i = 0; i < cfg->nlisteners; i++) {
        const gh_tls_server *s = cfg->listeners[i].tls;
        for (size_t k = 0; s && k < gh_tls_server_count(s); k++)
            emit(b, "gatehouse_tls_certificate_expiry_days{listener=\"%s\",certificate=\"%s\"} %.2f\n",
                 cfg->listeners[i].address, gh_tls_server_cert_label(s, k),
                 difftime(gh_tls_server_cert_not_after(s, k), now) / 86400.0);
    }
}

/* Remote key sets of the providers in force: fetch attempts, keys held, and their age. */
static void render_key_sources(dbuf *b, const gh_config *cfg)
{
    emit(b, "# HELP gatehouse_jwks_fetches_total Key set fetch attempts, by provider and result "
            "(declined: a refetch asked for within min_refresh_interval).\n"
            "# TYPE gatehouse_jwks_fetches_total counter\n");
    for (size_t i = 0; i < cfg->njwt_providers; i++) {
        const gh_key_source *s = cfg->jwt_providers[i].source;
        if (!s)
            continue;
        const char *name = cfg->jwt_providers[i].name;
        emit(b, "gatehouse_jwks_fetches_total{provider=\"%s\",result=\"ok\"} %llu\n", name,
             atomic_load(&s->fetch_ok));
        emit(b, "gatehouse_jwks_fetches_total{provider=\"%s\",result=\"failed\"} %llu\n", name,
             atomic_load(&s->fetch_failed));
        emit(b, "gatehouse_jwks_fetches_total{provider=\"%s\",result=\"declined\"} %llu\n", name,
             atomic_load(&s->fetch_declined));
    }
    emit(b, "# HELP gatehouse_jwks_keys Signature keys held, by provider (0: requests get 503).\n"
            "# TYPE gatehouse_jwks_keys gauge\n");
    for (size_t i = 0; i < cfg->njwt_providers; i++)
        if (cfg->jwt_providers[i].source)
            emit(b, "gatehouse_jwks_keys{provider=\"%s\"} %zu\n", cfg->jwt_providers[i].name,
                 gh_key_source_key_count(cfg->jwt_providers[i].source));
    emit(b, "# HELP gatehouse_jwks_age_seconds Time since the key set was last fetched "
            "successfully, by provider.\n# TYPE gatehouse_jwks_age_seconds gauge\n");
    int64_t now = gh_monotonic_ms();
    for (size_t i = 0; i < cfg->njwt_providers; i++) {
        const gh_key_source *s = cfg->jwt_providers[i].source;
        int64_t ok_at = s ? atomic_load(&s->last_success_ms) : -1;
        if (ok_at >= 0)
            emit(b, "gatehouse_jwks_age_seconds{provider=\"%s\"} %.3f\n",
                 cfg->jwt_providers[i].name, (double)(now - ok_at) / 1000.0);
    }
}

/* A decision counter from one series table: NAME{label="key",result="..."} for every series
 * whose code result_name can name. */
static void render_decisions(dbuf *b, gh_runtime *rt, size_t table, const char *name,
                             const char *help, const char *label, const char *(*result_name)(int))
{
    size_t n;
    merged *m = merge(rt, table, &n);
    if (!m) {
        b->failed = 1;
        return;
    }
    emit(b, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
    for (size_t i = 0; i < n; i++)
        if (result_name(m[i].code))
            emit(b, "%s{%s=\"%s\",result=\"%s\"} %llu\n", name, label, m[i].key,
                 result_name(m[i].code), m[i].count);
    free(m);
}

static const char *authz_name(int code)
{
    return gh_authz_result_name((gh_authz_result)code);
}

static const char *policy_call_name(int code)
{
    return code < GH_POLICY_CACHE_HIT ? gh_policy_result_name((gh_policy_result)code) : NULL;
}

static const char *policy_cache_name(int code)
{
    return code == GH_POLICY_CACHE_HIT ? "hit" : code == GH_POLICY_CACHE_MISS ? "miss" : NULL;
}

static void render_policies(dbuf *b, gh_runtime *rt)
{
    render_decisions(b, rt, 5, "gatehouse_policy_calls_total",
                     "External policy calls, by policy and result.", "policy", policy_call_name);
    render_decisions(b, rt, 5, "gatehouse_policy_cache_total",
                     "Policy decision cache lookups, by policy and result.", "policy",
                     policy_cache_name);
    size_t n;
    merged *m = merge(rt, 5, &n);
    if (!m) {
        b->failed = 1;
        return;
    }
    render_histograms(b, m, n, "gatehouse_policy_call_duration_seconds",
                      "Time an external policy took to answer.", "policy", GH_POLICY_CACHE_HIT);
    free(m);
}

static const char *store_name(int code)
{
    return gh_store_result_name((gh_store_result)code);
}

/* The Redis store: whether it is reachable, decisions and fallbacks, round-trip times. */
static void render_store(dbuf *b, gh_runtime *rt, const gh_config *cfg)
{
    if (!cfg->redis)
        return;
    emit(b, "# HELP gatehouse_redis_up Whether the rate-limit store answers (1), or not (0).\n"
            "# TYPE gatehouse_redis_up gauge\ngatehouse_redis_up %d\n",
         atomic_load(&rt->shared.redis_up) == 1);
    render_decisions(b, rt, 6, "gatehouse_redis_requests_total",
                     "Rate-limit decisions asked of Redis, by result (ok, failed, fallbacks).",
                     "store", store_name);
    size_t n;
    merged *m = merge(rt, 6, &n);
    if (!m) {
        b->failed = 1;
        return;
    }
    render_histograms(b, m, n, "gatehouse_redis_roundtrip_seconds",
                      "Time Redis took to decide, from sending to the answer.", "store", GH_STORE_FAILED);
    free(m);
}

static const char *limit_name(int code)
{
    return gh_limit_result_name((gh_limit_result)code);
}

static void render_process(dbuf *b, gh_runtime *rt, const gh_config *cfg)
{
    long long open = 0;
    unsigned long long refusals[GH_R__COUNT] = {0}, dropped = 0;
    for (int i = 0; i < rt->nworkers; i++) {
        gh_metrics *m = &rt->workers[i].svc.metrics;
        open += (long long)atomic_load_explicit(&m->open_connections, memory_order_relaxed);
        for (int r = 0; r < GH_R__COUNT; r++)
            refusals[r] += atomic_load_explicit(&m->refusals[r], memory_order_relaxed);
        if (rt->logger.rings)
            dropped += atomic_load(&rt->logger.rings[i]->dropped);
    }
    emit(b,
         "# HELP gatehouse_open_connections Open client connections.\n"
         "# TYPE gatehouse_open_connections gauge\ngatehouse_open_connections %lld\n",
         open);
    emit(b, "# HELP gatehouse_refusals_total Requests refused by the gateway, by reason.\n"
            "# TYPE gatehouse_refusals_total counter\n");
    for (int r = GH_R_AGAIN + 1; r < GH_R__COUNT; r++)
        if (refusals[r])
            emit(b, "gatehouse_refusals_total{reason=\"%s\"} %llu\n", gh_reason_slug((gh_reason)r),
                 refusals[r]);
    emit(b,
         "# HELP gatehouse_reloads_total Configuration reloads, by result.\n"
         "# TYPE gatehouse_reloads_total counter\n"
         "gatehouse_reloads_total{result=\"success\"} %llu\n"
         "gatehouse_reloads_total{result=\"failure\"} %llu\n",
         atomic_load(&rt->reloads_ok), atomic_load(&rt->reloads_failed));
    emit(b,
         "# HELP gatehouse_access_log_dropped_total Access log lines dropped (log thread behind).\n"
         "# TYPE gatehouse_access_log_dropped_total counter\n"
         "gatehouse_access_log_dropped_total %llu\n",
         dropped);
    emit(b,
         "# HELP gatehouse_config_info The configuration in force.\n"
         "# TYPE gatehouse_config_info gauge\ngatehouse_config_info{hash=\"%s\"} 1\n",
         cfg->hash);
    emit(b,
         "# HELP gatehouse_build_info The running build.\n"
         "# TYPE gatehouse_build_info gauge\ngatehouse_build_info{version=\"%s\"} 1\n",
         GH_VERSION);
}

char *gh_prometheus_render(gh_runtime *rt, size_t *len)
{
    dbuf b = {{0}, 0};
    if (gh_bytes_reserve(&b.out, 16384, SIZE_MAX) != 0)
        return NULL;
    gh_config *cfg = gh_runtime_config(rt);
    render_requests(&b, rt);
    render_upstreams(&b, rt, cfg);
    render_auth(&b, rt);
    render_decisions(&b, rt, 3, "gatehouse_authz_decisions_total",
                     "Authorization decisions (scopes, claims), by route and result.", "route",
                     authz_name);
    render_decisions(&b, rt, 4, "gatehouse_rate_limit_decisions_total",
                     "Rate limit and quota decisions, by limit and result.", "limit", limit_name);
    render_policies(&b, rt);
    render_store(&b, rt, cfg);
    render_key_sources(&b, cfg);
    render_tls(&b, rt, cfg);
    render_process(&b, rt, cfg);
    gh_config_release(cfg);
    if (b.failed) {
        gh_bytes_free(&b.out);
        return NULL;
    }
    *len = b.out.len;
    return b.out.p;
}
