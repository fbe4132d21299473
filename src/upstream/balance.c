/* Which endpoint takes a request's next try: among those in rotation (every endpoint in panic),
 * one this request has not tried yet, by the upstream's policy. Weighted round robin walks the
 * smooth order built at load; least_request takes the less loaded of two drawn at random
 * (power of two choices) by requests in flight for its weight; hash follows the ring from the
 * request's key, past endpoints above the bounded load. An endpoint back in rotation within
 * slow_start carries a share that grows from a tenth to all of its weight. Nothing here locks
 * or allocates: one shared counter drives the order and the draws. */
#include <string.h>

#include "gate/request.h"
#include "identity/claims.h"
#include "store/upstream_state.h"
#include "upstream/upconn.h"

#define NONE SIZE_MAX
#define FULL_SHARE 1000           /* per mille of its weight */
#define SLOW_START_FLOOR 100      /* the share an endpoint starts with, per mille */
#define ROUND_ROBIN_MAX_STEPS 256 /* past this, the order gives way to a plain scan */

static uint64_t all_of(size_t n)
{
    return n >= 64 ? UINT64_MAX : (UINT64_C(1) << n) - 1;
}

/* The endpoints that may take a try now, as bits. */
static uint64_t in_rotation(const gh_upstream_conf *u, uint64_t now_us)
{
    uint64_t ok = 0;
    size_t count = 0;
    for (size_t i = 0; i < u->nendpoints; i++)
        if (!u->states || gh_endpoint_available(u->states[i], now_us)) {
            ok |= UINT64_C(1) << i;
            count++;
        }
    /* Too few left to carry the load: spreading it over every endpoint, some of them failing,
     * beats overloading the few (Envoy's panic threshold). */
    if (count * 100 < (uint64_t)u->panic_percent * u->nendpoints)
        ok = all_of(u->nendpoints);
    return ok;
}

static unsigned inflight(const gh_upstream_conf *u, size_t i)
{
    return u->states ? atomic_load_explicit(&u->states[i]->inflight, memory_order_relaxed) : 0;
}

/* The share of its weight endpoint i carries now, per mille: all of it, unless it came back
 * into rotation less than slow_start ago. */
static uint64_t share(const gh_upstream_conf *u, size_t i, uint64_t now_us)
{
    uint64_t window = u->balance.slow_start_ms * 1000;
    if (!window || !u->states)
        return FULL_SHARE;
    uint64_t back = atomic_load_explicit(&u->states[i]->back_since_us, memory_order_relaxed);
    if (back == 0 || now_us >= back + window)
        return FULL_SHARE;
    uint64_t elapsed = now_us > back ? now_us - back : 0;
    return SLOW_START_FLOOR + (FULL_SHARE - SLOW_START_FLOOR) * elapsed / window;
}

static size_t first_from(uint64_t pick, size_t n, size_t start)
{
    for (size_t k = 0; k < n; k++) {
        size_t i = (start + k) % n;
        if (pick >> i & 1)
            return i;
    }
    return NONE;
}

/* Weighted round robin: the next of the smooth order that may take it. An endpoint in slow
 * start lets a draw pass to the next with the chance of the share it does not carry yet. */
static size_t round_robin(const gh_upstream_conf *u, uint64_t pick, uint64_t now_us)
{
    const gh_balance_tables *t = &u->balance.tables;
    uint32_t draw = atomic_fetch_add_explicit(&u->state->cursor, 1, memory_order_relaxed);
    if (t->norder == 0)
        return first_from(pick, u->nendpoints, draw % u->nendpoints);
    uint32_t steps = t->norder < ROUND_ROBIN_MAX_STEPS ? t->norder : ROUND_ROBIN_MAX_STEPS;
    for (uint32_t k = 0; k < steps; k++) {
        size_t i = t->order[(draw + k) % t->norder];
        if (!(pick >> i & 1))
            continue;
        if (u->balance.slow_start_ms &&
            gh_balance_mix(draw + k) % FULL_SHARE >= share(u, i, now_us))
            continue;
        return i;
    }
    return first_from(pick, u->nendpoints, draw % u->nendpoints);
}

/* The n-th set bit of mask (n < its population). */
static size_t nth_bit(uint64_t mask, unsigned n)
{
    for (; n; n--)
        mask &= mask - 1;
    return (size_t)__builtin_ctzll(mask);
}

/* Power of two choices: two endpoints drawn at random, the one with fewer requests in flight
 * for its weight (and slow-start share) takes it. */
