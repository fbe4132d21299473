/* Passive outlier ejection and the retry budget, on the shared state the workers use: a streak
 * of failures ejects, max_ejection_percent holds, ejections grow and are forgiven, an active
 * check's success readmits; retries per second stay within percent of the requests plus min. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "store/upstream_state.h"

#define S 1000000ULL /* a second in microseconds */

static const gh_outlier_conf outlier = {
    .consecutive_failures = 3, .base_ejection_ms = 10000, .max_ejection_ms = 25000,
    .max_ejection_percent = 50};

typedef struct group {
    gh_upstream_registry reg;
    gh_upstream_state *up;
    gh_endpoint_state *e[4];
} group;

static void group_init(group *g)
{
    gh_upstream_registry_init(&g->reg);
    g->up = gh_upstream_state_get(&g->reg, "app");
    const char *urls[] = {"http://a:1", "http://b:1", "http://c:1", "http://d:1"};
    for (int i = 0; i < 4; i++)
        g->e[i] = gh_endpoint_state_get(g->up, urls[i]);
}

static uint64_t failure(group *g, int i, size_t n, uint64_t now)
{
    return gh_endpoint_failed(g->e[i], g->e, n, &g->up->eject_mu, &outlier, now);
}

static void a_streak_ejects_and_success_breaks_it(void **state)
{
    (void)state;
    group g;
    group_init(&g);
    uint64_t t = 100 * S;
    assert_int_equal(failure(&g, 0, 4, t), 0);
    assert_int_equal(failure(&g, 0, 4, t), 0);
    gh_endpoint_succeeded(g.e[0]);
    assert_int_equal(failure(&g, 0, 4, t), 0); /* the streak started again */
    assert_int_equal(failure(&g, 0, 4, t), 0);
    assert_int_equal(failure(&g, 0, 4, t), 10000);
    assert_false(gh_endpoint_available(g.e[0], t + 9 * S));
    assert_true(gh_endpoint_available(g.e[0], t + 10 * S));
    assert_ptr_equal(gh_endpoint_state_get(g.up, "http://a:1"), g.e[0]); /* kept by URL */
    gh_upstream_registry_free(&g.reg);
}

static void never_more_than_max_ejection_percent(void **state)
{
    (void)state;
    group g;
    group_init(&g);
    uint64_t t = 100 * S;
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < 3; k++)
            failure(&g, i, 4, t);
    int out = 0;
    for (int i = 0; i < 4; i++)
        out += !gh_endpoint_available(g.e[i], t);
    assert_int_equal(out, 2); /* 50 % of 4 */
    /* An upstream of one endpoint: never ejected. */
    group one;
    group_init(&one);
    for (int k = 0; k < 30; k++)
        assert_int_equal(failure(&one, 0, 1, t), 0);
    assert_true(gh_endpoint_available(one.e[0], t));
    gh_upstream_registry_free(&g.reg);
    gh_upstream_registry_free(&one.reg);
}

static void ejections_grow_to_the_cap_and_are_forgiven(void **state)
{
    (void)state;
    group g;
    group_init(&g);
    uint64_t t = 100 * S;
    for (int k = 0; k < 2; k++)
        failure(&g, 0, 4, t);
    assert_int_equal(failure(&g, 0, 4, t), 10000);
    t += 10 * S; /* back in rotation, fails again at once */
    failure(&g, 0, 4, t);
    failure(&g, 0, 4, t);
    assert_int_equal(failure(&g, 0, 4, t), 20000);
    t += 20 * S;
    failure(&g, 0, 4, t);
    failure(&g, 0, 4, t);
    assert_int_equal(failure(&g, 0, 4, t), 25000); /* 30 s capped at max_ejection_time */
    t += 25 * S + 25 * S; /* 25 s in rotation: two base times forgiven, one remembered */
    failure(&g, 0, 4, t);
    failure(&g, 0, 4, t);
    assert_int_equal(failure(&g, 0, 4, t), 20000);
    gh_upstream_registry_free(&g.reg);
}

