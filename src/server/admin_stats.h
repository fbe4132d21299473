/* GET /stats on the admin listener: what the dashboard (GET /) shows, as one JSON document.
 * Rates come from totals sampled once a second on the control loop into a small ring, so the
 * first answer after start already has them and nothing is kept per viewer. */
#ifndef GH_SERVER_ADMIN_STATS_H
#define GH_SERVER_ADMIN_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/json.h"
#include "core/reason.h"
#include "observe/metrics.h"
#include "server/admin_status.h"
#include "server/runtime.h"

#define GH_STATS_SAMPLES 16   /* seconds of totals kept: more than the window */
#define GH_STATS_WINDOW_S 10  /* rates are over about this many seconds */
#define GH_STATS_TOP 10       /* clients and routes listed */
#define GH_STATS_BANS 50      /* bans listed (GET /bans lists them all) */

/* Every worker's totals at one moment. */
typedef struct gh_stats_sample {
    uint64_t at_us; /* gh_now_us(); 0: the slot was never written */
    unsigned long long requests, refused;
    unsigned long long refusals[GH_R__COUNT];
    unsigned long long hist[GH_HIST_BUCKETS]; /* request latency buckets, every route */
} gh_stats_sample;

typedef struct gh_admin_stats {
    uv_timer_t timer;
    gh_runtime *rt;
    gh_stats_sample ring[GH_STATS_SAMPLES];
    unsigned next; /* the slot the next sample goes to */
    int started;
} gh_admin_stats;

/* Starts the sampling timer on loop; gh_admin_stats_stop closes it. */
int gh_admin_stats_start(gh_admin_stats *s, uv_loop_t *loop, gh_runtime *rt);
void gh_admin_stats_stop(gh_admin_stats *s);

/* The document: malloc'd (caller frees), its length in *len; NULL when out of memory. */
char *gh_admin_stats_json(gh_admin_stats *s, const gh_status_facts *f, size_t *len);

#endif
