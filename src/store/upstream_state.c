#include <stdlib.h>
#include <string.h>

#include "store/upstream_state.h"

void gh_upstream_registry_init(gh_upstream_registry *r)
{
    pthread_mutex_init(&r->mu, NULL);
    r->head = NULL;
}

void gh_upstream_registry_free(gh_upstream_registry *r)
{
    gh_upstream_state *s = r->head;
    while (s) {
        gh_upstream_state *next = s->next;
        free(s);
        s = next;
    }
    r->head = NULL;
    pthread_mutex_destroy(&r->mu);
}

gh_upstream_state *gh_upstream_state_get(gh_upstream_registry *r, const char *name)
{
    pthread_mutex_lock(&r->mu);
    gh_upstream_state *s = r->head;
    while (s && strcmp(s->name, name) != 0)
        s = s->next;
    if (!s) {
        size_t len = strlen(name);
        s = calloc(1, sizeof(*s) + len + 1);
        if (s) {
            memcpy(s->name, name, len + 1);
            atomic_init(&s->inflight, 0);
            atomic_init(&s->cursor, 0);
            s->next = r->head;
            r->head = s;
        }
    }
    pthread_mutex_unlock(&r->mu);
    return s;
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
