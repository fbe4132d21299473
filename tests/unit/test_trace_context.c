/* The trace context parsers (wire/trace_context.h): W3C traceparent read strictly, a later
 * version by its first four fields, tracestate's limits, b3 single header. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "wire/trace_context.h"

#define T "4bf92f3577b34da6a3ce929d0e0e4736"
#define P "00f067aa0ba902b7"

static bool tp(const char *v, gh_trace_parent *out)
{
    return gh_traceparent_parse(v, strlen(v), out);
}

static void traceparent_valid(void **state)
{
    (void)state;
    gh_trace_parent p;
    assert_true(tp("00-" T "-" P "-01", &p));
    assert_string_equal(p.trace_id, T);
    assert_string_equal(p.parent_id, P);
    assert_int_equal(p.flags, 1);
    assert_true(tp("00-" T "-" P "-00", &p));
    assert_int_equal(p.flags, 0);
    /* Version 00's flags are kept as they came (a later level's flags with them). */
    assert_true(tp("00-" T "-" P "-03", &p));
    assert_int_equal(p.flags, 3);
}

static void traceparent_invalid(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "00-" T "-" P "-0",
        "00-" T "-" P "-010",
        "00-" T "-" P "-01-",
        "00-" T "-" P "-01-extra", /* version 00 has four fields, 55 characters */
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-" P "-01", /* uppercase */
        "00-" T "-00F067AA0BA902B7-01",
        "00-" T "-" P "-0A",
        "0A-" T "-" P "-01",
        "00-00000000000000000000000000000000-" P "-01", /* all zeros */
        "00-" T "-0000000000000000-01",
        "00-" T "0-" P "-01", /* lengths */
        "00-4bf92f3577b34da6a3ce929d0e0e473-" P "-01",
        "00-" T "-00f067aa0ba902b-01",
        "00_" T "_" P "_01",
        "ff-" T "-" P "-01", /* version ff is invalid */
        "0g-" T "-" P "-01",
        "00-" T "-" P "-0g",
        "00-4bf92f3577b34da6a3ce929d0e0e473g-" P "-01",
        " 00-" T "-" P "-01",
        "cc-" T "-" P "-01x", /* a later version: flags end at the end or '-' */
        "cc-" T "-" P,
    };
    gh_trace_parent p;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (tp(bad[i], &p))
            fail_msg("accepted \"%s\"", bad[i]);
}

static void traceparent_later_version(void **state)
{
    (void)state;
    gh_trace_parent p;
    assert_true(tp("cc-" T "-" P "-01", &p));
    assert_true(tp("01-" T "-" P "-03-what-the-future-holds", &p));
    assert_string_equal(p.trace_id, T);
    assert_string_equal(p.parent_id, P);
    assert_int_equal(p.flags, 1); /* only "sampled" is understood of a later version */
    assert_true(tp("fe-" T "-" P "-00-", &p));
    assert_int_equal(p.flags, 0);
}

static bool ts(const char *v)
{
    return gh_tracestate_ok(v, strlen(v));
}

static void tracestate_limits(void **state)
{
    (void)state;
    char list[1024];
    size_t n = 0;
    for (int i = 0; i < 33; i++)
        n += (size_t)snprintf(list + n, sizeof(list) - n, "%sk%d=v", i ? "," : "", i);
    assert_false(ts(list)); /* 33 members */
    *strrchr(list, ',') = '\0';
    assert_true(ts(list)); /* 32 */
    memset(list, 'v', sizeof(list));
    memcpy(list, "a=", 2);
    memcpy(list + 256, ",b=", 3);
    list[512] = '\0';
    assert_true(ts(list)); /* 512 bytes */
    list[512] = 'v';
    list[513] = '\0';
    assert_false(ts(list));
    assert_true(ts("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"));
    assert_true(ts("a=1,,  ,b=2 "));
    assert_true(ts("tenant@sys=x y"));
    assert_true(ts(""));
    assert_false(ts("a=1,a=2")); /* a key twice */
    assert_false(ts("A=1"));     /* keys are lowercase */
    assert_false(ts("1a=1"));
    assert_false(ts("a"));
    assert_false(ts("a="));
    assert_false(ts("a=x=y"));
    assert_false(ts("a=\x7f"));
    assert_false(ts("@sys=1"));
    assert_false(ts("t@=1"));
    assert_false(ts("t@sysabcdefghijklm=1")); /* a system id of 15 */
}

static bool b3(const char *v, gh_trace_parent *out)
{
    return gh_b3_parse(v, strlen(v), out);
}

static void b3_single(void **state)
{
    (void)state;
    gh_trace_parent p;
    assert_true(b3(T "-" P, &p));
    assert_string_equal(p.trace_id, T);
    assert_string_equal(p.parent_id, P);
    assert_int_equal(p.flags, 1);
    assert_true(b3(T "-" P "-0", &p));
    assert_int_equal(p.flags, 0);
    assert_true(b3(T "-" P "-d-05e3ac9a4f6e3b90", &p));
    assert_int_equal(p.flags, 1);
    assert_true(b3("a3ce929d0e0e4736-" P "-1", &p)); /* 64-bit trace id */
    assert_string_equal(p.trace_id, "0000000000000000a3ce929d0e0e4736");
    static const char *const bad[] = {
        "0",
        "1",
        "d",
        T,
        T "-",
        T "-" P "-",
        T "-" P "-2",
        T "-" P "-1-",
        T "-" P "-1-0000000000000000",
        T "-" P "-1-05e3ac9a4f6e3b9",
        "4BF92F3577B34DA6A3CE929D0E0E4736-" P,
        "0000000000000000-" P,
        T "-0000000000000000",
        T "-" P "x",
        "a3ce929d0e0e473-" P,
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (b3(bad[i], &p))
            fail_msg("accepted \"%s\"", bad[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(traceparent_valid),
        cmocka_unit_test(traceparent_invalid),
        cmocka_unit_test(traceparent_later_version),
        cmocka_unit_test(tracestate_limits),
        cmocka_unit_test(b3_single),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
