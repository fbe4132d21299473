#include <stdlib.h>
#include <string.h>

#include "observe/metrics.h"

const double gh_hist_bounds[GH_HIST_BUCKETS - 1] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                    0.1,    0.25,  0.5,    1,     2.5,  10};

static const char *const result_names[GH_UP__EVENTS] = {
    "success", "connect_failed", "reset",   "timeout", "bad_response", "at_capacity", "tls_failed",
    "retry",   "retry_denied",   "ejected", "no_endpoint"};

const char *gh_upstream_result_name(gh_upstream_result r)
{
    return (unsigned)r < GH_UP__EVENTS ? result_names[r] : "unknown";
}

const gh_series_table *gh_metrics_table_of(const gh_metrics *m, gh_metrics_table t)
{
    const gh_series_table *const tables[] = {&m->requests, &m->upstream, &m->auth,
                                             &m->authz,    &m->limits,   &m->policy,
                                             &m->store,    &m->tls,      &m->faults,
                                             &m->websocket};
    return tables[t];
}

static int table_init(gh_series_table *t)
{
    t->items = calloc(GH_METRIC_SERIES, sizeof(*t->items));
    atomic_init(&t->n, 0);
    memset(t->index, 0, sizeof(t->index));
    return t->items ? 0 : -1;
}

int gh_metrics_init(gh_metrics *m)
{
    memset(m, 0, sizeof(*m));
    if (table_init(&m->requests) != 0 || table_init(&m->upstream) != 0 ||
        table_init(&m->auth) != 0 || table_init(&m->authz) != 0 || table_init(&m->limits) != 0 ||
        table_init(&m->policy) != 0 || table_init(&m->store) != 0 || table_init(&m->tls) != 0 ||
        table_init(&m->faults) != 0 || table_init(&m->websocket) != 0 ||
        gh_top_clients_init(&m->clients) != 0) {
        gh_metrics_free(m);
        return -1;
    }
    return 0;
}

void gh_metrics_free(gh_metrics *m)
{
    free(m->requests.items);
    free(m->upstream.items);
    free(m->auth.items);
    free(m->authz.items);
    free(m->limits.items);
    free(m->policy.items);
    free(m->store.items);
    free(m->tls.items);
    free(m->faults.items);
    free(m->websocket.items);
    gh_top_clients_free(&m->clients);
    m->tls.items = m->faults.items = m->websocket.items = NULL;
    m->requests.items = m->upstream.items = m->auth.items = m->authz.items = m->limits.items = NULL;
    m->policy.items = m->store.items = NULL;
}

static uint32_t hash_key(const char *key, int code)
{
    uint32_t h = 2166136261u ^ (uint32_t)code;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h;
}

/* The series for (key, code), created on first use by the single writer. */
static gh_series *series(gh_series_table *t, const char *key, int code)
{
    size_t mask = 2 * GH_METRIC_SERIES - 1;
    size_t n = atomic_load_explicit(&t->n, memory_order_relaxed);
    for (size_t i = hash_key(key, code) & mask;; i = (i + 1) & mask) {
        uint16_t slot = t->index[i];
        if (slot == 0) {
            /* The last slot is kept for "(other)", where every later series is folded. */
            if (n >= GH_METRIC_SERIES - 1 && strcmp(key, "(other)") != 0)
                return series(t, "(other)", 0);
            if (n >= GH_METRIC_SERIES)
                return &t->items[GH_METRIC_SERIES - 1];
            gh_series *s = &t->items[n];
            size_t len = strlen(key);
            if (len >= GH_METRIC_KEY)
                len = GH_METRIC_KEY - 1;
            memcpy(s->key, key, len);
            s->key[len] = '\0';
            s->code = code;
            t->index[i] = (uint16_t)(n + 1);
            atomic_store_explicit(&t->n, n + 1, memory_order_release);
            return s;
        }
        gh_series *s = &t->items[slot - 1];
        if (s->code == code && strcmp(s->key, key) == 0)
            return s;
    }
}

