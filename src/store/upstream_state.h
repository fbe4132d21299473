/* Upstream state that outlives a configuration snapshot: the in-flight count that enforces
 * max_concurrency across every worker, the round-robin cursor, the retries in flight that the
 * retry budget bounds, and each endpoint's state (store/endpoint_state.h). A reload that keeps
 * an upstream's name keeps its state, and an endpoint that stays keeps its health. */
#ifndef GH_STORE_UPSTREAM_STATE_H
#define GH_STORE_UPSTREAM_STATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/keep.h"
#include "store/endpoint_state.h"

struct gh_upstream_state {
    void *next; /* in the registry */
    atomic_uint inflight;
    atomic_uint cursor;
    /* The retry budget's window: requests and retries counted per second of loop time. */
    atomic_ullong budget_second;
    atomic_uint budget_requests_prev, budget_requests, budget_retries;
    pthread_mutex_t eject_mu; /* one ejection decision at a time (max_ejection_percent) */
    gh_keep endpoints;        /* gh_endpoint_state by key, while a snapshot names them */
    char name[];
};
typedef struct gh_upstream_state gh_upstream_state;

/* States live as long as the registry: a reload cannot tell whether a name will come back. */
typedef struct gh_upstream_registry {
    gh_keep keep;
} gh_upstream_registry;

void gh_upstream_registry_init(gh_upstream_registry *r);
void gh_upstream_registry_free(gh_upstream_registry *r);
/* The state for name, created on first use; NULL only when out of memory. */
gh_upstream_state *gh_upstream_state_get(gh_upstream_registry *r, const char *name);

/* The state of the endpoint with key in s, created on first use, and a use of it; NULL only
 * when out of memory. A snapshot takes a use of each of its endpoints' states and ends it as it
 * goes (gh_endpoint_state_put): the state of an endpoint that no snapshot names any more (a
 * reload removed it, DNS stopped giving its address) goes with the last. */
gh_endpoint_state *gh_endpoint_state_get(gh_upstream_state *s, const char *key);
void gh_endpoint_state_put(gh_upstream_state *s, gh_endpoint_state *e);
/* Whether the snapshot in force names e (set as a snapshot goes in force, for the one it
 * replaces first). */
void gh_endpoint_state_in_force(gh_endpoint_state *e, bool in_force);
/* The addresses the snapshot in force gives the name in url (its states' keys "url@address"),
 * as text, at most max: what a name that no longer resolves keeps at a reload. Snapshots that
 * only requests in flight still hold do not count: an address DNS took away stays away. */
size_t gh_endpoint_state_addresses(gh_upstream_state *s, const char *url, char (*out)[48],
                                   size_t max);

/* The retry budget (Finagle's, by the second): a request counts towards it as it starts; a
 * retry is taken while this second's retries are fewer than percent of the requests of this
 * second or the last, whichever is more, plus min. A burst of failures is retried in full; a
 * backend that fails everything sees at most 1 + percent/100 tries per request. */
void gh_upstream_budget_request(gh_upstream_state *s, uint64_t now_us);
bool gh_upstream_retry_take(gh_upstream_state *s, uint32_t percent, uint32_t min, uint64_t now_us);

/* Takes a slot if fewer than max are in flight. */
bool gh_upstream_acquire(gh_upstream_state *s, uint32_t max);
void gh_upstream_release(gh_upstream_state *s);

#endif
