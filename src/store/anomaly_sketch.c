#include <math.h>
#include <string.h>

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

/* 64 * ln(64 / zeros) for zeros = 1..64: linear counting without a libm call per request
 * (checked against log() by the unit test). */
_Static_assert(GH_HLL_REGS == 64, "linear_count is for 64 registers");
static const double linear_count[GH_HLL_REGS] = {
    266.16851733501898, 221.8070977791825, 195.85733086025996, 177.44567822334599,
    163.16449093923657, 151.49591130442349, 141.63026779547894, 133.08425866750949,
    125.54614438550095, 118.80307138340008, 112.70321987592328, 107.13449174858698,
    102.01175845748065, 97.268848239642438, 92.85330446447756, 88.722839111672997,
    84.84286331542117, 81.184724829664461, 77.724422668366799, 74.441651827563575,
    71.319081320719917, 68.34180032008679, 65.496887515553411, 62.773072192750476,
    60.160464543454154, 57.650338901644155, 55.234957910741933, 52.907428683805946,
    50.661584215884659, 48.491884908641055, 46.393336247969636, 44.361419555836498,
    42.392033401164262, 40.481443759584671, 38.626241399696518, 36.823305273827955,
    35.069770925788639, 33.363003112530308, 31.700571982721627, 30.08023227172708,
    28.499905065943302, 26.957661764883422, 25.451709930631004, 23.980380764250285,
    22.542117989718538, 21.135467959716916, 19.759070825575247, 18.411652636913974,
    17.092018255938889, 15.799044987617652, 14.531676840662149, 13.288919345807651,
    12.069834867683198, 10.873538354905435, 9.6991934801408561, 8.5460091279694446,
    7.4132361936077853, 6.3001646600481607, 5.2061209250529537, 4.1304653528045545,
    3.0725900279270824, 2.0319166921331373, 1.0078948459609032, 0,
};

double gh_hll_estimate(const gh_hll *h)
{
    const double m = GH_HLL_REGS, alpha = 0.709; /* alpha_64 (Flajolet et al.) */
    double sum = 0;
    unsigned zeros = 0;
    for (unsigned i = 0; i < GH_HLL_REGS; i++) {
        /* 2^-reg, made from its exponent bits: exact, and no libm call per register (the
         * estimate is taken on every request a parameter route serves) */
        uint64_t bits = (uint64_t)(1023 - h->reg[i]) << 52;
        double p;
        memcpy(&p, &bits, sizeof(p));
        sum += p;
        zeros += h->reg[i] == 0;
    }
    double raw = alpha * m * m / sum;
    /* small range: linear counting over the empty registers is far more precise there */
    if (raw <= 2.5 * m && zeros)
        return linear_count[zeros - 1];
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
