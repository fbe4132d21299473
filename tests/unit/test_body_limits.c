/* The pace a request body is held to: the global limits' defaults, and a route's body settings
 * over them (an explicit 0 turns a setting off on that route only). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"
#include "http/request.h"

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

static void defaults_are_on(void **state)
{
    (void)state;
    gh_config *c = load("listeners: [{address: 127.0.0.1:1}]\n"
                        "routes: [{name: r, match: {prefix: /}, auth: none, respond: {}}]\n");
    gh_body_limits l = limits_of(c, 0);
    assert_int_equal(l.timeout_ms, 30000);
    assert_int_equal(l.deadline_ms, 60000);
    assert_int_equal(l.min_rate, 1024);
    assert_int_equal(l.rate_window_ms, 5000);
    assert_int_equal(l.buffer_bytes, 0);
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
    gh_body_limits own = limits_of(c, 0), inherits = limits_of(c, 1);
    assert_int_equal(own.min_rate, 0);
    assert_int_equal(own.deadline_ms, 300000);
    assert_int_equal(own.buffer_bytes, 0);
    assert_int_equal(own.timeout_ms, 3000);
    assert_int_equal(own.rate_window_ms, 2000);
    assert_int_equal(inherits.min_rate, 4096);
    assert_int_equal(inherits.deadline_ms, 20000);
    assert_int_equal(inherits.buffer_bytes, 8192);
    assert_int_equal(inherits.rate_window_ms, 2000);
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
