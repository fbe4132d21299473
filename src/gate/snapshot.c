#include <stdlib.h>

#include "config/config.h"
#include "gate/snapshot.h"

static gh_worker_snapshot *snapshot_new(gh_config *cfg)
{
    gh_worker_snapshot *s = calloc(1, sizeof(*s));
    if (s)
        s->config = cfg;
    return s;
}

static void snapshot_free(gh_worker_snapshot *s)
{
    gh_config_release(s->config);
    free(s);
}

bool gh_snapshots_init(gh_snapshots *s, gh_config *cfg)
{
    *s = (gh_snapshots){cfg, snapshot_new(cfg), NULL};
    return s->current != NULL;
}

bool gh_snapshots_swap(gh_snapshots *s, gh_config *cfg)
{
    gh_worker_snapshot *fresh = snapshot_new(cfg);
    if (!fresh) {
        gh_config_release(cfg); /* keep serving on the old snapshot */
        return false;
    }
    gh_worker_snapshot *old = s->current;
    s->current = fresh;
    s->config = cfg;
    if (old->requests) {
        old->next = s->retired;
        s->retired = old;
    } else {
        snapshot_free(old);
    }
    return true;
}

gh_worker_snapshot *gh_snapshots_get(gh_snapshots *s)
{
    s->current->requests++;
    return s->current;
}

bool gh_snapshots_put(gh_snapshots *s, gh_worker_snapshot *snap)
{
    if (--snap->requests || snap == s->current)
        return false;
    for (gh_worker_snapshot **p = &s->retired; *p; p = &(*p)->next) {
        if (*p == snap) {
            *p = snap->next;
            break;
        }
    }
    snapshot_free(snap);
    return true;
}

void gh_snapshots_free(gh_snapshots *s)
{
    while (s->retired) {
        gh_worker_snapshot *r = s->retired;
        s->retired = r->next;
        snapshot_free(r);
    }
    if (s->current)
        snapshot_free(s->current);
    *s = (gh_snapshots){0};
}
