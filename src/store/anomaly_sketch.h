/* The arithmetic of the anomaly detectors, apart from any request: a small HyperLogLog for
 * distinct values, an exponentially weighted mean and deviation for baselines, and each
 * detector's decision from what its counters hold. Pure functions: the unit tests drive them. */
#ifndef GH_STORE_ANOMALY_SKETCH_H
#define GH_STORE_ANOMALY_SKETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* 64 registers: a standard error of 1.04/sqrt(64) = 13% for large counts; below 160 distinct
 * values the estimate is linear counting over the empty registers, within a few percent
 * (docs/security.md states the bound). 64 bytes a sketch. */
#define GH_HLL_BITS 6
#define GH_HLL_REGS (1u << GH_HLL_BITS)

typedef struct gh_hll {
    uint8_t reg[GH_HLL_REGS];
} gh_hll;

/* Adds one value by its 64-bit hash (a keyed hash: nobody picks registers on purpose). */
void gh_hll_add(gh_hll *h, uint64_t hash);
/* The estimated number of distinct hashes added. */
double gh_hll_estimate(const gh_hll *h);

/* A baseline: mean and variance of a count per window, weighted toward recent windows. */
typedef struct gh_ewma {
    double mean, var;
    uint32_t windows; /* windows folded in so far (saturates) */
} gh_ewma;

/* Folds one window's count in with weight alpha (0 < alpha <= 1). */
void gh_ewma_add(gh_ewma *e, double x, double alpha);
/* How many deviations x lies above the mean. The deviation is at least sqrt(mean) and at least
 * 1, so a baseline of identical windows does not turn one extra request into a huge score. */
double gh_ewma_z(const gh_ewma *e, double x);

/* error_rate: the client's errors in the window against its own baseline and its route's. */
typedef struct gh_error_rate_rule {
    uint32_t min_errors; /* the absolute floor: fewer errors never fire */
    double z;            /* the score over both baselines that fires */
} gh_error_rate_rule;

/* errors and requests: the client's in the current window; own: its baseline of errors per
 * window (no history: its own score counts as over); route_error_ratio: the fraction of the
 * route's requests that ended in one of the counted errors, over past windows (NAN when none:
 * only the client's own baseline and the floor count). */
bool gh_error_rate_fires(const gh_error_rate_rule *r, uint32_t errors, uint32_t requests,
                         const gh_ewma *own, double route_error_ratio);

/* rate_spike: requests in the window against the client's own baseline; a client with fewer
 * than warmup past windows is not judged (a limit, not this detector, bounds a newcomer). */
typedef struct gh_rate_spike_rule {
    uint32_t min_requests;
    double z;
    uint32_t warmup;
} gh_rate_spike_rule;

bool gh_rate_spike_fires(const gh_rate_spike_rule *r, uint32_t requests, const gh_ewma *own);

/* A count against a threshold (enumeration's distinct values and refusals, credential stuffing
 * and token sharing's distinct keys, unusual methods): fires when it reaches max. */
bool gh_count_fires(double count, uint32_t max);

#endif
