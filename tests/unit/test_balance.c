/* Balancing: the smooth weighted order, the consistent-hash ring (a key keeps its endpoint;
 * removing one endpoint moves only the keys it had, about 1/N of them), and the pick itself
 * over a hand-built upstream: least_request by requests in flight, bounded load walking a hot
 * key on, slow start holding back an endpoint that just came back, retries elsewhere. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/clock.h"
#include "store/balance.h"
#include "store/upstream_state.h"
#include "upstream/upconn.h"

/* nginx's documented cycle for weights 5, 1, 1: a a b a c a a, the heavy one spread out. */
static void smooth_order_is_exact_and_spread(void **state)
{
    (void)state;
    gh_arena a;
    gh_arena_init(&a, 4096, 1 << 20);
    gh_balance_tables t = {0};
    uint32_t w[] = {5, 1, 1};
    assert_true(gh_balance_build_order(&a, w, 3, &t));
    assert_int_equal(t.norder, 7);
    static const uint8_t want[] = {0, 0, 1, 0, 2, 0, 0};
    assert_memory_equal(t.order, want, sizeof(want));
    /* Common factors are divided out: 4, 2, 2 is the cycle of 2, 1, 1. */
    uint32_t w2[] = {4, 2, 2};
    assert_true(gh_balance_build_order(&a, w2, 3, &t));
    assert_int_equal(t.norder, 4);
    /* Equal weights: plain round robin, in order. */
    uint32_t w3[] = {1, 1, 1, 1};
    assert_true(gh_balance_build_order(&a, w3, 4, &t));
    static const uint8_t plain[] = {0, 1, 2, 3};
    assert_memory_equal(t.order, plain, sizeof(plain));
    gh_arena_free(&a);
}

static void ring_of(gh_arena *a, size_t n, const size_t *which, gh_balance_tables *t)
{
    const char *names[GH_BALANCE_MAX_ENDPOINTS];
    uint32_t w[GH_BALANCE_MAX_ENDPOINTS];
    for (size_t i = 0; i < n; i++) {
        char *s = gh_arena_alloc(a, 40);
        snprintf(s, 40, "http://10.0.0.%zu:8080", which[i]);
        names[i] = s;
        w[i] = 1;
    }
    assert_true(gh_balance_build_ring(a, names, w, n, t));
}

static size_t owner(const gh_balance_tables *t, const size_t *which, unsigned key)
{
    char k[32];
    int len = snprintf(k, sizeof(k), "user-%u", key);
    return which[t->ring[gh_balance_ring_find(t, gh_balance_hash(k, (size_t)len))].endpoint];
}

/* Removing any one of N endpoints moves only the keys it had (none of the others' keys moves)
 * and at most 1/N + 5 % of 1000 keys; each endpoint's share stays within 5 % of 1/N. */
static void removing_one_moves_only_its_share(void **state)
{
    (void)state;
    static const size_t sizes[] = {2, 3, 4, 5, 8, 16};
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        size_t n = sizes[s], all[16];
        for (size_t i = 0; i < n; i++)
            all[i] = i + 1;
        gh_arena a;
        gh_arena_init(&a, 1 << 16, 1 << 24);
        gh_balance_tables full = {0};
        ring_of(&a, n, all, &full);
        size_t before[1000], count[17] = {0};
        for (unsigned k = 0; k < 1000; k++) {
            before[k] = owner(&full, all, k);
            count[before[k]]++;
        }
        for (size_t i = 1; i <= n; i++) /* |share - 1000/n| <= 50 */
            assert_true(labs((long)(count[i] * n) - 1000) <= 50 * (long)n);
        for (size_t gone = 0; gone < n; gone++) {
            size_t rest[16], m = 0;
            for (size_t i = 0; i < n; i++)
                if (i != gone)
                    rest[m++] = all[i];
            gh_balance_tables less = {0};
            ring_of(&a, m, rest, &less);
            size_t moved = 0;
            for (unsigned k = 0; k < 1000; k++) {
                size_t now = owner(&less, rest, k);
                if (before[k] != all[gone])
                    assert_int_equal(now, before[k]);
                moved += now != before[k];
            }
            assert_true(moved * 100 <= 100000 / n + 5000);
        }
        gh_arena_free(&a);
    }
}

