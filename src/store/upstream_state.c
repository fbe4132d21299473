#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "store/upstream_state.h"

static bool state_matches(const void *e, const void *name)
{
    return strcmp(((const gh_upstream_state *)e)->name, name) == 0;
}

static bool endpoint_matches(const void *e, const void *url)
{
    return strcmp(((const gh_endpoint_state *)e)->key, url) == 0;
}

static void *endpoint_new(const void *key, void *ctx)
{
    (void)ctx;
    size_t len = strlen(key);
    gh_endpoint_state *e = calloc(1, sizeof(*e) + len + 1);
    if (e)
        memcpy(e->key, key, len + 1);
    return e;
}

static const gh_keep_kind endpoint_kind = {
    .next_at = offsetof(gh_endpoint_state, next),
    .users_at = offsetof(gh_endpoint_state, uses),
    .matches = endpoint_matches,
    .make = endpoint_new,
    .drop = free,
};

static void state_free(void *e)
{
    gh_upstream_state *s = e;
    gh_keep_free(&s->endpoints);
    pthread_mutex_destroy(&s->eject_mu);
    free(s);
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
        pthread_mutex_init(&s->eject_mu, NULL);
        gh_keep_init(&s->endpoints, &endpoint_kind);
    }
    return s;
}

static const gh_keep_kind state_kind = {
    .next_at = offsetof(gh_upstream_state, next),
    .users_at = GH_KEEP_UNCOUNTED,
    .matches = state_matches,
    .make = state_new,
    .drop = state_free,
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

gh_endpoint_state *gh_endpoint_state_get(gh_upstream_state *s, const char *key)
{
    return gh_keep_get(&s->endpoints, key, NULL);
}

/* Starts a new second's counts (one thread wins the turn; a count racing with it may land in
 * either second, which a budget can afford). */
static void budget_roll(gh_upstream_state *s, uint64_t now_us)
{
    unsigned long long now_s = now_us / 1000000;
    unsigned long long was = atomic_load_explicit(&s->budget_second, memory_order_relaxed);
    if (was == now_s || !atomic_compare_exchange_strong(&s->budget_second, &was, now_s))
        return;
    unsigned last = atomic_exchange(&s->budget_requests, 0);
    atomic_store(&s->budget_requests_prev, was + 1 == now_s ? last : 0);
    atomic_store(&s->budget_retries, 0);
}

void gh_upstream_budget_request(gh_upstream_state *s, uint64_t now_us)
{
    budget_roll(s, now_us);
    atomic_fetch_add_explicit(&s->budget_requests, 1, memory_order_relaxed);
}

bool gh_upstream_retry_take(gh_upstream_state *s, uint32_t percent, uint32_t min, uint64_t now_us)
{
    budget_roll(s, now_us);
    uint64_t prev = atomic_load_explicit(&s->budget_requests_prev, memory_order_relaxed);
    uint64_t cur = atomic_load_explicit(&s->budget_requests, memory_order_relaxed);
    uint64_t allowed = (prev > cur ? prev : cur) * percent / 100 + min;
    unsigned taken = atomic_load_explicit(&s->budget_retries, memory_order_relaxed);
    do {
        if (taken >= allowed)
            return false;
    } while (!atomic_compare_exchange_weak_explicit(&s->budget_retries, &taken, taken + 1,
                                                    memory_order_acq_rel, memory_order_relaxed));
    return true;
}

void gh_endpoint_state_in_force(gh_endpoint_state *e, bool in_force)
{
    atomic_store(&e->in_force, in_force);
}

void gh_endpoint_state_put(gh_upstream_state *s, gh_endpoint_state *e)
{
    gh_keep_put(&s->endpoints, e);
}

size_t gh_endpoint_state_addresses(gh_upstream_state *s, const char *url, char (*out)[48],
                                   size_t max)
{
    size_t n = 0, len = strlen(url);
    pthread_mutex_lock(&s->endpoints.mu);
    for (gh_endpoint_state *e = s->endpoints.head; e && n < max; e = e->next)
        if (atomic_load(&e->in_force) && strncmp(e->key, url, len) == 0 && e->key[len] == '@' &&
            strlen(e->key + len + 1) < sizeof(out[0]))
            strcpy(out[n++], e->key + len + 1);
    pthread_mutex_unlock(&s->endpoints.mu);
    return n;
}
