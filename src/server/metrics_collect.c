#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/reason.h"
#include "gate/anomaly.h"
#include "identity/jws.h"
#include "identity/keyset.h"
#include "observe/prometheus.h"
#include "server/metrics_collect.h"
#include "server/worker.h"
#include "tls/tls_server.h"

#define MAX_FAMILIES 64

/* The families of one scrape. Plain samples go to one growing array; each family is pointed at
 * its own run of samples once all are in, since the array may move while it grows. */
typedef struct {
    gh_prom_family fam[MAX_FAMILIES];
    size_t first[MAX_FAMILIES];
    size_t nfam;
    gh_prom_sample *samples;
    size_t nsamples, cap;
    bool failed;
    char ban_detectors[GH_BAN_DETECTORS + 1][GH_BAN_NAME_MAX]; /* the label values, until rendered */
} scrape;

static void add_family(scrape *s, const gh_prom_family *f)
{
    if (s->nfam == MAX_FAMILIES) {
        s->failed = true;
        return;
    }
    s->first[s->nfam] = s->nsamples;
    s->fam[s->nfam++] = *f;
}

static void add_families(scrape *s, const gh_prom_family *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        add_family(s, &f[i]);
}

/* Starts a family of plain samples. */
static void family(scrape *s, const char *name, const char *help, gh_prom_type type)
{
    add_family(s, &(gh_prom_family){name, help, type, NULL, NULL, 0});
}

/* Appends a sample to the last family: nlabels (name, value) string pairs, then nothing. */
static void sample(scrape *s, gh_prom_value v, size_t nlabels, ...)
{
    if (s->nsamples == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        gh_prom_sample *p = realloc(s->samples, cap * sizeof(*p));
        if (!p) {
            s->failed = true;
            return;
        }
        s->samples = p;
        s->cap = cap;
    }
    gh_prom_sample *out = &s->samples[s->nsamples++];
    *out = (gh_prom_sample){.nlabels = nlabels < GH_PROM_LABELS ? nlabels : GH_PROM_LABELS,
                            .value = v};
    va_list ap;
    va_start(ap, nlabels);
    for (size_t i = 0; i < out->nlabels; i++) {
        out->labels[i].name = va_arg(ap, const char *);
        out->labels[i].value = va_arg(ap, const char *);
    }
    va_end(ap);
}

/* The last sample is one part of a summary ("_sum", "_count"). */
static void suffixed(scrape *s, const char *suffix)
{
    if (!s->failed && s->nsamples)
        s->samples[s->nsamples - 1].suffix = suffix;
}

/* Labels key_label="key",label="value", or leaves the series out when value is NULL (a code
 * the family does not show). */
static int key_and(gh_prom_labels *out, const char *key_label, const char *key, const char *label,
                   const char *value)
{
    out->l[0] = (gh_prom_label){key_label, key};
    out->l[1] = (gh_prom_label){label, value};
    return value ? 2 : -1;
}

static int request_labels(const char *key, int code, gh_prom_labels *out)
{
    snprintf(out->buf, sizeof(out->buf), "%d", code);
    return key_and(out, "route", key, "code", out->buf);
}

static int upstream_labels(const char *key, int code, gh_prom_labels *out)
{
    if (code >= GH_UP__COUNT)
        return -1; /* an event, not an attempt */
    return key_and(out, "upstream", key, "result",
                   gh_upstream_result_name((gh_upstream_result)code));
}

static int upstream_event(const char *key, int code, int event, gh_prom_labels *out)
{
    out->l[0] = (gh_prom_label){"upstream", key};
    return code == event ? 1 : -1;
}

static int retry_labels(const char *key, int code, gh_prom_labels *out)
{
    return upstream_event(key, code, GH_UP_RETRY, out);
}

static int retry_denied_labels(const char *key, int code, gh_prom_labels *out)
{
    return upstream_event(key, code, GH_UP_RETRY_DENIED, out);
}