/* A point past the ring's last wraps to its first. */
static void ring_wraps(void **state)
{
    (void)state;
    gh_ring_point pts[] = {{10, 0}, {20, 1}, {30, 2}};
    gh_balance_tables t = {.ring = pts, .nring = 3};
    assert_int_equal(gh_balance_ring_find(&t, (uint64_t)5 << 32), 0);
    assert_int_equal(gh_balance_ring_find(&t, (uint64_t)20 << 32), 1);
    assert_int_equal(gh_balance_ring_find(&t, (uint64_t)21 << 32), 2);
    assert_int_equal(gh_balance_ring_find(&t, (uint64_t)31 << 32), 0);
}

/* A hand-built upstream of n endpoints with shared states, as a configuration load makes it. */
typedef struct fixture {
    gh_arena arena;
    gh_upstream_registry reg;
    gh_upstream_conf u;
    gh_endpoint_conf eps[8];
    gh_endpoint_state *states[8];
    const char *names[8];
    uint32_t weights[8];
} fixture;

static void fixture_make(fixture *f, size_t n, gh_lb_policy policy)
{
    memset(f, 0, sizeof(*f));
    gh_arena_init(&f->arena, 1 << 16, 1 << 24);
    gh_upstream_registry_init(&f->reg);
    f->u.name = "app";
    f->u.state = gh_upstream_state_get(&f->reg, "app");
    f->u.endpoints = f->eps;
    f->u.nendpoints = n;
    f->u.states = f->states;
    f->u.panic_percent = 50;
    f->u.balance.policy = policy;
    for (size_t i = 0; i < n; i++) {
        char *s = gh_arena_alloc(&f->arena, 40);
        snprintf(s, 40, "http://10.0.0.%zu:8080", i + 1);
        f->eps[i].url = f->eps[i].authority = f->names[i] = s;
        f->eps[i].weight = f->weights[i] = 1;
        f->eps[i].state = f->states[i] = gh_endpoint_state_get(f->u.state, s);
    }
    assert_true(gh_balance_build_order(&f->arena, f->weights, n, &f->u.balance.tables));
    if (policy == GH_LB_HASH)
        assert_true(
            gh_balance_build_ring(&f->arena, f->names, f->weights, n, &f->u.balance.tables));
}

static void fixture_free(fixture *f)
{
    gh_upstream_registry_free(&f->reg);
    gh_arena_free(&f->arena);
}

static size_t pick_at(fixture *f, gh_request *req, uint64_t now_us)
{
    req->upstream = &f->u;
    const gh_endpoint_conf *e = gh__pick_endpoint(req, now_us);
    assert_non_null(e);
    return (size_t)(e - f->eps);
}

static size_t pick(fixture *f, gh_request *req)
{
    return pick_at(f, req, gh_now_us());
}

static size_t pick_fresh(fixture *f)
{
    gh_request req = {0};
    return pick(f, &req);
}

/* Two drawn, the one with fewer in flight takes it: an endpoint with many in flight is only
 * ever picked when both draws are it, which with three endpoints never happens. */
static void least_request_avoids_the_loaded(void **state)
{
    (void)state;
    fixture f;
    fixture_make(&f, 3, GH_LB_LEAST_REQUEST);
    atomic_store(&f.states[1]->inflight, 10);
    size_t got[3] = {0};
    for (int i = 0; i < 3000; i++)
        got[pick_fresh(&f)]++;
    assert_int_equal(got[1], 0);
    assert_true(got[0] > 1000 && got[2] > 1000);
    /* Weights count: 4 in flight on weight 4 is as loaded as 1 on weight 1. */
    f.eps[1].weight = 8;
    atomic_store(&f.states[1]->inflight, 4);
    atomic_store(&f.states[0]->inflight, 1);
    atomic_store(&f.states[2]->inflight, 1);
    memset(got, 0, sizeof(got));
    for (int i = 0; i < 3000; i++)
        got[pick_fresh(&f)]++;
    assert_true(got[1] > 1500);
    fixture_free(&f);
}

