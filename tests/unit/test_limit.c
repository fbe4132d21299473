/* The local rate-limit table: GCRA arithmetic at microsecond precision, quotas per window,
 * bounded memory, and tables shared through the registry. And the other tables keyed by what a
 * client sends (the verified-token, introspection, policy and replay caches): nobody can aim
 * entries at one probe window. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "identity/token_cache.h"
#include "store/limit_table.h"

static void key_of(unsigned n, unsigned char key[16])
{
    memset(key, 0, 16);
    memcpy(key, &n, sizeof(n));
    key[15] = 1;
}

static void gcra_burst_then_rate(void **state)
{
    (void)state;
    gh_limit_registry reg;
    gh_limit_registry_init(&reg);
    gh_limit_table *t = gh_limit_table_get(&reg, "l", 100);
    assert_non_null(t);
    gh_limit_rule rule = {.interval_us = 100000, .burst = 5}; /* 10/s, burst 5 */
    unsigned char k[16];
    key_of(1, k);
    gh_limit_verdict v;
    int64_t now = 1000000000;
    for (int i = 0; i < 5; i++) {
        gh_limit_take(t, k, &rule, now, 0, 0, &v);
        assert_true(v.allowed);
        assert_int_equal(v.remaining, 4 - i);
    }
    gh_limit_take(t, k, &rule, now, 0, 0, &v);
    assert_false(v.allowed);
    assert_int_equal(v.retry_after_us, 100000); /* one more in one emission interval */
    gh_limit_take(t, k, &rule, now + 99999, 0, 0, &v);
    assert_false(v.allowed);
    gh_limit_take(t, k, &rule, now + 100000, 0, 0, &v);
    assert_true(v.allowed);
    gh_limit_take(t, k, &rule, now + 100000, 0, 0, &v);
    assert_false(v.allowed); /* a refusal does not move the state */
    assert_int_equal(v.reset_us, 500000);
    key_of(2, k); /* another key: its own bucket */
    gh_limit_take(t, k, &rule, now, 0, 0, &v);
    assert_true(v.allowed);
    gh_limit_table_put(&reg, t);
    gh_limit_registry_free(&reg);
}

static void quota_per_window(void **state)
{
    (void)state;
    gh_limit_registry reg;
    gh_limit_registry_init(&reg);
    gh_limit_table *t = gh_limit_table_get(&reg, "q", 10);
    gh_limit_rule rule = {.interval_us = 1000, .burst = 1000, .quota = 2};
    unsigned char k[16];
    key_of(7, k);
    gh_limit_verdict v;
    gh_limit_take(t, k, &rule, 0, 20000, 5000000, &v);
    assert_true(v.allowed);
    assert_int_equal(v.quota_remaining, 1);
    gh_limit_take(t, k, &rule, 10, 20000, 5000000, &v);
    assert_true(v.allowed);
    gh_limit_take(t, k, &rule, 20, 20000, 5000000, &v);
    assert_false(v.allowed);
    assert_true(v.quota_exceeded);
    assert_int_equal(v.retry_after_us, 5000000 - 20);
    gh_limit_take(t, k, &rule, 30, 20001, 9000000, &v); /* the next window starts afresh */
    assert_true(v.allowed);
    gh_limit_table_put(&reg, t);
    gh_limit_registry_free(&reg);
}

static void bounded_and_shared(void **state)
{
    (void)state;
    gh_limit_registry reg;
    gh_limit_registry_init(&reg);
    gh_limit_table *t = gh_limit_table_get(&reg, "b", 64);
    assert_ptr_equal(gh_limit_table_get(&reg, "b", 64), t); /* a reload shares the state */
    assert_ptr_not_equal(gh_limit_table_get(&reg, "b", 65), t);
    assert_int_equal(atomic_load(&t->users), 2);
    size_t slots = 0;
    for (size_t i = 0; i < GH_LIMIT_SHARDS; i++)
        slots += t->shards[i].mask + 1;
    gh_limit_rule rule = {.interval_us = 1000000, .burst = 1};
    gh_limit_verdict v;
    unsigned char k[16];
    for (unsigned i = 0; i < 100000; i++) { /* far more keys than room: memory stays put */
        key_of(i + 100, k);
        gh_limit_take(t, k, &rule, (int64_t)i, 0, 0, &v);
        assert_true(v.allowed);
    }
    size_t after = 0;
    for (size_t i = 0; i < GH_LIMIT_SHARDS; i++)
        after += t->shards[i].mask + 1;
    assert_int_equal(after, slots);
    key_of(100099, k); /* the newest keys are still there */
    gh_limit_take(t, k, &rule, 100000, 0, 0, &v);
    assert_false(v.allowed);
    gh_limit_table_put(&reg, t);
    gh_limit_table_put(&reg, t);
    gh_limit_registry_free(&reg); /* frees the 65-key table still registered */
}

/* Digests that agree in every byte the cache once placed entries by (the first byte chose the
 * shard, bytes 8 to 15 the slot) no longer share a probe window: 64 of them all stay, where an
 * unkeyed placement kept the last 8 and pushed out the rest (a client grinding token digests,
 * or a replay cache's signature digests, could evict other clients' entries at will). */
static void token_cache_cannot_be_aimed(void **state)
{
    (void)state;
    gh_token_cache c;
    assert_int_equal(gh_token_cache_init(&c, 4096), 0);
    gh_arena a;
    gh_arena_init(&a, 4096, 0);
    gh_token_entry e = {.payload = (char *)"{}", .payload_len = 2, .exp = 100};
    for (unsigned i = 0; i < 64; i++) {
        memset(e.hash, 0xab, sizeof(e.hash));
        memcpy(e.hash + 1, &i, sizeof(i)); /* differs only outside the old placement bytes */
        gh_token_cache_put(&c, &e);
    }
    unsigned kept = 0;
    for (unsigned i = 0; i < 64; i++) {
        gh_token_entry out;
        memset(e.hash, 0xab, sizeof(e.hash));
        memcpy(e.hash + 1, &i, sizeof(i));
        kept += gh_token_cache_get(&c, e.hash, 50, &a, &out);
    }
    assert_int_equal(kept, 64);
    gh_token_cache_free(&c);
    gh_arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gcra_burst_then_rate),
        cmocka_unit_test(quota_per_window),
        cmocka_unit_test(bounded_and_shared),
        cmocka_unit_test(token_cache_cannot_be_aimed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
