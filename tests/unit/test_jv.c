/* The JSON reader bodies go through: values, escapes, numbers (the fast path against strtod),
 * and every refusal with its reason: malformed text, limits, duplicate keys, bad UTF-8. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "collide.h"
#include "core/jv.h"
#include "core/siphash.h"

static const gh_jv *parse(gh_arena *a, const char *text, const char **why)
{
    gh_jv_limits lim = {8, 64};
    size_t at;
    *why = NULL;
    return gh_jv_parse(text, strlen(text), &lim, a, why, &at);
}

static void values(void **state)
{
    (void)state;
    gh_arena a;
    gh_arena_init(&a, 4096, 1u << 20);
    const char *why;
    const gh_jv *v = parse(&a, " {\"a\": [1, -2.5, true, false, null, \"x\\u00e9\\ud83d\\ude00\\n\"], \"b\": {}} ", &why);
    assert_non_null(v);
    assert_int_equal(v->type, GH_JV_OBJECT);
    const gh_jv *arr = gh_jv_get(v, "a", 1);
    assert_non_null(arr);
    assert_int_equal(arr->len, 6);
    assert_true(arr->u.items[0].integral && arr->u.items[0].u.num == 1);
    assert_true(!arr->u.items[1].integral && arr->u.items[1].u.num == -2.5);
    assert_int_equal(arr->u.items[2].type, GH_JV_TRUE);
    assert_int_equal(arr->u.items[4].type, GH_JV_NULL);
    assert_int_equal(arr->u.items[5].len, 1 + 2 + 4 + 1);
    assert_memory_equal(arr->u.items[5].u.str, "x\xc3\xa9\xf0\x9f\x98\x80\n", 8);
    assert_int_equal(gh_jv_get(v, "b", 1)->len, 0);
    assert_null(gh_jv_get(v, "c", 1));
    const gh_jv *one = parse(&a, "1.0", &why), *other = parse(&a, "1", &why);
    assert_true(one->integral && gh_jv_equal(one, other));
    const gh_jv *x = parse(&a, "{\"a\":1,\"b\":[2]}", &why), *y = parse(&a, "{\"b\":[2.0],\"a\":1}", &why);
    assert_true(gh_jv_equal(x, y));
    gh_arena_free(&a);
}

static void numbers_match_strtod(void **state)
{
    (void)state;
    gh_arena a;
    gh_arena_init(&a, 4096, 1u << 22);
    srand(7);
    char text[64];
    const char *why;
    for (int i = 0; i < 20000; i++) {
        int whole = rand() % 8, frac = rand() % 9;
        size_t n = 0;
        if (rand() % 3 == 0)
            text[n++] = '-';
        text[n++] = (char)('1' + rand() % 9);
        for (int k = 0; k < whole; k++)
            text[n++] = (char)('0' + rand() % 10);
        if (frac) {
            text[n++] = '.';
            for (int k = 0; k < frac; k++)
                text[n++] = (char)('0' + rand() % 10);
        }
        text[n] = '\0';
        const gh_jv *v = parse(&a, text, &why);
        assert_non_null(v);
        if (v->u.num != strtod(text, NULL))
            fail_msg("%s read as %.17g, strtod says %.17g", text, v->u.num, strtod(text, NULL));
    }
    const gh_jv *big = parse(&a, "1e308", &why), *huge = parse(&a, "1e400", &why);
    assert_non_null(big);
    assert_null(huge);
    gh_arena_free(&a);
}

static void refusals(void **state)
{
    (void)state;
    gh_arena a;
    gh_arena_init(&a, 4096, 1u << 20);
    static const struct {
        const char *text, *why;
    } bad[] = {
        {"", "the text ends before a value"},
        {"{\"a\":1,}", "an object key that is not a string"},
        {"[1,]", "an unexpected character"},
        {"[1 2]", "a missing ',' or ']' in an array"},
        {"{\"a\" 1}", "a missing ':' after an object key"},
        {"{\"a\":1,\"a\":2}", "a duplicate key in an object"},
        {"\"abc", "a string that does not end"},
        {"\"a\x01\"", "a control character in a string"},
        {"\"\xff\"", "a string that is not UTF-8"},
        {"\"\xc0\xae\"", "a string that is not UTF-8"},
        {"\"\\ud800\"", "a lone surrogate in a string"},
        {"\"\\x\"", "a malformed escape in a string"},
        {"01", "characters after the value"},
        {"1.", "a malformed number"},
        {"-", "a malformed number"},
        {"1e", "a malformed number"},
        {"tru", "an unexpected character"},
        {"[[[[[[[[[1]]]]]]]]]", "nested deeper than the limit"},
        {"\"" "0123456789012345678901234567890123456789012345678901234567890123456789" "\"",
         "a string longer than the limit"},
        {"1 2", "characters after the value"},
    };
    const char *why;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse(&a, bad[i].text, &why))
            fail_msg("%s accepted", bad[i].text);
        if (strcmp(why, bad[i].why) != 0)
            fail_msg("%s: %s, not %s", bad[i].text, why, bad[i].why);
    }
    /* Many keys: duplicates found by hashing, not pairwise. */
    char big[8192];
    size_t n = (size_t)snprintf(big, sizeof(big), "{");
    for (int i = 0; i < 300; i++)
        n += (size_t)snprintf(big + n, sizeof(big) - n, "\"k%d\":%d,", i, i);
    snprintf(big + n, sizeof(big) - n, "\"k17\":0}");
    assert_null(parse(&a, big, &why));
    assert_string_equal(why, "a duplicate key in an object");
    big[n - 1] = '}';
    big[n] = '\0';
    assert_non_null(parse(&a, big, &why));
    gh_arena_free(&a);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The best of five parses of an object whose n keys are at keys: seconds. */
