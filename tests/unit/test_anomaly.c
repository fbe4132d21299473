/* The anomaly detectors' arithmetic and state: the HyperLogLog's error within its stated bound,
 * the baselines, each detector's decision, and the shared table (windows, baselines folded at a
 * window's end, one report per window, bounded memory that keeps the heavy clients). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/sha.h>

#include "core/hex.h"
#include "core/siphash.h"
#include "fake_gate.h"
#include "gate/anomaly.h"
#include "store/anomaly_sketch.h"
#include "store/anomaly_table.h"

static uint64_t hash_of(uint64_t v)
{
    static const gh_sipkey k = {0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};
    gh_siphash h;
    gh_siphash_init(&h, &k);
    gh_siphash_u64(&h, v);
    return gh_siphash_final(&h);
}

/* Small counts, where the thresholds are, come out nearly exact; large ones within three
 * standard errors (3 x 13%), as docs/security.md states. Repeats count once. */
static void hll_within_its_bound(void **state)
{
    (void)state;
    static const unsigned sizes[] = {1, 5, 10, 30, 50, 100, 1000, 10000, 100000};
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        gh_hll h = {0};
        for (unsigned i = 0; i < sizes[s]; i++) {
            gh_hll_add(&h, hash_of(i + 1000000ULL * s));
            gh_hll_add(&h, hash_of(i + 1000000ULL * s)); /* twice: no difference */
        }
        double est = gh_hll_estimate(&h), n = sizes[s];
        double bound = n <= 100 ? 0.10 * n + 1 : 3 * 1.04 / 8 * n;
        if (fabs(est - n) > bound)
            fail_msg("%u distinct estimated as %.1f", sizes[s], est);
    }
    gh_hll empty = {0};
    assert_true(gh_hll_estimate(&empty) < 0.5);
}

/* The small range's linear counting and the large range's harmonic mean, against libm. */
static void hll_estimate_matches_its_formula(void **state)
{
    (void)state;
    for (unsigned zeros = 1; zeros <= GH_HLL_REGS; zeros++) {
        gh_hll h = {{0}};
        for (unsigned i = zeros; i < GH_HLL_REGS; i++)
            h.reg[i] = 1;
        assert_float_equal(gh_hll_estimate(&h), 64.0 * log(64.0 / zeros), 1e-9);
    }
    gh_hll full;
    double sum = 0;
    for (unsigned i = 0; i < GH_HLL_REGS; i++) {
        full.reg[i] = (uint8_t)(5 + i % 7);
        sum += ldexp(1.0, -(int)full.reg[i]);
    }
    assert_float_equal(gh_hll_estimate(&full), 0.709 * 64 * 64 / sum, 1e-9);
}

static void ewma_and_scores(void **state)
{
    (void)state;
    gh_ewma e = {0};
    for (int i = 0; i < 20; i++)
        gh_ewma_add(&e, i % 2 ? 12 : 8, 0.2);
    assert_true(e.mean > 9 && e.mean < 11);
    assert_int_equal(e.windows, 20);
    assert_true(gh_ewma_z(&e, 10) < 1);
    assert_true(gh_ewma_z(&e, 40) > 6);
    /* a flat baseline: the deviation is at least sqrt(mean), so one more is no spike */
    gh_ewma flat = {0};
    for (int i = 0; i < 10; i++)
        gh_ewma_add(&flat, 100, 0.2);
    assert_true(gh_ewma_z(&flat, 101) < 1);
    assert_true(gh_ewma_z(&flat, 200) > 6);
}

static void error_rate_decision(void **state)
{
    (void)state;
    gh_error_rate_rule r = {.min_errors = 20, .z = 4};
    gh_ewma none = {0}, usual = {0};
    for (int i = 0; i < 10; i++)
        gh_ewma_add(&usual, 3, 0.2);
    /* below the floor: never, whatever the baselines say */
    assert_false(gh_error_rate_fires(&r, 19, 19, &none, NAN));
    /* a newcomer over the floor with no route baseline */
    assert_true(gh_error_rate_fires(&r, 20, 20, &none, NAN));
    /* its own baseline: 25 errors where 3 are usual, against a route where few fail */
    assert_true(gh_error_rate_fires(&r, 25, 40, &usual, 0.05));
    /* a route where most requests fail (a health probe's 404s): 25 of 30 is ordinary there */
    assert_false(gh_error_rate_fires(&r, 25, 30, &none, 0.9));
    /* a client that always errs this much */
    gh_ewma high = {0};
    for (int i = 0; i < 10; i++)
        gh_ewma_add(&high, 24, 0.2);
    assert_false(gh_error_rate_fires(&r, 25, 40, &high, 0.05));
}

