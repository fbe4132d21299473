/* The configuration snapshots one worker serves: the current one, which new requests start on,
 * and retired ones that requests still run on. Requests count themselves here, on the worker,
 * instead of on the shared snapshot's atomic refcount: no cache line is shared between workers
 * on the request path. The worker holds each snapshot's one reference until its last request
 * ends. */
#ifndef GH_GATE_SNAPSHOT_H
#define GH_GATE_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config-t.h"

typedef struct gh_worker_snapshot {
    gh_config *config;
    size_t requests;
    struct gh_worker_snapshot *next; /* retired snapshots still in use */
} gh_worker_snapshot;

typedef struct gh_snapshots {
    gh_config *config; /* the snapshot new requests start on (= current->config) */
    gh_worker_snapshot *current;
    gh_worker_snapshot *retired;
} gh_snapshots;

/* Starts on cfg (one reference, handed over). False when memory ran out (cfg is then kept). */
bool gh_snapshots_init(gh_snapshots *s, gh_config *cfg);
/* Makes cfg (one reference, handed over) the snapshot new requests start on; the old one is
 * retired until its last request ends. False when memory ran out: cfg is released and the old
 * snapshot kept. */
bool gh_snapshots_swap(gh_snapshots *s, gh_config *cfg);
/* The snapshot a new request starts on, counted; give it back with gh_snapshots_put. */
gh_worker_snapshot *gh_snapshots_get(gh_snapshots *s);
/* True when that was the last request of a retired snapshot, which is now released (anything
 * that may hold its keys must be cleared). */
bool gh_snapshots_put(gh_snapshots *s, gh_worker_snapshot *snap);
/* Releases every snapshot (the worker ends; no request runs any more). */
void gh_snapshots_free(gh_snapshots *s);

#endif
