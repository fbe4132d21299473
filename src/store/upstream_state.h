/* Upstream state that outlives a configuration snapshot: the in-flight count that enforces
 * max_concurrency across every worker, and the round-robin cursor. A reload that keeps an
 * upstream's name keeps its state, so a limit holds across reloads. */
#ifndef GH_STORE_UPSTREAM_STATE_H
#define GH_STORE_UPSTREAM_STATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/keep.h"

struct gh_upstream_state {
    void *next; /* in the registry */
    atomic_uint inflight;
    atomic_uint cursor;
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

/* Takes a slot if fewer than max are in flight. */
bool gh_upstream_acquire(gh_upstream_state *s, uint32_t max);
void gh_upstream_release(gh_upstream_state *s);

#endif