static void rate_spike_decision(void **state)
{
    (void)state;
    gh_rate_spike_rule r = {.min_requests = 100, .z = 6, .warmup = 3};
    gh_ewma b = {0};
    gh_ewma_add(&b, 20, 0.2);
    gh_ewma_add(&b, 22, 0.2);
    assert_false(gh_rate_spike_fires(&r, 500, &b)); /* not warmed up */
    gh_ewma_add(&b, 18, 0.2);
    assert_true(gh_rate_spike_fires(&r, 500, &b));
    assert_false(gh_rate_spike_fires(&r, 99, &b)); /* under the floor */
    assert_false(gh_rate_spike_fires(&r, 30, &b));
}

static void counts(void **state)
{
    (void)state;
    assert_false(gh_count_fires(4.4, 5));
    assert_true(gh_count_fires(4.6, 5));
    assert_true(gh_count_fires(5, 5));
    assert_false(gh_count_fires(1000, 0)); /* 0: no threshold */
}

static gh_anom_table *table(gh_anom_registry *reg, size_t keys)
{
    gh_anom_registry_init(reg);
    gh_anom_table *t = gh_anom_table_get(reg, keys);
    assert_non_null(t);
    return t;
}

/* Counts per window; a new window folds the old one into the baseline and starts at zero;
 * a claim is granted once per window. */
static void table_windows_and_claims(void **state)
{
    (void)state;
    gh_anom_registry reg;
    gh_anom_table *t = table(&reg, 1024);
    unsigned char k[16];
    gh_anom_key(t, 0, "sub:alice", 9, k);
    gh_anom_entry e;
    gh_anom_add one = {.requests = 1, .errors = 1, .has_value = true};
    for (int i = 0; i < 10; i++) {
        one.value_hash = hash_of((uint64_t)i);
        gh_anom_observe(t, k, 7, 1000, 0.5, &one, &e);
    }
    assert_int_equal(e.requests, 10);
    assert_int_equal(e.errors, 10);
    assert_true(fabs(gh_hll_estimate(&e.distinct) - 10) <= 1.5);
    assert_int_equal(e.errors_base.windows, 0);
    assert_true(gh_anom_claim(t, k, 7));
    assert_false(gh_anom_claim(t, k, 7)); /* once a window */
    assert_false(gh_anom_claim(t, k, 6)); /* not a window it is not in */
    gh_anom_observe(t, k, 9, 2000, 0.5, &one, &e); /* window 8 went by empty */
    assert_int_equal(e.requests, 1);
    assert_int_equal(e.errors_base.windows, 2);
    assert_true(e.errors_base.mean > 4 && e.errors_base.mean < 6); /* 10, then 0, alpha .5 */
    assert_true(gh_anom_claim(t, k, 9));
    /* another detector's key for the same client is another entry */
    unsigned char k2[16];
    gh_anom_key(t, 1, "sub:alice", 9, k2);
    assert_memory_not_equal(k, k2, 16);
    gh_anom_table_put(&reg, t);
    gh_anom_registry_free(&reg);
}

/* A flood of one-request keys does not push out a client that keeps sending (space-saving). */
static void table_bounded_keeps_heavy_clients(void **state)
{
    (void)state;
    gh_anom_registry reg;
    gh_anom_table *t = table(&reg, 64);
    unsigned char heavy[16];
    gh_anom_key(t, 0, "ip:203.0.113.9", 14, heavy);
    gh_anom_entry e;
    gh_anom_add many = {.requests = 1000}, one = {.requests = 1};
    gh_anom_observe(t, heavy, 1, 10, 0.5, &many, &e);
    for (unsigned i = 0; i < 100000; i++) {
        char text[32];
        int n = snprintf(text, sizeof(text), "ip:10.%u.%u.%u", i >> 16, (i >> 8) & 255, i & 255);
        unsigned char k[16];
        gh_anom_key(t, 0, text, (size_t)n, k);
        gh_anom_observe(t, k, 1, 10, 0.5, &one, &e);
    }
    gh_anom_observe(t, heavy, 1, 10, 0.5, &one, &e);
    assert_int_equal(e.requests, 1001); /* still counted from where it was */
    gh_anom_table_put(&reg, t);
    gh_anom_registry_free(&reg);
}