static int ejection_labels(const char *key, int code, gh_prom_labels *out)
{
    return upstream_event(key, code, GH_UP_EJECTED, out);
}

static int no_endpoint_labels(const char *key, int code, gh_prom_labels *out)
{
    return upstream_event(key, code, GH_UP_NO_ENDPOINT, out);
}

static int auth_success_labels(const char *key, int code, gh_prom_labels *out)
{
    out->l[0] = (gh_prom_label){"provider", key};
    return code == GH_JWS_OK ? 1 : -1;
}

static int auth_failure_labels(const char *key, int code, gh_prom_labels *out)
{
    const char *reason =
        code != GH_JWS_OK && code < GH_JWS__COUNT ? gh_jws_status_slug((gh_jws_status)code) : NULL;
    return key_and(out, "provider", key, "reason", reason);
}

static const char *hit_or_miss(int code, int hit, int miss)
{
    return code == hit ? "hit" : code == miss ? "miss" : NULL;
}

static int token_cache_labels(const char *key, int code, gh_prom_labels *out)
{
    return key_and(out, "provider", key, "result",
                   hit_or_miss(code, GH_AUTH_CACHE_HIT, GH_AUTH_CACHE_MISS));
}

static int authz_labels(const char *key, int code, gh_prom_labels *out)
{
    return key_and(out, "route", key, "result", gh_authz_result_name((gh_authz_result)code));
}

static int limit_labels(const char *key, int code, gh_prom_labels *out)
{
    return key_and(out, "limit", key, "result", gh_limit_result_name((gh_limit_result)code));
}

static int policy_call_labels(const char *key, int code, gh_prom_labels *out)
{
    const char *result =
        code < GH_POLICY_CACHE_HIT ? gh_policy_result_name((gh_policy_result)code) : NULL;
    return key_and(out, "policy", key, "result", result);
}

static int policy_cache_labels(const char *key, int code, gh_prom_labels *out)
{
    return key_and(out, "policy", key, "result",
                   hit_or_miss(code, GH_POLICY_CACHE_HIT, GH_POLICY_CACHE_MISS));
}

static int fault_labels(const char *key, int code, gh_prom_labels *out)
{
    return key_and(out, "route", key, "kind", gh_fault_kind_name((gh_fault_kind)code));
}

static int store_labels(const char *key, int code, gh_prom_labels *out)
{
    return key_and(out, "store", key, "result", gh_store_result_name((gh_store_result)code));
}

/* The TLS table's key is the outcome itself: a handshake that completed, or why one failed. */
static int handshake_labels(const char *key, int code, gh_prom_labels *out)
{
    (void)code;
    out->l[0] = (gh_prom_label){"result", key};
    if (strcmp(key, "ok") == 0 || strcmp(key, "resumed") == 0)
        return 1;
    return key_and(out, "result", "failed", "reason", key);
}

static int websocket_labels(const char *key, int code, gh_prom_labels *out)
{
    snprintf(out->buf, sizeof(out->buf), "%d", code);
    return key_and(out, "route", key, "close_code", out->buf);
}

/* The series a family is drawn from: a counter labelled per series, or a histogram per key. */
#define SERIES(table, labeller) (&(const gh_prom_series){(table), (labeller), NULL, 0})
#define HISTOGRAM(table, key_label, max_code)                                                      \
    (&(const gh_prom_series){(table), NULL, (key_label), (max_code)})

