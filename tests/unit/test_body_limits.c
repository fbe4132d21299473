/* The pace a request body is held to: the global limits' defaults, and a route's body settings
 * over them (an explicit 0 turns a setting off on that route only). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"
#include "gate/request.h"
#include "stages/registry.h"

static gh_config *load(const char *yaml)
{
    gh_diag d;
    memset(&d, 0, sizeof(d));
    gh_config *c = gh_config_load_string("t.yaml", yaml, strlen(yaml), NULL, &d);
    gh_diag_print(&d, stderr);
    gh_diag_free(&d);
    assert_non_null(c);
    return c;
}

/* What applies to a request routed to the config's route i. */
static gh_body_limits limits_of(gh_config *c, size_t i)
{
    gh_request req;
    memset(&req, 0, sizeof(req));
    req.config = c;
    req.match.route = &c->routes[i];
    return gh_request_body_limits(&req);
}

static void expect(gh_body_limits l, uint64_t timeout_ms, uint64_t deadline_ms, uint64_t min_rate,
                   uint64_t rate_window_ms, uint64_t buffer_bytes)
{
    gh_body_limits want = {timeout_ms, deadline_ms, min_rate, rate_window_ms, buffer_bytes};
    assert_memory_equal(&l, &want, sizeof(l));
}

static void defaults_are_on(void **state)
{
    (void)state;
    gh_config *c = load("listeners: [{address: 127.0.0.1:1}]\n"
                        "routes: [{name: r, match: {prefix: /}, auth: none, respond: {}}]\n");
    expect(limits_of(c, 0), 30000, 60000, 1024, 5000, 0);
    gh_config_release(c);
}

static void a_route_overrides_the_limits(void **state)
{
    (void)state;
    gh_config *c = load(
        "listeners: [{address: 127.0.0.1:1}]\n"
        "limits: {body_min_rate: 4k, body_rate_window: 2s, body_deadline: 20s,"
        " body_buffer_before_upstream: 8k}\n"
        "routes:\n"
        "  - {name: own, match: {prefix: /a}, auth: none, respond: {},\n"
        "     body: {min_rate: 0, deadline: 5m, buffer_before_upstream: 0, timeout: 3s}}\n"
        "  - {name: inherits, match: {prefix: /b}, auth: none, respond: {}, body: {max_bytes: 1m}}\n");
    expect(limits_of(c, 0), 3000, 300000, 0, 2000, 0);
    expect(limits_of(c, 1), 30000, 20000, 4096, 2000, 8192);
    gh_config_release(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_are_on),
        cmocka_unit_test(a_route_overrides_the_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
