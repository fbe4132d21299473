/* Facts for the audit (gate/stage_facts-t.h): every stage gives them, and what a route's stages
 * say they do is what its configuration says, since the audit reads nothing else of them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/arena.h"
#include "gate/stage_facts.h"
#include "stages/registry.h"

static void every_stage_gives_facts(void **state)
{
    (void)state;
    for (size_t i = 0; gh_stage_registry[i]; i++)
        if (!gh_stage_registry[i]->facts)
            fail_msg("stage %s has no facts hook", gh_stage_registry[i]->name);
}

static const char yaml[] =
    "listeners: [{address: 127.0.0.1:8080}]\n"
    "identity:\n"
    "  jwt: {idp: {issuer: https://idp.example, audiences: [api], algorithms: [ES256],\n"
    "              jwks: '{\"keys\": []}'}}\n"
    "  hmac: {hooks: {scheme: github, secrets: [\"${env:GH_TEST_FACTS_SECRET}\"]}}\n"
    "policies:\n"
    "  opa: {external: {url: http://127.0.0.1:8181/v1/data/allow, on_error: allow}}\n"
    "rate_limits:\n"
    "  per-sub: {key: jwt.sub, rate: 10/s, quota: 1000/day, mode: shadow}\n"
    "  per-ip: {key: client_ip, rate: 5/s}\n"
    "routes:\n"
    "  - name: orders\n"
    "    match: {prefix: /orders}\n"
    "    require_header: {names: [X-Tenant]}\n"
    "    auth: {jwt: idp, scopes: [orders:read, orders:list], scopes_any: [staff],\n"
    "           claims: {org: acme}, policy: opa, mode: shadow}\n"
    "    rate_limit: [per-sub, per-ip]\n"
    "    body: {max_bytes: 1k, content_types: [application/json]}\n"
    "    fault: {header: x-gatehouse-fault, abort: {status: 503, percent: 0.5},\n"
    "            delay: {duration: 2s}}\n"
    "    respond: {status: 204}\n"
    "  - name: hook\n"
    "    match: {path: /hook, methods: [POST]}\n"
    "    auth: {hmac: hooks}\n"
    "    respond: {status: 204}\n";

/* The one fact of kind in f, or NULL (and the test fails) when there is none or several. */
static const gh_stage_fact *only(const gh_stage_facts *f, gh_fact_kind kind)
{
    const gh_stage_fact *found = NULL;
    for (size_t i = 0; i < f->n; i++) {
        if (f->fact[i].kind != kind)
            continue;
        assert_null(found);
        found = &f->fact[i];
    }
    assert_non_null(found);
    return found;
}

static void names_equal(gh_fact_names got, const char *const *want, size_t n)
{
    assert_int_equal(got.n, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(got.at[i], want[i]);
}

static void check_orders(const gh_route_conf *r, const gh_stage_facts *f)
{
    const gh_stage_fact *req = only(f, GH_FACT_REQUEST);
    names_equal(req->all, (const char *[]){"X-Tenant"}, 1);

    const gh_stage_fact *auth = only(f, GH_FACT_AUTHENTICATE);
    assert_int_equal(auth->proof, GH_PROOF_TOKEN);
    assert_string_equal(auth->name, r->auth_token->name);
    assert_string_equal(auth->at, "auth.jwt");
    assert_false(auth->narrows);

    const gh_stage_fact *authz = only(f, GH_FACT_AUTHORIZE);
    names_equal(authz->all, r->authz.scopes, r->authz.nscopes);
    names_equal(authz->any, (const char *[]){"staff"}, 1);
    names_equal(authz->claims, (const char *[]){"org"}, 1);
    assert_int_equal(authz->bound.n, 0); /* org must hold a literal, not a path parameter */
    assert_true(authz->shadow);

    const gh_stage_fact *policy = only(f, GH_FACT_POLICY);
    assert_string_equal(policy->name, "opa");
    assert_true(policy->fails_open);
    assert_true(policy->shadow); /* the route's mode covers its policy */

    size_t limits = 0;
    for (size_t i = 0; i < f->n; i++) {
        if (f->fact[i].kind != GH_FACT_LIMIT)
            continue;
        const gh_stage_fact *l = &f->fact[i];
        assert_string_equal(l->name, r->limits[limits]->name);
        assert_int_equal(l->shadow, r->limits[limits]->shadow);
        limits++;
    }
    assert_int_equal(limits, r->nlimits);
    assert_string_equal(f->fact[4].detail, "10/s per jwt.sub, quota 1000/day");
    assert_string_equal(f->fact[5].detail, "5/s per client_ip");

    const gh_stage_fact *body = only(f, GH_FACT_BODY);
    assert_int_equal(body->max_bytes, 1024);
    names_equal(body->any, (const char *[]){"application/json"}, 1);
    assert_false(body->validates);
    assert_false(body->open_object); /* no schema: nothing to say about its objects */

    const gh_stage_fact *fault = only(f, GH_FACT_FAULT);
    assert_string_equal(fault->at, "fault");
    assert_string_equal(fault->detail, "abort 503 for 0.5% and delay 2000ms for 100% of requests");
    names_equal(fault->all, (const char *[]){"x-gatehouse-fault"}, 1);
    assert_ptr_equal(fault, &f->fact[f->n - 1]); /* after every control */
}

static void facts_say_what_the_configuration_says(void **state)
{
    (void)state;
    setenv("GH_TEST_FACTS_SECRET", "0123456789abcdef0123456789abcdef", 1);
    gh_diag d = {0};
    gh_config *c = gh_config_load_string("t.yaml", yaml, sizeof(yaml) - 1, NULL, &d);
    if (!c)
        gh_diag_print(&d, stderr);
    assert_non_null(c);
    gh_arena arena;
    gh_arena_init(&arena, 4096, 0);
    gh_stage_facts *f = calloc(1, sizeof(*f));
    assert_non_null(f);

    gh_stage_facts_of(&c->routes[0], &arena, f);
    assert_int_equal(f->n, 8); /* header, token, scopes, policy, two limits, body, fault */
    for (size_t i = 0; i < f->n; i++)
        assert_true(f->fact[i].what && f->fact[i].at);
    check_orders(&c->routes[0], f);

    gh_stage_facts_of(&c->routes[1], &arena, f);
    assert_int_equal(f->n, 1);
    const gh_stage_fact *hook = only(f, GH_FACT_AUTHENTICATE);
    assert_int_equal(hook->proof, GH_PROOF_SIGNATURE);
    assert_string_equal(hook->name, c->routes[1].auth_hmac->name);
    assert_true(hook->narrows); /* one sender holds the secret */

    free(f);
    gh_arena_free(&arena);
    gh_config_release(c);
    gh_diag_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_stage_gives_facts),
        cmocka_unit_test(facts_say_what_the_configuration_says),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