static const gh_prom_family request_families[] = {
    {"gatehouse_requests_total", "Requests answered, by route and status code.", GH_PROM_COUNTER,
     SERIES(GH_MT_REQUESTS, request_labels)},
    {"gatehouse_request_duration_seconds", "Time from request head to response end.",
     GH_PROM_HISTOGRAM, HISTOGRAM(GH_MT_REQUESTS, "route", -1)},
    {"gatehouse_upstream_requests_total", "Upstream attempts, by upstream and result.",
     GH_PROM_COUNTER, SERIES(GH_MT_UPSTREAM, upstream_labels)},
    {"gatehouse_upstream_retries_total", "Requests tried again on another endpoint, by upstream.",
     GH_PROM_COUNTER, SERIES(GH_MT_UPSTREAM, retry_labels)},
    {"gatehouse_upstream_retries_denied_total",
     "Retries the retry budget refused, by upstream.", GH_PROM_COUNTER,
     SERIES(GH_MT_UPSTREAM, retry_denied_labels)},
    {"gatehouse_upstream_ejections_total",
     "Endpoints taken out of rotation by consecutive failures, by upstream.", GH_PROM_COUNTER,
     SERIES(GH_MT_UPSTREAM, ejection_labels)},
    {"gatehouse_upstream_no_endpoint_total",
     "Requests refused because no endpoint was available, by upstream.", GH_PROM_COUNTER,
     SERIES(GH_MT_UPSTREAM, no_endpoint_labels)},
};

static const gh_prom_family decision_families[] = {
    {"gatehouse_auth_success_total", "Requests authenticated, by provider.", GH_PROM_COUNTER,
     SERIES(GH_MT_AUTH, auth_success_labels)},
    {"gatehouse_auth_failures_total", "Requests refused by authentication, by provider and reason.",
     GH_PROM_COUNTER, SERIES(GH_MT_AUTH, auth_failure_labels)},
    {"gatehouse_token_cache_total", "Verified-token cache lookups, by provider and result.",
     GH_PROM_COUNTER, SERIES(GH_MT_AUTH, token_cache_labels)},
    {"gatehouse_authz_decisions_total",
     "Authorization decisions (scopes, claims), by route and result.", GH_PROM_COUNTER,
     SERIES(GH_MT_AUTHZ, authz_labels)},
    {"gatehouse_rate_limit_decisions_total", "Rate limit and quota decisions, by limit and result.",
     GH_PROM_COUNTER, SERIES(GH_MT_LIMITS, limit_labels)},
    {"gatehouse_policy_calls_total", "External policy calls, by policy and result.",
     GH_PROM_COUNTER, SERIES(GH_MT_POLICY, policy_call_labels)},
    {"gatehouse_policy_cache_total", "Policy decision cache lookups, by policy and result.",
     GH_PROM_COUNTER, SERIES(GH_MT_POLICY, policy_cache_labels)},
    {"gatehouse_policy_call_duration_seconds", "Time an external policy took to answer.",
     GH_PROM_HISTOGRAM, HISTOGRAM(GH_MT_POLICY, "policy", GH_POLICY_CACHE_HIT)},
    {"gatehouse_faults_injected_total",
     "Faults injected on purpose (route key fault), by route and kind (delay, abort).",
     GH_PROM_COUNTER, SERIES(GH_MT_FAULTS, fault_labels)},
};

static const gh_prom_family store_families[] = {
    {"gatehouse_redis_requests_total",
     "Rate-limit decisions asked of Redis, by result (ok, failed, fallbacks).", GH_PROM_COUNTER,
     SERIES(GH_MT_STORE, store_labels)},
    {"gatehouse_redis_roundtrip_seconds", "Time Redis took to decide, from sending to the answer.",
     GH_PROM_HISTOGRAM, HISTOGRAM(GH_MT_STORE, "store", GH_STORE_FAILED)},
};

static const gh_prom_family handshake_family = {
    "gatehouse_tls_handshakes_total",
    "TLS handshakes on the listeners, by result (ok: full, resumed: from a ticket, failed) and "
    "failure reason.",
    GH_PROM_COUNTER, SERIES(GH_MT_TLS, handshake_labels)};

static const gh_prom_family websocket_family = {
    "gatehouse_websocket_sessions_total",
    "WebSocket sessions ended, by route and close code (1006: ended without a close frame).",
    GH_PROM_COUNTER, SERIES(GH_MT_WEBSOCKET, websocket_labels)};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Requests in flight per upstream, counted by the states shared across workers and reloads. */
