/* The tables an upstream's balancing reads on every request, built once when a configuration
 * loads, in its arena: the smooth weighted round-robin order of its endpoints, and the
 * consistent-hash ring. Pure: no state changes after the build, so every worker reads them
 * without a lock. */
#ifndef GH_STORE_BALANCE_H
#define GH_STORE_BALANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"

#define GH_BALANCE_MAX_ENDPOINTS 64 /* endpoints are bits of a request's tried mask */
#define GH_BALANCE_MAX_WEIGHT 256
/* The ring has 160 points per unit of weight: with policy hash the weights add up to at most
 * this (655,360 points, 5 MiB). */
#define GH_BALANCE_MAX_RING_WEIGHT 4096
#define GH_BALANCE_POINTS_PER_WEIGHT 160

/* One virtual node of the ring: the point's hash and the endpoint it stands for. */
typedef struct gh_ring_point {
    uint32_t hash;
    uint32_t endpoint;
} gh_ring_point;

typedef struct gh_balance_tables {
    uint8_t *order;      /* smooth weighted round robin: one cycle of endpoint indexes */
    uint32_t norder;     /* the weights' sum, divided by their greatest common divisor */
    gh_ring_point *ring; /* sorted by hash; NULL unless the upstream balances by hash */
    uint32_t nring;
} gh_balance_tables;

/* The cycle nginx's smooth weighted round robin walks (each endpoint, weight w of total W, is
 * w times in every W picks, spread rather than in runs), from n weights in [1, MAX_WEIGHT].
 * False when memory ran out. */
bool gh_balance_build_order(gh_arena *a, const uint32_t *weights, size_t n, gh_balance_tables *t);

/* The ring: each endpoint's points hashed from its name (its URL), as many as its weight
 * asks, so that an endpoint keeps its points whatever the others are and removing one moves
 * only the keys it had. False when memory ran out. */
bool gh_balance_build_ring(gh_arena *a, const char *const *names, const uint32_t *weights, size_t n,
                           gh_balance_tables *t);

/* The hash of a balancing key (or of a point's name). Fixed, not keyed: every worker, every
 * reload and every gateway in front of the same endpoints sends a key to the same place. */
uint64_t gh_balance_hash(const void *data, size_t len);

/* The index in t->ring of the first point at or after hash, wrapping around. */
uint32_t gh_balance_ring_find(const gh_balance_tables *t, uint64_t hash);

/* A well-mixed 64-bit value from a counter (splitmix64): the balancer's random draws. */
uint64_t gh_balance_mix(uint64_t x);

#endif
