#include <math.h>

#include "store/anomaly_sketch.h"

void gh_hll_add(gh_hll *h, uint64_t hash)
{
    unsigned idx = (unsigned)(hash & (GH_HLL_REGS - 1));
    uint64_t rest = hash >> GH_HLL_BITS;
    /* the rank: position of the first set bit of the remaining 58 bits, from 1 */
    uint8_t rank = 1;
    while (rank <= 64 - GH_HLL_BITS && !(rest & 1)) {
        rest >>= 1;
        rank++;
    }
    if (rank > h->reg[idx])
        h->reg[idx] = rank;
}

double gh_hll_estimate(const gh_hll *h)
{
    const double m = GH_HLL_REGS, alpha = 0.709; /* alpha_64 (Flajolet et al.) */
    double sum = 0;
    unsigned zeros = 0;
    for (unsigned i = 0; i < GH_HLL_REGS; i++) {
        sum += ldexp(1.0, -(int)h->reg[i]);
        zeros += h->reg[i] == 0;
    }
    double raw = alpha * m * m / sum;
    /* small range: linear counting over the empty registers is far more precise there */
    if (raw <= 2.5 * m && zeros)
        return m * log(m / zeros);
    return raw;
}

void gh_ewma_add(gh_ewma *e, double x, double alpha)
{
    if (e->windows == 0) {
        e->mean = x;
        e->var = 0;
    } else {
        double d = x - e->mean;
        e->mean += alpha * d;
        /* West's incremental form of the exponentially weighted variance */
        e->var = (1 - alpha) * (e->var + alpha * d * d);
    }
    if (e->windows < UINT32_MAX)
        e->windows++;
}

double gh_ewma_z(const gh_ewma *e, double x)
{
    double sd = sqrt(e->var), floor_sd = sqrt(e->mean > 1 ? e->mean : 1);
    if (sd < floor_sd)
        sd = floor_sd;
    return (x - e->mean) / sd;
}

bool gh_error_rate_fires(const gh_error_rate_rule *r, uint32_t errors, uint32_t requests,
                         const gh_ewma *own, double route_error_ratio)
{
    if (errors < r->min_errors)
        return false;
    if (own->windows && gh_ewma_z(own, errors) < r->z)
        return false;
    if (isnan(route_error_ratio))
        return true;
    /* what the route's usual share of errors predicts for this many requests, as a binomial */
    double p = route_error_ratio, expected = p * requests;
    double sd = sqrt(expected * (1 - p));
    if (sd < 1)
        sd = 1;
    return (errors - expected) / sd >= r->z;
}

bool gh_rate_spike_fires(const gh_rate_spike_rule *r, uint32_t requests, const gh_ewma *own)
{
    if (requests < r->min_requests || own->windows < r->warmup)
        return false;
    return gh_ewma_z(own, requests) >= r->z;
}

bool gh_count_fires(double count, uint32_t max)
{
    return max && count + 0.5 >= max; /* estimates round to the nearest count */
}