static void a_passing_check_readmits(void **state)
{
    (void)state;
    group g;
    group_init(&g);
    uint64_t t = 100 * S;
    for (int k = 0; k < 3; k++)
        failure(&g, 1, 4, t);
    assert_false(gh_endpoint_available(g.e[1], t + S));
    assert_true(gh_endpoint_checked(g.e[1], GH_HEALTH_UP, t + S));
    assert_true(gh_endpoint_available(g.e[1], t + S));
    assert_true(gh_endpoint_checked(g.e[1], GH_HEALTH_DOWN, t + 2 * S));
    assert_false(gh_endpoint_available(g.e[1], t + 2 * S));
    assert_false(gh_endpoint_checked(g.e[1], GH_HEALTH_DOWN, t + 3 * S));
    gh_upstream_registry_free(&g.reg);
}

/* A state lives while a snapshot names it: the last use takes it out; the addresses of a
 * name are those of its states that the snapshot in force names, not every state in use. */
static void states_go_with_their_last_use(void **state)
{
    (void)state;
    gh_upstream_registry reg;
    gh_upstream_registry_init(&reg);
    gh_upstream_state *up = gh_upstream_state_get(&reg, "app");
    gh_endpoint_state *a = gh_endpoint_state_get(up, "http://api:1@10.0.0.1");
    gh_endpoint_state *b = gh_endpoint_state_get(up, "http://api:1@::1");
    assert_ptr_equal(gh_endpoint_state_get(up, "http://api:1@10.0.0.1"), a); /* a reload */
    gh_endpoint_state *other = gh_endpoint_state_get(up, "http://apiary:1@10.0.0.9");
    gh_endpoint_state *held = gh_endpoint_state_get(up, "http://api:1@10.0.0.2");
    gh_endpoint_state_in_force(a, true);
    gh_endpoint_state_in_force(b, true);
    gh_endpoint_state_in_force(other, true); /* another name with that prefix */
    /* held: only a snapshot that requests in flight hold names it (DNS took it away). */
    char text[4][48];
    size_t n = gh_endpoint_state_addresses(up, "http://api:1", text, 4);
    assert_int_equal(n, 2);
    assert_true((strcmp(text[0], "10.0.0.1") == 0 && strcmp(text[1], "::1") == 0) ||
                (strcmp(text[1], "10.0.0.1") == 0 && strcmp(text[0], "::1") == 0));
    atomic_store(&a->fails, 2);
    gh_endpoint_state_put(up, a); /* the old snapshot goes: the new one still names it */
    assert_int_equal(atomic_load(&a->fails), 2);
    gh_endpoint_state_put(up, a);
    gh_endpoint_state_put(up, b); /* no snapshot names them any more */
    gh_endpoint_state_put(up, held);
    assert_int_equal(gh_endpoint_state_addresses(up, "http://api:1", text, 4), 0);
    gh_endpoint_state *again = gh_endpoint_state_get(up, "http://api:1@10.0.0.1");
    assert_int_equal(atomic_load(&again->fails), 0); /* a new state, not the old one's */
    gh_upstream_registry_free(&reg);
}

static void retries_stay_within_the_budget(void **state)
{
    (void)state;
    group g;
    group_init(&g);
    uint64_t t = 100 * S;
    for (int i = 0; i < 100; i++)
        gh_upstream_budget_request(g.up, t);
    int taken = 0;
    for (int i = 0; i < 100; i++)
        taken += gh_upstream_retry_take(g.up, 20, 3, t);
    assert_int_equal(taken, 23); /* 20 % of 100, plus 3 */
    /* The next second: the last second's requests still count, the retries start over. */
    taken = 0;
    for (int i = 0; i < 100; i++)
        taken += gh_upstream_retry_take(g.up, 20, 3, t + S);
    assert_int_equal(taken, 23);
    /* After a quiet second, only the minimum. */
    taken = 0;
    for (int i = 0; i < 100; i++)
        taken += gh_upstream_retry_take(g.up, 20, 3, t + 5 * S);
    assert_int_equal(taken, 3);
    gh_upstream_registry_free(&g.reg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_streak_ejects_and_success_breaks_it),
        cmocka_unit_test(never_more_than_max_ejection_percent),
        cmocka_unit_test(ejections_grow_to_the_cap_and_are_forgiven),
        cmocka_unit_test(a_passing_check_readmits),
        cmocka_unit_test(retries_stay_within_the_budget),
        cmocka_unit_test(states_go_with_their_last_use),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