static void upstream_in_flight(scrape *s, const gh_config *cfg)
{
    family(s, "gatehouse_upstream_in_flight", "Requests in flight, by upstream (all workers).",
           GH_PROM_GAUGE);
    for (size_t i = 0; i < cfg->nupstreams; i++)
        if (cfg->upstreams[i].state)
            sample(s, gh_prom_uint(atomic_load(&cfg->upstreams[i].state->inflight)), 1, "upstream",
                   cfg->upstreams[i].name);
}

/* Requests in flight per endpoint: what least_request and bounded load balance by. */
static void endpoint_in_flight(scrape *s, const gh_config *cfg)
{
    family(s, "gatehouse_upstream_endpoint_in_flight",
           "Requests in flight, by upstream and endpoint (all workers).", GH_PROM_GAUGE);
    for (size_t i = 0; i < cfg->nupstreams; i++) {
        const gh_upstream_conf *u = &cfg->upstreams[i];
        for (size_t j = 0; j < u->nendpoints; j++)
            if (u->endpoints[j].state)
                sample(s, gh_prom_uint(atomic_load(&u->endpoints[j].state->inflight)), 2,
                       "upstream", u->name, "endpoint", u->endpoints[j].label);
    }
}

/* Each endpoint's state: found down by active checks (healthy 0; unknown counts as healthy,
 * since traffic goes there), taken out by passive ejection, and the checks made. */
static void upstream_endpoints(scrape *s, const gh_config *cfg)
{
    family(s, "gatehouse_upstream_endpoint_healthy",
           "Whether active health checks let the endpoint take traffic (0: found down; 1: up, or "
           "not checked).",
           GH_PROM_GAUGE);
    for (size_t i = 0; i < cfg->nupstreams; i++)
        for (size_t j = 0; cfg->upstreams[i].states && j < cfg->upstreams[i].nendpoints; j++)
            sample(s, gh_prom_uint(atomic_load(&cfg->upstreams[i].states[j]->health) !=
                                   GH_HEALTH_DOWN),
                   2, "upstream", cfg->upstreams[i].name, "endpoint",
                   cfg->upstreams[i].endpoints[j].label);
    family(s, "gatehouse_upstream_endpoint_ejected",
           "Whether passive outlier detection has the endpoint out of rotation now.",
           GH_PROM_GAUGE);
    uint64_t now = gh_now_us();
    for (size_t i = 0; i < cfg->nupstreams; i++)
        for (size_t j = 0; cfg->upstreams[i].states && j < cfg->upstreams[i].nendpoints; j++)
            sample(s, gh_prom_uint(atomic_load(&cfg->upstreams[i].states[j]->ejected_until_us) >
                                   now),
                   2, "upstream", cfg->upstreams[i].name, "endpoint",
                   cfg->upstreams[i].endpoints[j].label);
}

