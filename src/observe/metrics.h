/* Per-worker counters, each written by its worker alone and summed by the admin thread when
 * /metrics is scraped. A counter is a relaxed atomic with a single writer: no lock, no shared
 * cache line on the request path. */
#ifndef GH_OBSERVE_METRICS_H
#define GH_OBSERVE_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "core/reason.h"
#include "observe/top_clients.h"

#define GH_METRIC_KEY 65
#define GH_METRIC_SERIES 2048 /* series per table per worker; beyond, folded into "(other)" */
#define GH_HIST_BUCKETS 14

typedef enum {
    GH_UP_SUCCESS,
    GH_UP_CONNECT_FAILED,
    GH_UP_RESET,
    GH_UP_TIMEOUT,
    GH_UP_BAD_RESPONSE,
    GH_UP_AT_CAPACITY,
    GH_UP_TLS_FAILED,
    GH_UP__COUNT,
    /* Events of an upstream, counted in the same table (not attempts): */
    GH_UP_RETRY = GH_UP__COUNT, /* a request tried again on another endpoint */
    GH_UP_RETRY_DENIED,         /* a retry the budget refused */
    GH_UP_EJECTED,              /* an endpoint taken out of rotation by its failures */
    GH_UP_NO_ENDPOINT,          /* no endpoint available (every one down, no panic) */
    GH_UP__EVENTS
} gh_upstream_result;

/* What a route's authorization rules decided (stage authorize). */
typedef enum {
    GH_AUTHZ_NONE,
    GH_AUTHZ_ALLOW,
    GH_AUTHZ_DENY,
    GH_AUTHZ_SHADOW_DENY, /* would have been refused: mode shadow */
} gh_authz_result;

/* What one rate limit decided for one request (stage rate_limit). */
typedef enum {
    GH_LIMIT_ALLOWED,
    GH_LIMIT_LIMITED,
    GH_LIMIT_QUOTA_EXCEEDED,
    GH_LIMIT_SHADOW_LIMITED, /* would have been refused: mode shadow */
} gh_limit_result;

/* External policy calls and decision cache lookups (stage policy). */
typedef enum {
    GH_POLICY_ALLOW,
    GH_POLICY_DENY,
    GH_POLICY_ERROR,
    GH_POLICY_CACHE_HIT,
    GH_POLICY_CACHE_MISS,
} gh_policy_result;

/* Rate-limit store round trips and fallbacks. */
typedef enum {
    GH_STORE_OK,
    GH_STORE_FAILED,
    GH_STORE_FALLBACK_LOCAL,
    GH_STORE_FALLBACK_DENY,
    GH_STORE_FALLBACK_ALLOW,
} gh_store_result;

/* A fault injected on purpose (stage fault). */
typedef enum {
    GH_FAULT_DELAY, /* the request was held before going on */
    GH_FAULT_ABORT, /* the gateway answered with the fault's status */
} gh_fault_kind;

typedef struct gh_series {
    char key[GH_METRIC_KEY];
    int code;
    atomic_ullong count;
    atomic_ullong hist[GH_HIST_BUCKETS]; /* requests table only */
    atomic_ullong sum_us;
} gh_series;

typedef struct gh_series_table {
    gh_series *items;
    atomic_size_t n;                      /* published count: readers see items[0..n) */
    uint16_t index[2 * GH_METRIC_SERIES]; /* writer-private open addressing: item + 1 */
} gh_series_table;

typedef struct gh_metrics {
    gh_series_table requests; /* key: route, code: status */
    gh_series_table upstream; /* key: upstream, code: gh_upstream_result */
    gh_series_table auth;     /* key: identity provider, code: gh_jws_status (0: accepted) */
    gh_series_table authz;    /* key: route, code: gh_authz_result */
    gh_series_table limits;   /* key: rate limit, code: gh_limit_result */
    gh_series_table policy;   /* key: policy, code: gh_policy_result (calls timed) */
    gh_series_table store;    /* key: "redis", code: gh_store_result (round trips timed) */
    gh_series_table tls;      /* key: "ok", "resumed", or why a TLS handshake failed */
    gh_series_table faults;   /* key: route, code: gh_fault_kind */
    gh_series_table websocket; /* key: route, code: the session's close code (ended sessions) */
    atomic_ullong refusals[GH_R__COUNT];
    atomic_ullong open_connections; /* read as signed: decrements wrap */
    atomic_ullong ws_open;          /* WebSocket sessions open; read as signed */
    atomic_ullong ws_frames[2], ws_bytes[2]; /* of ended sessions: [0] from clients, [1] upstreams */
    gh_top_clients clients; /* the busiest clients (the dashboard's top clients) */
} gh_metrics;

/* The series tables of gh_metrics by name, for a reader that picks one (the renderer). */
typedef enum {
    GH_MT_REQUESTS,
    GH_MT_UPSTREAM,
    GH_MT_AUTH,
    GH_MT_AUTHZ,
    GH_MT_LIMITS,
    GH_MT_POLICY,
    GH_MT_STORE,
    GH_MT_TLS,
    GH_MT_FAULTS,
    GH_MT_WEBSOCKET,
} gh_metrics_table;

const gh_series_table *gh_metrics_table_of(const gh_metrics *m, gh_metrics_table t);

int gh_metrics_init(gh_metrics *m);
void gh_metrics_free(gh_metrics *m);

/* Writer side (the owning worker). */
void gh_metrics_request(gh_metrics *m, const char *route, int status, uint64_t duration_us);
void gh_metrics_upstream(gh_metrics *m, const char *upstream, gh_upstream_result r);
void gh_metrics_refusal(gh_metrics *m, gh_reason r);
void gh_metrics_auth(gh_metrics *m, const char *provider, int status);
void gh_metrics_authz(gh_metrics *m, const char *route, gh_authz_result r);
void gh_metrics_limit(gh_metrics *m, const char *limit, gh_limit_result r);
/* A policy call that took duration_us (calls), or a cache lookup (duration 0, not timed). */
void gh_metrics_policy(gh_metrics *m, const char *policy, gh_policy_result r, uint64_t duration_us);
const char *gh_policy_result_name(gh_policy_result r);
void gh_metrics_store(gh_metrics *m, gh_store_result r, uint64_t duration_us);
/* A downstream TLS handshake: completed in full (outcome NULL), resumed ("resumed"), or failed
 * for the reason outcome names. */
void gh_metrics_handshake(gh_metrics *m, const char *outcome);
const char *gh_store_result_name(gh_store_result r);
void gh_metrics_fault(gh_metrics *m, const char *route, gh_fault_kind k);
/* "delay", "abort". */
const char *gh_fault_kind_name(gh_fault_kind k);
/* A WebSocket session on route ended with close_code (1006: without a close frame), having
 * carried these frames and bytes from the client (in) and from the upstream (out). */
void gh_metrics_websocket(gh_metrics *m, const char *route, unsigned close_code, uint64_t frames_in,
                          uint64_t frames_out, uint64_t bytes_in, uint64_t bytes_out);
static inline void gh_metric_add(atomic_ullong *c, unsigned long long n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

const char *gh_upstream_result_name(gh_upstream_result r);
const char *gh_limit_result_name(gh_limit_result r);
/* "allow", "deny", "shadow_deny"; NULL for GH_AUTHZ_NONE. */
const char *gh_authz_result_name(gh_authz_result r);
/* Upper bounds of the latency buckets, in seconds (the last bucket is +Inf). */
extern const double gh_hist_bounds[GH_HIST_BUCKETS - 1];

#endif