static size_t least_request(const gh_upstream_conf *u, uint64_t pick, uint64_t now_us)
{
    unsigned c = (unsigned)__builtin_popcountll(pick);
    if (c == 1)
        return (size_t)__builtin_ctzll(pick);
    uint64_t r =
        gh_balance_mix(atomic_fetch_add_explicit(&u->state->cursor, 1, memory_order_relaxed));
    unsigned first = (unsigned)(r % c);
    unsigned second = (first + 1 + (unsigned)((r >> 32) % (c - 1))) % c;
    size_t a = nth_bit(pick, first), b = nth_bit(pick, second);
    uint64_t wa = u->endpoints[a].weight * share(u, a, now_us);
    uint64_t wb = u->endpoints[b].weight * share(u, b, now_us);
    /* (inflight + 1) / weight compared without division. */
    return (inflight(u, a) + 1) * wb <= (inflight(u, b) + 1) * wa ? a : b;
}

/* The request's hash key, or NULL when it has none. */
static const char *hash_key(const gh_request *req, const gh_balance_conf *b, size_t *len)
{
    switch (b->key) {
    case GH_HKEY_CLIENT_IP:
        return gh_request_client_address(req, len);
    case GH_HKEY_HEADER: {
        size_t count;
        const gh_h1_header *h = gh_h1_find_last(req->h1.headers, req->h1.nheaders, b->key_arg,
                                                strlen(b->key_arg), &count);
        if (!h || count > 1)
            return NULL; /* twice: no key, rather than the client's choice of one */
        *len = h->value_len;
        return h->value;
    }
    case GH_HKEY_COOKIE:
        return gh_h1_cookie(req->h1.headers, req->h1.nheaders, b->key_arg, len);
    case GH_HKEY_CLAIM: {
        const char *v =
            req->claims ? gh_claims_get(req->claims, req->claims_len, b->key_arg) : NULL;
        if (v)
            *len = strlen(v);
        return v;
    }
    default:
        return NULL;
    }
}

/* Bounded load (consistent hashing with bounded loads, Mirrokni et al.; Envoy's
 * hash_balance_factor): the most requests in flight an endpoint may have before a key walks
 * on, factor percent of the average over the endpoints in rotation, rounded up. */
static uint64_t load_bound(const gh_upstream_conf *u, uint64_t ok)
{
    uint64_t total = 1, count = 0; /* this request included */
    for (size_t i = 0; i < u->nendpoints; i++)
        if (ok >> i & 1) {
            total += inflight(u, i);
            count++;
        }
    uint64_t scale = 100 * count;
    return (total * u->balance.hash_balance_factor + scale - 1) / scale;
}

/* The first endpoint that may take it on the ring from the key's point, skipping those above
 * the bound; when every one is above it, the first that may take it. NONE without a key. */
static size_t by_hash(const gh_request *req, const gh_upstream_conf *u, uint64_t ok, uint64_t pick)
{
    const gh_balance_tables *t = &u->balance.tables;
    size_t len = 0;
    const char *key = t->nring ? hash_key(req, &u->balance, &len) : NULL;
    if (!key)
        return NONE;
    uint64_t bound = u->balance.hash_balance_factor ? load_bound(u, ok) : UINT64_MAX;
    uint32_t at = gh_balance_ring_find(t, gh_balance_hash(key, len));
    uint64_t seen = 0;
    size_t first = NONE;
    for (uint32_t k = 0; k < t->nring && (seen & pick) != pick; k++) {
        size_t i = t->ring[(at + k) % t->nring].endpoint;
        if (seen >> i & 1)
            continue;
        seen |= UINT64_C(1) << i;
        if (!(pick >> i & 1))
            continue;
        if (inflight(u, i) + 1 <= bound)
            return i;
        if (first == NONE)
            first = i;
    }
    return first;
}

const gh_endpoint_conf *gh__pick_endpoint(gh_request *req, uint64_t now_us)
{
    const gh_upstream_conf *u = req->upstream;
    uint64_t ok = in_rotation(u, now_us);
    if (!ok)
        return NULL;
    uint64_t fresh = ok & ~req->tried;
    uint64_t pick = fresh ? fresh : ok; /* one endpoint left: the retry goes there again */
    size_t i = NONE;
    if (u->balance.policy == GH_LB_HASH)
        i = by_hash(req, u, ok, pick);
    else if (u->balance.policy == GH_LB_LEAST_REQUEST)
        i = least_request(u, pick, now_us);
    if (i == NONE) /* round robin, or a request without a hash key */
        i = round_robin(u, pick, now_us);
    if (i == NONE)
        return NULL;
    req->tried |= UINT64_C(1) << i;
    return &u->endpoints[i];
}