/* Active checks of the upstreams that have them, by endpoint: results and time taken. */
static void health_checks(scrape *s, const gh_config *cfg)
{
    family(s, "gatehouse_upstream_health_checks_total",
           "Active health checks, by upstream, endpoint and result.", GH_PROM_COUNTER);
    for (size_t i = 0; i < cfg->nupstreams; i++) {
        const gh_upstream_conf *u = &cfg->upstreams[i];
        for (size_t j = 0; u->health.kind != GH_HC_NONE && u->states && j < u->nendpoints; j++) {
            const char *ep = u->endpoints[j].label;
            sample(s, gh_prom_uint(atomic_load(&u->states[j]->checks_passed)), 3, "upstream",
                   u->name, "endpoint", ep, "result", "success");
            sample(s, gh_prom_uint(atomic_load(&u->states[j]->checks_failed)), 3, "upstream",
                   u->name, "endpoint", ep, "result", "failure");
        }
    }
    family(s, "gatehouse_upstream_health_check_duration_seconds",
           "Time active health checks took, by upstream and endpoint.", GH_PROM_SUMMARY);
    for (size_t i = 0; i < cfg->nupstreams; i++) {
        const gh_upstream_conf *u = &cfg->upstreams[i];
        for (size_t j = 0; u->health.kind != GH_HC_NONE && u->states && j < u->nendpoints; j++) {
            const gh_endpoint_state *e = u->states[j];
            const char *ep = u->endpoints[j].label;
            sample(s, gh_prom_fixed((double)atomic_load(&e->check_us_total) / 1e6, 6), 2,
                   "upstream", u->name, "endpoint", ep);
            suffixed(s, "_sum");
            sample(s, gh_prom_uint(atomic_load(&e->checks_passed) + atomic_load(&e->checks_failed)),
                   2, "upstream", u->name, "endpoint", ep);
            suffixed(s, "_count");
        }
    }
}

/* The Redis store: whether it is reachable, decisions and fallbacks, round-trip times. */
static void redis_store(scrape *s, gh_runtime *rt, const gh_config *cfg)
{
    if (!cfg->redis)
        return;
    family(s, "gatehouse_redis_up", "Whether the rate-limit store answers (1), or not (0).",
           GH_PROM_GAUGE);
    sample(s, gh_prom_uint(atomic_load(&rt->shared.redis_up) == 1), 0);
    add_families(s, store_families, COUNT_OF(store_families));
}

/* Remote key sets of the providers in force: fetch attempts, keys held, and their age. */
static void key_sources(scrape *s, const gh_config *cfg)
{
    family(s, "gatehouse_jwks_fetches_total",
           "Key set fetch attempts, by provider and result (declined: a refetch asked for within "
           "min_refresh_interval).",
           GH_PROM_COUNTER);
    for (size_t i = 0; i < cfg->njwt_providers; i++) {
        const gh_key_source *src = cfg->jwt_providers[i].source;
        const char *name = cfg->jwt_providers[i].name;
        if (!src)
            continue;
        sample(s, gh_prom_uint(atomic_load(&src->fetch_ok)), 2, "provider", name, "result", "ok");
        sample(s, gh_prom_uint(atomic_load(&src->fetch_failed)), 2, "provider", name, "result",
               "failed");
        sample(s, gh_prom_uint(atomic_load(&src->fetch_declined)), 2, "provider", name, "result",
               "declined");
    }
    family(s, "gatehouse_jwks_keys", "Signature keys held, by provider (0: requests get 503).",
           GH_PROM_GAUGE);
    for (size_t i = 0; i < cfg->njwt_providers; i++)
        if (cfg->jwt_providers[i].source)
            sample(s, gh_prom_uint(gh_key_source_key_count(cfg->jwt_providers[i].source)), 1,
                   "provider", cfg->jwt_providers[i].name);
    family(s, "gatehouse_jwks_age_seconds",
           "Time since the key set was last fetched successfully, by provider.", GH_PROM_GAUGE);
    int64_t now = gh_monotonic_ms();
    for (size_t i = 0; i < cfg->njwt_providers; i++) {
        const gh_key_source *src = cfg->jwt_providers[i].source;
        int64_t ok_at = src ? atomic_load(&src->last_success_ms) : -1;
        if (ok_at >= 0)
            sample(s, gh_prom_fixed((double)(now - ok_at) / 1000.0, 3), 1, "provider",
                   cfg->jwt_providers[i].name);
    }
}

