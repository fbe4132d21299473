/* The security events' reason table and folding: every reason of core/reason.h says which
 * event it is (a reason added without a line fails here), the refusals that are attacks are
 * events, and folding writes at most max_per_second lines per key and second, then one with
 * the count, in a table of fixed size. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "observe/security_events.h"

static void every_reason_has_its_event(void **state)
{
    (void)state;
    for (int r = 0; r < GH_R__COUNT; r++)
        if (!gh_sec_reason_mapped((gh_reason)r))
            fail_msg("reason %s has no line in the security event table", gh_reason_slug(r));
}

static void the_refusals_that_are_attacks_are_events(void **state)
{
    (void)state;
    assert_int_equal(gh_sec_reason_action(GH_R_INVALID_TOKEN), GH_SEC_AUTHN_FAILURE);
    assert_int_equal(gh_sec_reason_action(GH_R_MISSING_API_KEY), GH_SEC_AUTHN_FAILURE);
    assert_int_equal(gh_sec_reason_action(GH_R_INSUFFICIENT_SCOPE), GH_SEC_AUTHZ_DENIED);
    assert_int_equal(gh_sec_reason_action(GH_R_RATE_LIMITED), GH_SEC_RATE_LIMITED);
    assert_int_equal(gh_sec_reason_action(GH_R_TE_WITH_CL), GH_SEC_REQUEST_REFUSED);
    assert_int_equal(gh_sec_reason_action(GH_R_INVALID_SIGNATURE), GH_SEC_WEBHOOK_SIGNATURE);
    assert_int_equal(gh_sec_reason_action(GH_R_CLIENT_CERT_MISMATCH), GH_SEC_CLIENT_CERT);
    assert_int_equal(gh_sec_reason_action(GH_R_UPSTREAM_TIMEOUT), GH_SEC_NONE);
    /* Every 401 and 403 is someone refused an identity or a permission: an event. */
    for (int r = GH_R_AGAIN + 1; r < GH_R__COUNT; r++) {
        int status = gh_reason_status((gh_reason)r);
        if ((status == 401 || status == 403) && gh_sec_reason_action((gh_reason)r) == GH_SEC_NONE)
            fail_msg("%s (%d) is no security event", gh_reason_slug(r), status);
    }
    assert_string_equal(gh_sec_action_name(GH_SEC_CONFIG_RELOADED), "configuration-reloaded");
}

static void unusual_methods(void **state)
{
    (void)state;
    assert_true(gh_sec_method_unusual("TRACE", 5));
    assert_true(gh_sec_method_unusual("PROPFIND", 8));
    assert_true(gh_sec_method_unusual("GE", 2));
    assert_false(gh_sec_method_unusual("GET", 3));
    assert_false(gh_sec_method_unusual("OPTIONS", 7));
}

typedef struct seen {
    int n;
    uint32_t count;
    char source[48];
} seen;

static void note(void *arg, const gh_sec_fold_slot *s)
{
    seen *w = arg;
    w->n++;
    w->count = s->ended_folded;
    snprintf(w->source, sizeof(w->source), "%s", s->source);
}

static void folding_keeps_max_per_second_and_counts_the_rest(void **state)
{
    (void)state;
    static gh_sec_fold f;
    memset(&f, 0, sizeof(f));
    int written = 0;
    for (int i = 0; i < 25; i++)
        written +=
            gh_sec_fold_admit(&f, GH_SEC_AUTHN_FAILURE, "10.0.0.1", "invalid-token", "r", 100, 10);
    assert_int_equal(written, 10);
    /* Another source and another action have their own allowance. */
    assert_true(
        gh_sec_fold_admit(&f, GH_SEC_AUTHN_FAILURE, "10.0.0.2", "invalid-token", "r", 100, 10));
    assert_true(
        gh_sec_fold_admit(&f, GH_SEC_RATE_LIMITED, "10.0.0.1", "rate-limited", "r", 100, 10));
    seen w = {0};
    gh_sec_fold_flush(&f, 100, note, &w); /* the second has not ended */
    assert_int_equal(w.n, 0);
    gh_sec_fold_flush(&f, 101, note, &w);
    assert_int_equal(w.n, 1);
    assert_int_equal(w.count, 15);
    assert_string_equal(w.source, "10.0.0.1");
    /* The next second starts afresh. */
    assert_true(
        gh_sec_fold_admit(&f, GH_SEC_AUTHN_FAILURE, "10.0.0.1", "invalid-token", "r", 101, 10));
}

static void the_next_second_is_limited_before_the_flush(void **state)
{
    (void)state;
    static gh_sec_fold f;
    memset(&f, 0, sizeof(f));
    for (int i = 0; i < 5; i++)
        gh_sec_fold_admit(&f, GH_SEC_RATE_LIMITED, "10.0.0.1", "rate-limited", "r", 200, 2);
    /* Second 201 begins before the timer flushed 200: its own allowance, no more. */
    int written = 0;
    for (int i = 0; i < 5; i++)
        written +=
            gh_sec_fold_admit(&f, GH_SEC_RATE_LIMITED, "10.0.0.1", "rate-limited", "r", 201, 2);
    assert_int_equal(written, 2);
    seen w = {0};
    gh_sec_fold_flush(&f, 201, note, &w); /* 200's three, 201 still counting */
    assert_int_equal(w.n, 1);
    assert_int_equal(w.count, 3);
    gh_sec_fold_flush(&f, 202, note, &w);
    assert_int_equal(w.n, 2);
    assert_int_equal(w.count, 3);
    gh_sec_fold_flush(&f, 203, note, &w); /* nothing left */
    assert_int_equal(w.n, 2);
}

static void the_table_stays_its_size_under_many_sources(void **state)
{
    (void)state;
    static gh_sec_fold f;
    memset(&f, 0, sizeof(f));
    char ip[48];
    for (int i = 0; i < 10 * GH_SEC_FOLD_SLOTS; i++) {
        snprintf(ip, sizeof(ip), "10.0.%d.%d", i / 256, i % 256);
        assert_true(gh_sec_fold_admit(&f, GH_SEC_REQUEST_REFUSED, ip, "bad-host", NULL, 7, 1));
    }
    assert_int_equal(sizeof(f.slots) / sizeof(f.slots[0]), GH_SEC_FOLD_SLOTS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_reason_has_its_event),
        cmocka_unit_test(the_refusals_that_are_attacks_are_events),
        cmocka_unit_test(unusual_methods),
        cmocka_unit_test(folding_keeps_max_per_second_and_counts_the_rest),
        cmocka_unit_test(the_next_second_is_limited_before_the_flush),
        cmocka_unit_test(the_table_stays_its_size_under_many_sources),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
