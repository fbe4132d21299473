/* The busiest clients in bounded memory (observe/top_clients.c): a client with more than
 * 1/GH_TOP_CLIENTS of the requests is held whatever the noise around it, a count overstates by
 * at most its error, refusals are counted apart, and counts halve each minute so the list
 * follows who is busy now. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "observe/top_clients.h"

#define S 1000000ULL

static const gh_top_client *find(const gh_top_client *c, unsigned n, const char *key)
{
    for (unsigned i = 0; i < n; i++)
        if (strcmp(c[i].key, key) == 0)
            return &c[i];
    return NULL;
}

static void heavy_hitter_kept_among_many_once_seen(void **state)
{
    (void)state;
    gh_top_clients t;
    assert_int_equal(gh_top_clients_init(&t), 0);
    char addr[32];
    /* 5000 distinct clients once each and, once every slot is taken, one client every ninth
     * request: 10 % of the traffic, well above 1/GH_TOP_CLIENTS. */
    unsigned long long true_count = 0;
    for (int i = 0; i < 5000; i++) {
        snprintf(addr, sizeof(addr), "10.0.%d.%d", i / 250, i % 250);
        gh_top_clients_add(&t, addr, false, S);
        if (i >= 1000 && i % 9 == 0) {
            gh_top_clients_add(&t, "203.0.113.7", true, S);
            true_count++;
        }
    }
    gh_top_client c[GH_TOP_CLIENTS];
    unsigned n = gh_top_clients_copy(&t, c);
    assert_int_equal(n, GH_TOP_CLIENTS);
    const gh_top_client *hot = find(c, n, "203.0.113.7");
    assert_non_null(hot);
    assert_true(hot->count >= true_count);
    assert_true(hot->count - hot->error <= true_count);
    assert_true(hot->refused <= hot->count && hot->refused > 0);
    gh_top_clients_free(&t);
}

static void counts_are_exact_while_slots_remain(void **state)
{
    (void)state;
    gh_top_clients t;
    assert_int_equal(gh_top_clients_init(&t), 0);
    for (int i = 0; i < 7; i++)
        gh_top_clients_add(&t, "a", i < 2, S);
    gh_top_clients_add(&t, "b", false, S);
    gh_top_clients_add(&t, "", false, S); /* no address: not counted */
    gh_top_client c[GH_TOP_CLIENTS];
    unsigned n = gh_top_clients_copy(&t, c);
    assert_int_equal(n, 2);
    const gh_top_client *a = find(c, n, "a");
    assert_int_equal(a->count, 7);
    assert_int_equal(a->refused, 2);
    assert_int_equal(a->error, 0);
    gh_top_clients_free(&t);
}

static void counts_halve_each_minute(void **state)
{
    (void)state;
    gh_top_clients t;
    assert_int_equal(gh_top_clients_init(&t), 0);
    for (int i = 0; i < 8; i++)
        gh_top_clients_add(&t, "old", false, S);
    gh_top_clients_add(&t, "once", false, S);
    gh_top_clients_add(&t, "new", false, S + GH_TOP_CLIENTS_HALVING_US);
    gh_top_client c[GH_TOP_CLIENTS];
    unsigned n = gh_top_clients_copy(&t, c);
    assert_int_equal(find(c, n, "old")->count, 4);
    assert_null(find(c, n, "once")); /* halved to nothing: let go */
    assert_int_equal(find(c, n, "new")->count, 1);
    gh_top_clients_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(heavy_hitter_kept_among_many_once_seen),
        cmocka_unit_test(counts_are_exact_while_slots_remain),
        cmocka_unit_test(counts_halve_each_minute),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
