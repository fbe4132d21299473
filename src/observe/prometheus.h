/* /metrics: the Prometheus text exposition of every worker's counters, summed. */
#ifndef GH_OBSERVE_PROMETHEUS_H
#define GH_OBSERVE_PROMETHEUS_H

#include <stddef.h>

#include "server/runtime.h"

/* Returns a malloc'd text (caller frees) and its length, or NULL when out of memory. */
char *gh_prometheus_render(gh_runtime *rt, size_t *len);

#endif