/* The registry shares a table between snapshots of the same size and hands it its actions. */
static void registry_shares_and_holds_actions(void **state)
{
    (void)state;
    gh_anom_registry reg;
    gh_anom_table *a = table(&reg, 128);
    gh_anom_table *b = gh_anom_table_get(&reg, 128);
    assert_ptr_equal(a, b);
    assert_ptr_equal(a->actions, &reg.actions);
    gh_anom_table *c = gh_anom_table_get(&reg, 256);
    assert_ptr_not_equal(a, c);
    gh_anom_table_put(&reg, a);
    gh_anom_table_put(&reg, b);
    gh_anom_table_put(&reg, c);
    gh_anom_registry_free(&reg);
}

/* A value goes to the shared count once per window; a new window, another value, another key or
 * a send that did not happen (unnoted) sends it again. */
static void shared_values_sent_once_per_window(void **state)
{
    (void)state;
    gh_anom_registry reg;
    gh_anom_table *t = table(&reg, 128);
    uint64_t fp = gh_anom_shared_fingerprint(t, 1, "ip:a", 4, "items/1", 7, 100);
    assert_true(gh_anom_shared_note(t, fp));
    assert_false(gh_anom_shared_note(t, fp));
    assert_false(gh_anom_shared_note(t, gh_anom_shared_fingerprint(t, 1, "ip:a", 4, "items/1", 7, 100)));
    uint64_t others[] = {gh_anom_shared_fingerprint(t, 1, "ip:a", 4, "items/1", 7, 101),
                         gh_anom_shared_fingerprint(t, 1, "ip:a", 4, "items/2", 7, 100),
                         gh_anom_shared_fingerprint(t, 1, "ip:b", 4, "items/1", 7, 100),
                         gh_anom_shared_fingerprint(t, 2, "ip:a", 4, "items/1", 7, 100),
                         /* the key and value bytes may not slide into each other */
                         gh_anom_shared_fingerprint(t, 1, "ip:ai", 5, "tems/1", 6, 100)};
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
        assert_true(others[i] != fp);
    gh_anom_shared_unnote(t, fp);
    assert_true(gh_anom_shared_note(t, fp));
    gh_anom_table_put(&reg, t);
    gh_anom_registry_free(&reg);
}

/* What the ban action was asked: the stand-in for the ban table. */
typedef struct bans {
    int calls;
    char key[64], detector[32], reason[256];
} bans;

static int64_t record_ban(void *ctx, const char *key, size_t len, const char *detector,
                          const char *reason, int64_t now)
{
    bans *b = ctx;
    assert_true(now > 1700000000); /* the wall clock */
    b->calls++;
    snprintf(b->key, sizeof(b->key), "%.*s", (int)len, key);
    snprintf(b->detector, sizeof(b->detector), "%s", detector);
    snprintf(b->reason, sizeof(b->reason), "%s", reason);
    return 60;
}

#define GATE_CONFIG(detector_line, allow_line)                                                     \
    "listeners: [{address: 127.0.0.1:1}]\n"                                                       \
    "anomaly:\n"                                                                                  \
    allow_line "  detectors:\n"                                                                   \
    "    unusual_method: {" detector_line "}\n"                                                   \
    "routes:\n"                                                                                   \
    "  - {name: hello, match: {path: /hello, methods: [GET]}, auth: none,\n"                      \
    "     respond: {status: 200, body: hi}}\n"

/* Four TRACE requests from the fake peer (192.0.2.1) to a gate with yaml: what was banned. */
static bans trace_four_times(const char *yaml, bool wired)
{
    static fake_gate g;
    memset(&g, 0, sizeof(g));
    fg_open(&g, yaml);
    bans b = {0};
    if (wired)
        g.shared.anomaly.actions = (gh_detect_actions){&b, record_ban};
    for (int i = 0; i < 4; i++) {
        fg_request(&g, "TRACE /hello HTTP/1.1\r\nHost: t\r\n\r\n");
        assert_null(g.req); /* answered and ended */
        fg_forget(&g);
    }
    const gh_anom_table *t = g.svc.snapshots.config->anomaly.table;
    unsigned long long logged = t->detections[GH_DETECT_UNUSUAL_METHOD][GH_DETECT_LOG],
                       banned = t->detections[GH_DETECT_UNUSUAL_METHOD][GH_DETECT_BAN];
    assert_true(logged + banned <= 1); /* once a window, however many more */
    if (b.calls)
        assert_int_equal(banned, 1);
    fg_close(&g);
    return b;
}