static gh_request keyed(fixture *f, gh_h1_header *h, const char *value)
{
    gh_request req = {0};
    *h = (gh_h1_header){
        .name = "X-User", .name_len = 6, .value = value, .value_len = (unsigned)strlen(value)};
    req.h1.headers = h;
    req.h1.nheaders = 1;
    req.upstream = &f->u;
    return req;
}

/* A key keeps its endpoint; a hot key's endpoint past factor x the average sends it on, and
 * back once the load is gone. A retry walks the ring to another endpoint. */
static void hash_is_sticky_and_bounded(void **state)
{
    (void)state;
    fixture f;
    fixture_make(&f, 3, GH_LB_HASH);
    f.u.balance.key = GH_HKEY_HEADER;
    f.u.balance.key_arg = "x-user";
    f.u.balance.hash_balance_factor = 150;
    gh_h1_header h;
    gh_request req = keyed(&f, &h, "alice");
    size_t home = pick(&f, &req);
    for (int i = 0; i < 50; i++) {
        req = keyed(&f, &h, "alice");
        assert_int_equal(pick(&f, &req), home);
    }
    req = keyed(&f, &h, "alice");
    pick(&f, &req);
    size_t second = pick(&f, &req); /* the retry */
    assert_int_not_equal(second, home);
    /* Hot: 4 in flight on home, none elsewhere; the bound is ceil(5 x 1.5 / 3) = 3. */
    atomic_store(&f.states[home]->inflight, 4);
    req = keyed(&f, &h, "alice");
    assert_int_equal(pick(&f, &req), second);
    /* Unbounded (factor 0): it stays home whatever the load. */
    f.u.balance.hash_balance_factor = 0;
    req = keyed(&f, &h, "alice");
    assert_int_equal(pick(&f, &req), home);
    /* No key: round robin over all three. */
    size_t got[3] = {0};
    for (int i = 0; i < 30; i++)
        got[pick_fresh(&f)]++;
    assert_true(got[0] == 10 && got[1] == 10 && got[2] == 10);
    fixture_free(&f);
}

/* An endpoint that came back a moment ago gets about a tenth of its share, then all of it
 * once slow_start has passed: as of the time the pick is given (the request's own), which is
 * here far from the clock's. */
static void slow_start_ramps(void **state)
{
    (void)state;
    fixture f;
    fixture_make(&f, 2, GH_LB_ROUND_ROBIN);
    f.u.balance.slow_start_ms = 60000;
    const uint64_t back = 1000000; /* one second after the clock's origin */
    atomic_store(&f.states[1]->back_since_us, back);
    size_t got[2] = {0};
    for (int i = 0; i < 4000; i++) {
        gh_request req = {0};
        got[pick_at(&f, &req, back)]++;
    }
    /* Round robin offers it half the picks and it takes about a tenth of those. */
    assert_true(got[1] > 100 && got[1] < 350);
    memset(got, 0, sizeof(got));
    for (int i = 0; i < 4000; i++) {
        gh_request req = {0};
        got[pick_at(&f, &req, back + 61000000ULL)]++;
    }
    assert_int_equal(got[1], 2000);
    fixture_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(smooth_order_is_exact_and_spread),
        cmocka_unit_test(removing_one_moves_only_its_share),
        cmocka_unit_test(ring_wraps),
        cmocka_unit_test(least_request_avoids_the_loaded),
        cmocka_unit_test(hash_is_sticky_and_bounded),
        cmocka_unit_test(slow_start_ramps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
