/* /metrics: gathers what the gateway exposes (every worker's counters, the configuration in
 * force, its key sources, certificates and upstream states, the runtime's own counters) into
 * Prometheus families, and has observe/prometheus.c write them. */
#ifndef GH_SERVER_METRICS_COLLECT_H
#define GH_SERVER_METRICS_COLLECT_H

#include <stddef.h>

#include "server/runtime.h"

/* Returns a malloc'd text (caller frees) and its length, or NULL when out of memory. */
char *gh_collect_metrics(gh_runtime *rt, size_t *len);

#endif