/* Counts one event into s and its latency histogram. */
static void observe(gh_series *s, uint64_t duration_us)
{
    gh_metric_add(&s->count, 1);
    gh_metric_add(&s->sum_us, duration_us);
    double secs = (double)duration_us / 1e6;
    size_t b = 0;
    while (b < GH_HIST_BUCKETS - 1 && secs > gh_hist_bounds[b])
        b++;
    gh_metric_add(&s->hist[b], 1);
}

void gh_metrics_request(gh_metrics *m, const char *route, int status, uint64_t duration_us)
{
    observe(series(&m->requests, route, status), duration_us);
}

void gh_metrics_policy(gh_metrics *m, const char *policy, gh_policy_result r, uint64_t duration_us)
{
    gh_series *s = series(&m->policy, policy, (int)r);
    if (r < GH_POLICY_CACHE_HIT)
        observe(s, duration_us);
    else
        gh_metric_add(&s->count, 1);
}

void gh_metrics_store(gh_metrics *m, gh_store_result r, uint64_t duration_us)
{
    gh_series *s = series(&m->store, "redis", (int)r);
    if (r == GH_STORE_OK)
        observe(s, duration_us);
    else
        gh_metric_add(&s->count, 1);
}

void gh_metrics_handshake(gh_metrics *m, const char *outcome)
{
    gh_metric_add(&series(&m->tls, outcome ? outcome : "ok", 0)->count, 1);
}

void gh_metrics_websocket(gh_metrics *m, const char *route, unsigned close_code, uint64_t frames_in,
                          uint64_t frames_out, uint64_t bytes_in, uint64_t bytes_out)
{
    gh_metric_add(&series(&m->websocket, route, (int)close_code)->count, 1);
    gh_metric_add(&m->ws_open, (unsigned long long)-1);
    gh_metric_add(&m->ws_frames[0], frames_in);
    gh_metric_add(&m->ws_frames[1], frames_out);
    gh_metric_add(&m->ws_bytes[0], bytes_in);
    gh_metric_add(&m->ws_bytes[1], bytes_out);
}

const char *gh_store_result_name(gh_store_result r)
{
    static const char *const names[] = {"ok", "failed", "fallback_local", "fallback_deny",
                                        "fallback_allow"};
    return (unsigned)r < 5 ? names[r] : "?";
}

const char *gh_policy_result_name(gh_policy_result r)
{
    static const char *const names[] = {"allow", "deny", "error", "cache_hit", "cache_miss"};
    return (unsigned)r < 5 ? names[r] : "?";
}

void gh_metrics_upstream(gh_metrics *m, const char *upstream, gh_upstream_result r)
{
    gh_metric_add(&series(&m->upstream, upstream, (int)r)->count, 1);
}

void gh_metrics_refusal(gh_metrics *m, gh_reason r)
{
    if ((unsigned)r < GH_R__COUNT)
        gh_metric_add(&m->refusals[r], 1);
}

void gh_metrics_auth(gh_metrics *m, const char *provider, int status)
{
    gh_metric_add(&series(&m->auth, provider, status)->count, 1);
}

void gh_metrics_authz(gh_metrics *m, const char *route, gh_authz_result r)
{
    gh_metric_add(&series(&m->authz, route, (int)r)->count, 1);
}

void gh_metrics_limit(gh_metrics *m, const char *limit, gh_limit_result r)
{
    gh_metric_add(&series(&m->limits, limit, (int)r)->count, 1);
}

void gh_metrics_fault(gh_metrics *m, const char *route, gh_fault_kind k)
{
    gh_metric_add(&series(&m->faults, route, (int)k)->count, 1);
}

const char *gh_fault_kind_name(gh_fault_kind k)
{
    return k == GH_FAULT_ABORT ? "abort" : k == GH_FAULT_DELAY ? "delay" : NULL;
}

const char *gh_limit_result_name(gh_limit_result r)
{
    static const char *const names[] = {"allowed", "limited", "quota_exceeded", "shadow_limited"};
    return (unsigned)r < 4 ? names[r] : "?";
}

const char *gh_authz_result_name(gh_authz_result r)
{
    static const char *const names[] = {NULL, "allow", "deny", "shadow_deny"};
    return (unsigned)r < 4 ? names[r] : NULL;
}
