/* The state that outlives snapshots (config/config.h): made and freed in one place, so that the
 * runtime, the unit tests' gate and the fuzz harness hold the same registries. */
#include "config/config.h"

int gh_shared_init(gh_shared *s)
{
    gh_upstream_registry_init(&s->upstreams);
    gh_key_registry_init(&s->keys);
    gh_limit_registry_init(&s->limits);
    gh_anom_registry_init(&s->anomaly);
    if (gh_bans_init(&s->bans) != 0) {
        gh_anom_registry_free(&s->anomaly);
        gh_limit_registry_free(&s->limits);
        gh_key_registry_free(&s->keys);
        gh_upstream_registry_free(&s->upstreams);
        return -1;
    }
    /* the anomaly detectors in mode ban reach the ban table through the actions they own */
    s->anomaly.actions = (gh_detect_actions){&s->bans, gh_bans_impose_cb};
    atomic_init(&s->redis_up, -1);
    return 0;
}

void gh_shared_free(gh_shared *s)
{
    gh_upstream_registry_free(&s->upstreams);
    gh_key_registry_free(&s->keys);
    gh_limit_registry_free(&s->limits);
    gh_anom_registry_free(&s->anomaly);
    gh_bans_free(&s->bans);
}
