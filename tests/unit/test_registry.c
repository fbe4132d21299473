/* The stage registry (src/stages/registry.c): every control listed once, complete, in phase
 * order, since a route's stages run in the order the registry lists them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "stages/registry.h"

static void every_stage_is_complete_and_named_once(void **state)
{
    (void)state;
    size_t n = 0;
    for (; gh_stage_registry[n]; n++) {
        const gh_stage *s = gh_stage_registry[n];
        assert_non_null(s->name);
        assert_non_null(s->run);
        assert_non_null(s->bind);
        for (size_t k = 0; k < n; k++)
            assert_string_not_equal(gh_stage_registry[k]->name, s->name);
    }
    assert_true(n > 0 && n <= GH_MAX_STAGES);
}

static void stages_are_listed_in_phase_order(void **state)
{
    (void)state;
    for (size_t i = 1; gh_stage_registry[i]; i++)
        assert_true(gh_stage_registry[i - 1]->phase <= gh_stage_registry[i]->phase);
}

/* A route gets the stages its configuration asks for, in phase order, whatever the order of
 * its keys: here the body and the rate limit are written before the authentication. */
static void a_route_gets_its_stages_in_phase_order(void **state)
{
    (void)state;
    static const char yaml[] =
        "listeners: [{address: 127.0.0.1:8080}]\n"
        "identity:\n"
        "  jwt:\n"
        "    idp: {issuer: https://idp.example, audiences: [api], algorithms: [ES256],\n"
        "          jwks: '{\"keys\": []}'}\n"
        "rate_limits:\n"
        "  per-sub: {key: jwt.sub, rate: 10/s}\n"
        "routes:\n"
        "  - name: orders\n"
        "    match: {prefix: /orders}\n"
        "    body: {max_bytes: 1k}\n"
        "    rate_limit: per-sub\n"
        "    auth: {jwt: idp, scopes: [orders:read]}\n"
        "    respond: {status: 204}\n"
        "  - name: open\n"
        "    match: {prefix: /}\n"
        "    auth: none\n"
        "    respond: {status: 204}\n";
    gh_diag d = {0};
    gh_config *c = gh_config_load_string("t.yaml", yaml, sizeof(yaml) - 1, NULL, &d);
    if (!c)
        gh_diag_print(&d, stderr);
    assert_non_null(c);
    const gh_route_conf *r = &c->routes[0];
    const char *want[] = {"auth_jwt", "authorize", "rate_limit", "body"};
    assert_int_equal(r->nstages, 4);
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(r->stages[i].stage->name, want[i]);
    assert_int_equal(c->routes[1].nstages, 0);
    gh_config_release(c);
    gh_diag_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_stage_is_complete_and_named_once),
        cmocka_unit_test(stages_are_listed_in_phase_order),
        cmocka_unit_test(a_route_gets_its_stages_in_phase_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
