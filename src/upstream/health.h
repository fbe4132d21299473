/* Active health checks of upstream endpoints (upstreams.<name>.health), made once per process
 * on the control thread's loop, so that the number of workers does not multiply the probes.
 * Each check's verdict goes into the endpoint's shared state (store/endpoint_state.h), which
 * every worker reads when it picks an endpoint and which a reload keeps for an endpoint that
 * stays; a change of verdict is an event (endpoint_unhealthy with the reason, endpoint_healthy). */
#ifndef GH_UPSTREAM_HEALTH_H
#define GH_UPSTREAM_HEALTH_H

#include <uv.h>

#include "config/config.h"

typedef struct gh_health_checker gh_health_checker;

/* A checker on loop with nothing to check yet; its handles never keep the loop running.
 * NULL when out of memory. */
gh_health_checker *gh_health_start(uv_loop_t *loop);

/* Checks the endpoints of cfg from now on (a reference is taken): an endpoint checked already
 * keeps its schedule and its streak, a new one is checked soon, and one that is gone (or whose
 * upstream no longer has health) stops being checked and goes back to unknown. */
void gh_health_update(gh_health_checker *hc, gh_config *cfg);

/* Aborts what is in flight, without verdicts; the loop must run to free the rest. */
void gh_health_stop(gh_health_checker *hc);

#endif