/* How long each listener certificate in force has left. */
static void certificates(scrape *s, const gh_config *cfg)
{
    family(s, "gatehouse_tls_certificate_expiry_days",
           "Days until a listener's certificate expires (negative: expired).", GH_PROM_GAUGE);
    time_t now = time(NULL);
    for (size_t i = 0; i < cfg->nlisteners; i++) {
        const gh_tls_server *t = cfg->listeners[i].tls;
        for (size_t k = 0; t && k < gh_tls_server_count(t); k++)
            sample(s, gh_prom_fixed(difftime(gh_tls_server_cert_not_after(t, k), now) / 86400.0, 2),
                   2, "listener", cfg->listeners[i].address, "certificate",
                   gh_tls_server_cert_label(t, k));
    }
}

/* What the workers count outside their series tables, summed, and the access log rings. */
typedef struct {
    long long open, ws_open;
    unsigned long long refusals[GH_R__COUNT], dropped, ws_frames[2], ws_bytes[2];
} worker_totals;

static void sum_workers(gh_runtime *rt, const gh_metrics **metrics, worker_totals *t)
{
    for (int i = 0; i < rt->nworkers; i++) {
        const gh_metrics *m = &rt->workers[i].svc.metrics;
        metrics[i] = m;
        t->open += (long long)atomic_load_explicit(&m->open_connections, memory_order_relaxed);
        t->ws_open += (long long)atomic_load_explicit(&m->ws_open, memory_order_relaxed);
        for (int d = 0; d < 2; d++) {
            t->ws_frames[d] += atomic_load_explicit(&m->ws_frames[d], memory_order_relaxed);
            t->ws_bytes[d] += atomic_load_explicit(&m->ws_bytes[d], memory_order_relaxed);
        }
        for (int r = 0; r < GH_R__COUNT; r++)
            t->refusals[r] += atomic_load_explicit(&m->refusals[r], memory_order_relaxed);
        if (rt->logger.rings)
            t->dropped += atomic_load(&rt->logger.rings[i]->dropped);
    }
}

/* The security stream: lines written by action (every producer's), lines dropped. */
static void security_events(scrape *s, gh_runtime *rt)
{
    family(s, "gatehouse_security_events_total", "Security events written, by event.action.",
           GH_PROM_COUNTER);
    size_t producers = rt->sec_streams ? rt->sec_logger.nrings : 0;
    for (int a = GH_SEC_NONE + 1; a < GH_SEC__COUNT; a++) {
        unsigned long long n = 0;
        for (size_t i = 0; i < producers; i++)
            n += atomic_load_explicit(&rt->sec_streams[i].written[a], memory_order_relaxed);
        if (n)
            sample(s, gh_prom_uint(n), 1, "action", gh_sec_action_name((gh_sec_action)a));
    }
    unsigned long long cut = 0, too_long = 0;
    for (size_t i = 0; i < producers; i++) {
        cut += atomic_load_explicit(&rt->sec_streams[i].cut, memory_order_relaxed);
        too_long += atomic_load_explicit(&rt->sec_streams[i].too_long, memory_order_relaxed);
    }
    family(s, "gatehouse_security_events_dropped_total",
           "Security event lines dropped (the writer behind, a destination that refused them, "
           "or a line that did not fit).",
           GH_PROM_COUNTER);
    sample(s, gh_prom_uint((producers ? rt->sec_sink.ops->dropped(rt->sec_sink.ctx) : 0) + too_long),
           0);
    family(s, "gatehouse_security_events_cut_total",
           "Security event lines written with their free-text fields cut to fit 4 KiB.",
           GH_PROM_COUNTER);
    sample(s, gh_prom_uint(cut), 0);
}

/* The span exporter: spans the collector took, spans lost and why. */
static void trace_spans(scrape *s, gh_runtime *rt)
{
    family(s, "gatehouse_trace_spans_exported_total", "Spans the OTLP collector accepted.",
           GH_PROM_COUNTER);
    sample(s, gh_prom_uint(atomic_load(&rt->spans.sent)), 0);
    family(s, "gatehouse_trace_spans_dropped_total",
           "Spans lost, by reason (queue_full: a worker's queue was full; export_failed: the "
           "collector did not take their batch).", GH_PROM_COUNTER);
    sample(s, gh_prom_uint(gh_http_sink_queue_dropped(&rt->spans)), 1, "reason", "queue_full");
    sample(s, gh_prom_uint(atomic_load(&rt->spans.failed)), 1, "reason", "export_failed");
    family(s, "gatehouse_trace_export_batches_total", "Span batches the OTLP collector accepted.",
           GH_PROM_COUNTER);
    sample(s, gh_prom_uint(atomic_load(&rt->spans.posted)), 0);
}

