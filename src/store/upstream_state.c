#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "store/upstream_state.h"

static bool state_matches(const void *e, const void *name)
{
    return strcmp(((const gh_upstream_state *)e)->name, name) == 0;
}

static void *state_new(const void *key, void *ctx)
{
    (void)ctx;
    const char *name = key;
    size_t len = strlen(name);
    gh_upstream_state *s = calloc(1, sizeof(*s) + len + 1);
    if (s) {
        memcpy(s->name, name, len + 1);
        atomic_init(&s->inflight, 0);
        atomic_init(&s->cursor, 0);
    }
    return s;
}

static const gh_keep_kind state_kind = {
    .next_at = offsetof(gh_upstream_state, next),
    .users_at = GH_KEEP_UNCOUNTED,
    .matches = state_matches,
    .make = state_new,
    .drop = free,
};

void gh_upstream_registry_init(gh_upstream_registry *r)
{
    gh_keep_init(&r->keep, &state_kind);
}

void gh_upstream_registry_free(gh_upstream_registry *r)
{
    gh_keep_free(&r->keep);
}

gh_upstream_state *gh_upstream_state_get(gh_upstream_registry *r, const char *name)
{
    return gh_keep_get(&r->keep, name, NULL);
}

bool gh_upstream_acquire(gh_upstream_state *s, uint32_t max)
{
    unsigned cur = atomic_load_explicit(&s->inflight, memory_order_relaxed);
    do {
        if (cur >= max)
            return false;
    } while (!atomic_compare_exchange_weak_explicit(&s->inflight, &cur, cur + 1,
                                                    memory_order_acq_rel, memory_order_relaxed));
    return true;
}

void gh_upstream_release(gh_upstream_state *s)
{
    atomic_fetch_sub_explicit(&s->inflight, 1, memory_order_acq_rel);
}
