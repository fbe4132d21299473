/* Re-resolution of the names in upstream endpoints. Every dns_refresh, each name an upstream's
 * endpoints use is asked again, on a thread of its own (a slow resolver never holds the control
 * loop, nor SIGTERM's drain, nor the exit: a lookup still running then is abandoned). When the addresses differ from those of the snapshot in force, `changed` runs (the
 * control thread loads the configuration again, as on SIGHUP), once for all the names that
 * changed together, and each address becomes an endpoint with its own state, pool and metrics.
 * A name that fails to resolve, or resolves to nothing, keeps the addresses it had: an outage
 * of DNS is not an outage of the upstream. */
#ifndef GH_SERVER_DNS_WATCH_H
#define GH_SERVER_DNS_WATCH_H

#include <stdatomic.h>
#include <uv.h>

#include "config/config-t.h"

/* Lookups made, by outcome, for the metrics. */
typedef struct gh_dns_counts {
    atomic_ullong changed, unchanged, failed;
} gh_dns_counts;

typedef struct gh_dns_watch gh_dns_watch;

/* counts: where lookups are counted (the runtime's: they outlive the watch). */
gh_dns_watch *gh_dns_watch_start(uv_loop_t *loop, gh_dns_counts *counts,
                                 void (*changed)(void *ctx), void *ctx);
/* Watches the names of cfg's endpoints against the addresses cfg has for them: names that
 * stay keep their schedule, new names are first asked one dns_refresh from now. */
void gh_dns_watch_set(gh_dns_watch *dw, const gh_config *cfg);
/* Stops every timer; a lookup in flight ends on its own and is ignored. */
void gh_dns_watch_stop(gh_dns_watch *dw);

#endif