/* The anomaly detectors: detections by detector and mode (the table the configuration in force
 * uses; a reload that keeps max_clients keeps its counts). */
static void anomaly(scrape *s, const gh_config *cfg)
{
    family(s, "gatehouse_anomaly_detections_total",
           "Anomalies detected, by detector and mode (one per client and window).",
           GH_PROM_COUNTER);
    const gh_anom_table *t = cfg->anomaly.table;
    for (unsigned d = 0; t && d < GH_ANOM_DETECTORS; d++)
        for (unsigned m = GH_DETECT_LOG; m < GH_ANOM_MODES; m++) {
            unsigned long long n = atomic_load_explicit(&t->detections[d][m], memory_order_relaxed);
            if (n)
                sample(s, gh_prom_uint(n), 2, "detector", gh_anomaly_detector_name(d), "mode",
                       gh_anomaly_mode_name(m));
        }
}

/* The ban table: bans in force, bans imposed by detector, requests refused for one, bans the
 * full table could not record, and failed exchanges with the shared store. */
static void bans(scrape *s, gh_runtime *rt)
{
    gh_ban_table *t = &rt->shared.bans;
    family(s, "gatehouse_bans_active", "Client bans in force.", GH_PROM_GAUGE);
    sample(s, gh_prom_uint(atomic_load(&t->active)), 0);
    family(s, "gatehouse_bans_total", "Bans imposed (repeat strikes included), by detector.",
           GH_PROM_COUNTER);
    unsigned long long counts[GH_BAN_DETECTORS + 1];
    size_t n = gh_bans_detector_counts(t, s->ban_detectors, counts, GH_BAN_DETECTORS + 1);
    for (size_t i = 0; i < n; i++)
        sample(s, gh_prom_uint(counts[i]), 1, "detector", s->ban_detectors[i]);
    family(s, "gatehouse_ban_refusals_total", "Requests refused because their client is banned.",
           GH_PROM_COUNTER);
    sample(s, gh_prom_uint(atomic_load(&t->refusals)), 0);
    family(s, "gatehouse_bans_not_recorded_total",
           "Bans not recorded: the table was full of active bans (bans.max_entries).",
           GH_PROM_COUNTER);
    sample(s, gh_prom_uint(atomic_load(&t->full)), 0);
    family(s, "gatehouse_bans_store_failures_total",
           "Failed exchanges with Redis while sharing bans (local bans still enforced).",
           GH_PROM_COUNTER);
    sample(s, gh_prom_uint(atomic_load(&t->store_failures)), 0);
}

