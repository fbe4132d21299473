#include <stdlib.h>
#include <string.h>

#include "core/siphash.h"
#include "store/balance.h"

/* A published constant, so that the mapping is the same for every gateway (balance.h). */
static const gh_sipkey ring_key = {0x67617465686f7573ULL, 0x652072696e672031ULL};

uint64_t gh_balance_hash(const void *data, size_t len)
{
    return gh_siphash13(&ring_key, data, len);
}

uint64_t gh_balance_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static uint32_t gcd(uint32_t a, uint32_t b)
{
    while (b) {
        uint32_t r = a % b;
        a = b;
        b = r;
    }
    return a;
}

bool gh_balance_build_order(gh_arena *a, const uint32_t *weights, size_t n, gh_balance_tables *t)
{
    uint32_t g = 0, total = 0;
    for (size_t i = 0; i < n; i++)
        g = gcd(g, weights[i]);
    for (size_t i = 0; i < n; i++)
        total += weights[i] / g;
    t->order = gh_arena_alloc(a, total ? total : 1);
    int64_t current[GH_BALANCE_MAX_ENDPOINTS] = {0};
    if (!t->order || n > GH_BALANCE_MAX_ENDPOINTS)
        return false;
    t->norder = total;
    /* nginx's smooth weighted round robin: every endpoint gains its weight, the one ahead is
     * picked and pays back the total. Run once over a cycle, the picks are the order. */
    for (uint32_t k = 0; k < total; k++) {
        size_t best = 0;
        for (size_t i = 0; i < n; i++) {
            current[i] += weights[i] / g;
            if (current[i] > current[best])
                best = i;
        }
        current[best] -= total;
        t->order[k] = (uint8_t)best;
    }
    return true;
}

static int point_cmp(const void *x, const void *y)
{
    const gh_ring_point *p = x, *q = y;
    if (p->hash != q->hash)
        return p->hash < q->hash ? -1 : 1;
    return p->endpoint < q->endpoint ? -1 : p->endpoint > q->endpoint;
}

static uint32_t point_hash(const char *name, uint64_t i)
{
    gh_siphash h;
    gh_siphash_init(&h, &ring_key);
    gh_siphash_update(&h, name, strlen(name));
    gh_siphash_u64(&h, i);
    return (uint32_t)(gh_siphash_final(&h) >> 32);
}

bool gh_balance_build_ring(gh_arena *a, const char *const *names, const uint32_t *weights, size_t n,
                           gh_balance_tables *t)
{
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += weights[i];
    if (total == 0 || total > GH_BALANCE_MAX_RING_WEIGHT)
        return false;
    /* The points of one unit of weight are a fixed number, not one that depends on the other
     * endpoints, or removing one would reshuffle the points of all. 160 of them keep an
     * endpoint's share within a few percent of its weight's (the spread shrinks as one over
     * the square root of the points). */
    uint64_t per_unit = GH_BALANCE_POINTS_PER_WEIGHT;
    t->ring = gh_arena_alloc(a, total * per_unit * sizeof(*t->ring));
    if (!t->ring)
        return false;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        for (uint64_t v = 0; v < weights[i] * per_unit; v++)
            t->ring[k++] = (gh_ring_point){point_hash(names[i], v), (uint32_t)i};
    qsort(t->ring, k, sizeof(*t->ring), point_cmp);
    t->nring = (uint32_t)k;
    return true;
}

uint32_t gh_balance_ring_find(const gh_balance_tables *t, uint64_t hash)
{
    uint32_t h = (uint32_t)(hash >> 32), lo = 0, hi = t->nring;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (t->ring[mid].hash < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == t->nring ? 0 : lo;
}
