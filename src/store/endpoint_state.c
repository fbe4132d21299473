#include <stddef.h>

#include "store/endpoint_state.h"

bool gh_endpoint_available(const gh_endpoint_state *e, uint64_t now_us)
{
    if (atomic_load_explicit(&e->health, memory_order_relaxed) == GH_HEALTH_DOWN)
        return false;
    return atomic_load_explicit(&e->ejected_until_us, memory_order_relaxed) <= now_us;
}

void gh_endpoint_succeeded(gh_endpoint_state *e)
{
    if (atomic_load_explicit(&e->fails, memory_order_relaxed) != 0)
        atomic_store_explicit(&e->fails, 0, memory_order_relaxed);
}

static size_t ejected_now(gh_endpoint_state *const *group, size_t n, uint64_t now_us)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        count += atomic_load(&group[i]->ejected_until_us) > now_us;
    return count;
}

/* An endpoint back in rotation for long enough is forgiven one earlier ejection per base
 * time, so that one bad minute a week ago does not make the next ejection last an hour. */
static unsigned ejections_remembered(gh_endpoint_state *e, const gh_outlier_conf *o,
                                     uint64_t now_us)
{
    unsigned n = atomic_load(&e->ejections);
    uint64_t back = atomic_load(&e->back_since_us);
    if (n == 0 || back == 0 || now_us <= back || o->base_ejection_ms == 0)
        return n;
    uint64_t forgiven = (now_us - back) / (o->base_ejection_ms * 1000);
    return forgiven >= n ? 0 : n - (unsigned)forgiven;
}

uint64_t gh_endpoint_failed(gh_endpoint_state *e, gh_endpoint_state *const *group, size_t n,
                            pthread_mutex_t *mu, const gh_outlier_conf *o, uint64_t now_us)
{
    unsigned streak = atomic_fetch_add(&e->fails, 1) + 1;
    if (o->consecutive_failures == 0 || streak < o->consecutive_failures)
        return 0;
    uint64_t ms = 0;
    pthread_mutex_lock(mu);
    size_t allowed = n * o->max_ejection_percent / 100;
    if (atomic_load(&e->ejected_until_us) <= now_us && ejected_now(group, n, now_us) < allowed) {
        unsigned times = ejections_remembered(e, o, now_us) + 1;
        ms = o->base_ejection_ms * times;
        if (ms > o->max_ejection_ms)
            ms = o->max_ejection_ms;
        atomic_store(&e->ejections, times);
        atomic_store(&e->ejected_until_us, now_us + ms * 1000);
        atomic_store(&e->back_since_us, now_us + ms * 1000);
    }
    atomic_store(&e->fails, 0); /* ejected, or refused: a new streak decides again */
    pthread_mutex_unlock(mu);
    return ms;
}

bool gh_endpoint_checked(gh_endpoint_state *e, gh_health h, uint64_t now_us)
{
    int was = atomic_exchange(&e->health, (int)h);
    if (h == GH_HEALTH_UP) {
        if (atomic_load(&e->ejected_until_us) > now_us) {
            atomic_store(&e->ejected_until_us, 0);
            atomic_store(&e->back_since_us, now_us);
        }
        atomic_store(&e->fails, 0);
        if (was == GH_HEALTH_DOWN)
            atomic_store(&e->back_since_us, now_us);
    }
    return was != (int)h;
}
