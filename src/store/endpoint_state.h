/* What the gateway knows about one upstream endpoint, shared by every worker and the control
 * thread and kept across reloads for an endpoint that stays: its requests in flight, the
 * verdict of active health checks, and passive outlier ejection (consecutive gateway failures
 * take it out of rotation for a time that grows with each ejection). Lock-free to read on every
 * request; an ejection takes its upstream's mutex so that max_ejection_percent holds exactly
 * however many workers fail at once. */
#ifndef GH_STORE_ENDPOINT_STATE_H
#define GH_STORE_ENDPOINT_STATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* Active health: unknown until the first checks decide (traffic goes there meanwhile). */
typedef enum { GH_HEALTH_UNKNOWN, GH_HEALTH_UP, GH_HEALTH_DOWN } gh_health;

typedef struct gh_endpoint_state {
    void *next; /* in its upstream's list */
    atomic_int uses; /* the snapshots that name it: the last to go takes it out */
    /* The snapshot in force names it (not only one that requests in flight still hold): only
     * such addresses of a name stay when the name stops resolving at a reload. */
    atomic_bool in_force;
    atomic_uint inflight;           /* requests on it now, every worker */
    atomic_int health;              /* a gh_health from active checks */
    atomic_uint fails;              /* consecutive gateway failures */
    atomic_uint ejections;          /* ejections in a row: the next one lasts longer */
    atomic_ullong ejected_until_us; /* 0 when in rotation */
    atomic_ullong back_since_us;    /* when it last came back into rotation (slow start) */
    /* Active checks made (by the control thread) and their total time, for the metrics. */
    atomic_ullong checks_passed, checks_failed, check_us_total;
    char key[];                     /* the endpoint's URL (and address, for a name) */
} gh_endpoint_state;

/* Passive ejection settings of one upstream (upstreams.<name>.outlier). */
typedef struct gh_outlier_conf {
    uint32_t consecutive_failures; /* 0: never eject */
    uint64_t base_ejection_ms;     /* the first ejection; the n-th lasts n times as long */
    uint64_t max_ejection_ms;
    uint32_t max_ejection_percent; /* of the upstream's endpoints, rounded down */
    bool application_errors;       /* 500 and other 5xx count too, not only 502/503/504 */
} gh_outlier_conf;

/* The endpoint can take a new request now: not found down by checks, not ejected. */
bool gh_endpoint_available(const gh_endpoint_state *e, uint64_t now_us);

/* A request on the endpoint ended well: its failure streak ends. */
void gh_endpoint_succeeded(gh_endpoint_state *e);

/* Counts a gateway failure; at the streak's threshold ejects e, unless that would take more
 * than max_ejection_percent of group (its n endpoints, under mu) out of rotation. Returns the
 * ejection's length in ms, 0 when e stays. */
uint64_t gh_endpoint_failed(gh_endpoint_state *e, gh_endpoint_state *const *group, size_t n,
                            pthread_mutex_t *mu, const gh_outlier_conf *o, uint64_t now_us);

/* Active checks decided: up or down. Up also ends an ejection (the endpoint proved itself).
 * Returns whether the verdict changed. */
bool gh_endpoint_checked(gh_endpoint_state *e, gh_health h, uint64_t now_us);

#endif