/* Mode ban: the ban action is called once in the window, with the client's key, the detector
 * and a reason naming it. */
static void ban_mode_calls_the_action(void **state)
{
    (void)state;
    bans b = trace_four_times(GATE_CONFIG("mode: ban, max_requests: 2", ""), true);
    assert_int_equal(b.calls, 1);
    assert_string_equal(b.key, "ip:192.0.2.1");
    assert_string_equal(b.detector, "unusual_method");
    assert_non_null(strstr(b.reason, "unusual_method: 2 requests"));
}

/* Mode log bans nobody; neither does mode ban before the ban table is wired (it logs); an
 * allow-listed client is not judged; off is off. */
static void log_unwired_allowed_and_off_ban_nobody(void **state)
{
    (void)state;
    assert_int_equal(trace_four_times(GATE_CONFIG("mode: log, max_requests: 2", ""), true).calls, 0);
    assert_int_equal(trace_four_times(GATE_CONFIG("mode: ban, max_requests: 2", ""), false).calls, 0);
    assert_int_equal(trace_four_times(GATE_CONFIG("mode: ban, max_requests: 2",
                                                  "  allow: [192.0.2.0/24]\n"), true).calls, 0);
    assert_int_equal(trace_four_times(GATE_CONFIG("mode: ban, max_requests: 2, allow: [192.0.2.1]",
                                                  ""), true).calls, 0);
    assert_int_equal(trace_four_times(GATE_CONFIG("mode: off, max_requests: 2", ""), true).calls, 0);
    assert_int_equal(trace_four_times(GATE_CONFIG("mode: ban, max_requests: 5", ""), true).calls, 0);
}

/* A request refused before its method was read (a head timeout, a broken request line) has no
 * method: it is no unusual method, however many a client's connections time out. */
static void no_method_is_not_an_unusual_method(void **state)
{
    (void)state;
    static fake_gate g;
    memset(&g, 0, sizeof(g));
    fg_open(&g, GATE_CONFIG("max_requests: 2", ""));
    const gh_anom_table *t = g.svc.snapshots.config->anomaly.table;
    static gh_request r;
    memset(&r, 0, sizeof(r));
    r.svc = &g.svc;
    r.config = g.svc.snapshots.config;
    strcpy(r.client_ip, "192.0.2.1");
    r.reason = GH_R_HEAD_TIMEOUT;
    r.status = 408;
    for (int i = 0; i < 4; i++)
        gh_anomaly_request(&g.svc, &r);
    assert_int_equal(t->detections[GH_DETECT_UNUSUAL_METHOD][GH_DETECT_LOG], 0);
    r.h1.method = "TRACE"; /* the same with a method: reported */
    r.h1.method_len = 5;
    r.reason = GH_R_METHOD_NOT_ALLOWED;
    r.status = 405;
    for (int i = 0; i < 2; i++)
        gh_anomaly_request(&g.svc, &r);
    assert_int_equal(t->detections[GH_DETECT_UNUSUAL_METHOD][GH_DETECT_LOG], 1);
    fg_close(&g);
}

/* EVALSHA names the shared count's script by the digest written beside it: an edit of the
 * script that forgot the digest would send the whole text with every call (NOSCRIPT). */
static void shared_count_digest_matches_its_script(void **state)
{
    (void)state;
    unsigned char md[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)gh_anomaly_shared_count_script,
         strlen(gh_anomaly_shared_count_script), md);
    char hex[2 * SHA_DIGEST_LENGTH + 1];
    gh_hex_encode(md, sizeof(md), hex);
    hex[2 * SHA_DIGEST_LENGTH] = '\0';
    assert_string_equal(gh_anomaly_shared_count_sha1, hex);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hll_within_its_bound),
        cmocka_unit_test(hll_estimate_matches_its_formula),
        cmocka_unit_test(ewma_and_scores),
        cmocka_unit_test(error_rate_decision),
        cmocka_unit_test(rate_spike_decision),
        cmocka_unit_test(counts),
        cmocka_unit_test(table_windows_and_claims),
        cmocka_unit_test(table_bounded_keeps_heavy_clients),
        cmocka_unit_test(registry_shares_and_holds_actions),
        cmocka_unit_test(shared_values_sent_once_per_window),
        cmocka_unit_test(ban_mode_calls_the_action),
        cmocka_unit_test(log_unwired_allowed_and_off_ban_nobody),
        cmocka_unit_test(no_method_is_not_an_unusual_method),
        cmocka_unit_test(shared_count_digest_matches_its_script),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