static void process(scrape *s, gh_runtime *rt, const gh_config *cfg, const worker_totals *t)
{
    family(s, "gatehouse_open_connections", "Open client connections.", GH_PROM_GAUGE);
    sample(s, gh_prom_int(t->open), 0);
    family(s, "gatehouse_websocket_sessions_active", "WebSocket sessions open.", GH_PROM_GAUGE);
    sample(s, gh_prom_int(t->ws_open), 0);
    family(s, "gatehouse_websocket_frames_total",
           "Frames relayed by ended WebSocket sessions, by direction (client: from clients).",
           GH_PROM_COUNTER);
    sample(s, gh_prom_uint(t->ws_frames[0]), 1, "direction", "client");
    sample(s, gh_prom_uint(t->ws_frames[1]), 1, "direction", "upstream");
    family(s, "gatehouse_websocket_bytes_total",
           "Frame bytes relayed by ended WebSocket sessions, by direction.", GH_PROM_COUNTER);
    sample(s, gh_prom_uint(t->ws_bytes[0]), 1, "direction", "client");
    sample(s, gh_prom_uint(t->ws_bytes[1]), 1, "direction", "upstream");
    family(s, "gatehouse_refusals_total", "Requests refused by the gateway, by reason.",
           GH_PROM_COUNTER);
    for (int r = GH_R_AGAIN + 1; r < GH_R__COUNT; r++)
        if (t->refusals[r])
            sample(s, gh_prom_uint(t->refusals[r]), 1, "reason", gh_reason_slug((gh_reason)r));
    family(s, "gatehouse_reloads_total", "Configuration reloads, by result.", GH_PROM_COUNTER);
    sample(s, gh_prom_uint(atomic_load(&rt->reloads_ok)), 1, "result", "success");
    sample(s, gh_prom_uint(atomic_load(&rt->reloads_failed)), 1, "result", "failure");
    family(s, "gatehouse_dns_resolutions_total",
           "Re-resolutions of the names in upstream endpoints, by outcome.", GH_PROM_COUNTER);
    sample(s, gh_prom_uint(atomic_load(&rt->dns.changed)), 1, "result", "changed");
    sample(s, gh_prom_uint(atomic_load(&rt->dns.unchanged)), 1, "result", "unchanged");
    sample(s, gh_prom_uint(atomic_load(&rt->dns.failed)), 1, "result", "failed");
    family(s, "gatehouse_access_log_dropped_total", "Access log lines dropped (log thread behind, or the file refused them).",
           GH_PROM_COUNTER);
    sample(s, gh_prom_uint(t->dropped), 0);
    security_events(s, rt);
    trace_spans(s, rt);
    anomaly(s, cfg);
    bans(s, rt);
    family(s, "gatehouse_config_info", "The configuration in force.", GH_PROM_GAUGE);
    sample(s, gh_prom_uint(1), 1, "hash", cfg->hash);
    family(s, "gatehouse_build_info", "The running build.", GH_PROM_GAUGE);
    sample(s, gh_prom_uint(1), 1, "version", GH_VERSION);
}

/* Every family, in the order /metrics has always listed them. */
static void gather(scrape *s, gh_runtime *rt, const gh_config *cfg, const worker_totals *t)
{
    add_families(s, request_families, COUNT_OF(request_families));
    upstream_in_flight(s, cfg);
    endpoint_in_flight(s, cfg);
    upstream_endpoints(s, cfg);
    health_checks(s, cfg);
    add_families(s, decision_families, COUNT_OF(decision_families));
    redis_store(s, rt, cfg);
    key_sources(s, cfg);
    add_family(s, &handshake_family);
    add_family(s, &websocket_family);
    certificates(s, cfg);
    process(s, rt, cfg, t);
    for (size_t i = 0; i < s->nfam && !s->failed; i++) {
        size_t end = i + 1 < s->nfam ? s->first[i + 1] : s->nsamples;
        s->fam[i].samples = s->samples + s->first[i];
        s->fam[i].nsamples = end - s->first[i];
    }
}

char *gh_collect_metrics(gh_runtime *rt, size_t *len)
{
    scrape s = {0};
    worker_totals totals = {0};
    const gh_metrics **metrics =
        calloc(rt->nworkers > 0 ? (size_t)rt->nworkers : 1, sizeof(*metrics));
    if (!metrics)
        return NULL;
    sum_workers(rt, metrics, &totals);
    gh_config *cfg = gh_runtime_config(rt);
    gather(&s, rt, cfg, &totals);
    char *text =
        s.failed ? NULL : gh_prometheus_render(s.fam, s.nfam, metrics, (size_t)rt->nworkers, len);
    gh_config_release(cfg);
    free(s.samples);
    free(metrics);
    return text;
}