static double parse_time(const char *keys, size_t n)
{
    size_t cap = n * (COLLIDE_KEY_LEN + 8) + 8, len = 0;
    char *text = malloc(cap);
    text[len++] = '{';
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(text + len, cap - len, "%s\"%s\":0", i ? "," : "",
                                keys + i * (COLLIDE_KEY_LEN + 1));
    text[len++] = '}';
    double best = 1e9;
    for (int round = 0; round < 5; round++) {
        gh_arena a;
        gh_arena_init(&a, 1u << 16, GH_JV_TREE_BOUND(len));
        gh_jv_limits lim = {8, 64};
        const char *why = NULL;
        size_t at;
        double t0 = now_s();
        const gh_jv *v = gh_jv_parse(text, len, &lim, &a, &why, &at);
        double t = now_s() - t0;
        assert_non_null(v);
        assert_int_equal(v->len, n);
        best = t < best ? t : best;
        gh_arena_free(&a);
    }
    free(text);
    return best;
}

/* Keys crafted to share one chain of an unkeyed hash cost about what random keys cost: the
 * duplicate-key table is keyed per parse and its probes are bounded. */
static void colliding_keys_bounded(void **state)
{
    (void)state;
    enum { N = 12000 };
    char *bad = malloc(N * (COLLIDE_KEY_LEN + 1)), *good = malloc(N * (COLLIDE_KEY_LEN + 1));
    assert_int_equal(collide_keys(bad, N), N);
    random_keys(good, N);
    for (size_t i = 1; i < N; i++) { /* they do collide under FNV-1a */
        uint64_t h0 = 1469598103934665603ull, h1 = h0;
        for (int j = 0; j < COLLIDE_KEY_LEN; j++) {
            h0 = (h0 ^ (unsigned char)bad[j]) * 1099511628211ull;
            h1 = (h1 ^ (unsigned char)bad[i * (COLLIDE_KEY_LEN + 1) + j]) * 1099511628211ull;
        }
        assert_int_equal(h0 & 0xffff, h1 & 0xffff);
    }
    double t_bad = parse_time(bad, N), t_good = parse_time(good, N);
    print_message("colliding keys %.4f s, random keys %.4f s\n", t_bad, t_good);
    if (t_bad > 10 * t_good + 0.05)
        fail_msg("colliding keys took %.4f s against %.4f s for random ones", t_bad, t_good);
    /* A duplicate among colliding keys is still found. */
    memcpy(bad + (N - 1) * (COLLIDE_KEY_LEN + 1), bad, COLLIDE_KEY_LEN + 1);
    size_t cap = N * (COLLIDE_KEY_LEN + 8) + 8, len = 0;
    char *text = malloc(cap);
    text[len++] = '{';
    for (size_t i = 0; i < N; i++)
        len += (size_t)snprintf(text + len, cap - len, "%s\"%s\":0", i ? "," : "", bad + i * (COLLIDE_KEY_LEN + 1));
    text[len++] = '}';
    gh_arena a;
    gh_arena_init(&a, 1u << 16, GH_JV_TREE_BOUND(len));
    gh_jv_limits lim = {8, 64};
    const char *why = NULL;
    size_t at;
    assert_null(gh_jv_parse(text, len, &lim, &a, &why, &at));
    assert_string_equal(why, "a duplicate key in an object");
    gh_arena_free(&a);
    free(text);
    free(bad);
    free(good);
}

/* SipHash-1-3 against known answers (key 00..0f, message 00..n-1), whole and fed byte by byte. */
static void siphash13_vectors(void **state)
{
    (void)state;
    gh_sipkey k = {0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};
    unsigned char m[64];
    for (int i = 0; i < 64; i++)
        m[i] = (unsigned char)i;
    assert_true(gh_siphash13(&k, m, 0) == 0xabac0158050fc4dcull);
    assert_true(gh_siphash13(&k, m, 1) == 0xc9f49bf37d57ca93ull);
    assert_true(gh_siphash13(&k, m, 15) == 0xd320d86d2a519956ull);
    assert_true(gh_siphash13(&k, m, 63) == 0x9d199062b7bbb3a8ull);
    gh_siphash h;
    gh_siphash_init(&h, &k);
    for (int i = 0; i < 63; i++)
        gh_siphash_update(&h, m + i, 1);
    assert_true(gh_siphash_final(&h) == 0x9d199062b7bbb3a8ull);
    gh_sipkey r1, r2;
    assert_true(gh_sipkey_random(&r1) && gh_sipkey_random(&r2));
    assert_true(r1.k0 != r2.k0 || r1.k1 != r2.k1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(values), cmocka_unit_test(numbers_match_strtod),
                                       cmocka_unit_test(refusals), cmocka_unit_test(colliding_keys_bounded),
                                       cmocka_unit_test(siphash13_vectors)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
