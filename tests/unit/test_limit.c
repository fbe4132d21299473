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

#include <arpa/inet.h>

#include "gate/request.h"
#include "identity/token_cache.h"
#include "store/limit_table.h"

static void key_of(unsigned n, unsigned char key[16])
{
    memset(key, 0, 16);
    memcpy(key, &n, sizeof(n));
    key[15] = 1;
}

/* A hop with the port it came from is the same client as without: a proxy that writes ports
 * must not give each of a client's connections a bucket of its own. */
static void forwarded_addresses_with_ports(void **state)
{
    (void)state;
    unsigned char want4[16], want6[16], got[16];
    inet_pton(AF_INET, "198.51.100.7", want4);
    inet_pton(AF_INET6, "2001:db8::1", want6);
    static const char *const v4[] = {"198.51.100.7", "198.51.100.7:1", "198.51.100.7:65535"};
    for (size_t i = 0; i < sizeof(v4) / sizeof(v4[0]); i++) {
        memset(got, 0, sizeof(got));
        assert_int_equal(gh_request_parse_addr(v4[i], strlen(v4[i]), got), AF_INET);
        assert_memory_equal(got, want4, 4);
    }
    static const char *const v6[] = {"2001:db8::1", "[2001:db8::1]", "[2001:db8::1]:4711"};
    for (size_t i = 0; i < sizeof(v6) / sizeof(v6[0]); i++) {
        memset(got, 0, sizeof(got));
        assert_int_equal(gh_request_parse_addr(v6[i], strlen(v6[i]), got), AF_INET6);
        assert_memory_equal(got, want6, 16);
    }
    static const char *const bad[] = {"198.51.100.7:",   "198.51.100.7:123456", "198.51.100.7:8o",
                                      "[2001:db8::1]:",  "[2001:db8::1",        "2001:db8::1]:80",
                                      "unknown",         "_hidden:80",          "[198.51.100.7]x:1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (gh_request_parse_addr(bad[i], strlen(bad[i]), got) != 0)
            fail_msg("'%s' was read as an address", bad[i]);
}

/* A trusted proxy is trusted whether its address comes as IPv4 or IPv4-mapped IPv6 (the peers
 * of a dual-stack listener, or a hop written ::ffff:a.b.c.d). */
static void trusted_proxies_in_mapped_form(void **state)
{
    (void)state;
    static gh_config cfg;
    static gh_cidr nets[2] = {{AF_INET, {10}, 8}, {AF_INET6, {0x20, 0x01, 0x0d, 0xb8}, 32}};
    cfg.trusted_proxies = nets;
    cfg.ntrusted_proxies = 2;
    unsigned char a[16];
    static const char *const trusted[] = {"10.1.2.3", "::ffff:10.1.2.3", "[::ffff:a01:203]:80", "2001:db8::7"};
    for (size_t i = 0; i < sizeof(trusted) / sizeof(trusted[0]); i++) {
        int fam = gh_request_parse_addr(trusted[i], strlen(trusted[i]), a);
        if (!gh_request_trusted_addr(&cfg, fam, a))
            fail_msg("'%s' was not trusted", trusted[i]);
    }
    static const char *const others[] = {"11.1.2.3", "::ffff:11.1.2.3", "::10.1.2.3", "2001:db9::7"};
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        int fam = gh_request_parse_addr(others[i], strlen(others[i]), a);
        if (gh_request_trusted_addr(&cfg, fam, a))
            fail_msg("'%s' was trusted", others[i]);
    }
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
        cmocka_unit_test(forwarded_addresses_with_ports),
        cmocka_unit_test(trusted_proxies_in_mapped_form),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
