/* Route selection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"
#include "route/rewrite.h"
#include "route/route.h"
#include "stages/registry.h"

static const char routes_yaml[] =
    "listeners: [{address: 127.0.0.1:1}]\n"
    "routes:\n"
    "  - {name: api-host, match: {host: api.example.com, prefix: /}, auth: none, respond: {}}\n"
    "  - {name: wild, match: {host: '*.example.org', path: /w}, auth: none, respond: {}}\n"
    "  - {name: item, match: {path: '/t/{tenant}/items/{id}', methods: [GET, PUT]}, auth: none, "
    "respond: {}}\n"
    "  - {name: admin, match: {prefix: /admin/}, auth: none, respond: {}}\n"
    "  - {name: exact-post, match: {path: /orders, methods: [POST]}, auth: none, respond: {}}\n"
    "  - {name: exact-del, match: {path: /orders, methods: [DELETE]}, auth: none, respond: {}}\n";

/* The configuration in text, which must load. */
static gh_config *load_text(const char *text, size_t len)
{
    gh_diag d = {0};
    gh_config *c = gh_config_load_string("routes.yaml", text, len, NULL, &d);
    gh_diag_print(&d, stderr);
    gh_diag_free(&d);
    assert_non_null(c);
    return c;
}

static gh_config *load_routes(void)
{
    return load_text(routes_yaml, sizeof(routes_yaml) - 1);
}

static const char *find(gh_config *c, const char *host, const char *path, const char *method,
                        gh_route_match *m)
{
    unsigned bit = gh_route_method_bit(method, strlen(method));
    gh_reason r = gh_route_find(c, 0, host, host ? strlen(host) : 0, path, strlen(path), bit, m);
    if (r == GH_R_NOT_FOUND)
        return "404";
    if (r == GH_R_METHOD_NOT_ALLOWED)
        return "405";
    return m->route->name;
}

static void matching(void **state)
{
    (void)state;
    gh_config *c = load_routes();
    gh_route_match m;
    assert_string_equal(find(c, "API.example.com", "/anything", "PATCH", &m), "api-host");
    assert_string_equal(find(c, "x.example.org", "/w", "GET", &m), "wild");
    assert_string_equal(find(c, "a.b.example.org", "/w", "GET", &m), "wild");
    assert_string_equal(find(c, "example.org", "/w", "GET", &m), "404");
    assert_string_equal(find(c, "h", "/t/acme/items/42", "GET", &m), "item");
    assert_int_equal(m.nparams, 2);
    assert_memory_equal(m.params[0].name, "tenant", 6);
    assert_memory_equal(m.params[0].value, "acme", 4);
    assert_memory_equal(m.params[1].value, "42", 2);
    assert_string_equal(find(c, "h", "/t/acme/items/42", "HEAD", &m),
                        "item"); /* GET implies HEAD */
    assert_string_equal(find(c, "h", "/t/acme/items/", "GET", &m), "404");
    assert_string_equal(find(c, "h", "/t/acme/items/42/x", "GET", &m), "404");
    assert_string_equal(find(c, "h", "/t/acme/items/42", "POST", &m), "405");
    assert_int_equal(m.allow, GH_M_GET | GH_M_HEAD | GH_M_PUT);
    assert_string_equal(find(c, "h", "/admin", "GET", &m), "admin");
    assert_string_equal(find(c, "h", "/admin/users", "GET", &m), "admin");
    assert_string_equal(find(c, "h", "/administrator", "GET", &m), "404");
    assert_string_equal(find(c, "h", "/orders", "DELETE", &m), "exact-del");
    assert_string_equal(find(c, "h", "/orders", "GET", &m), "405");
    assert_int_equal(m.allow, GH_M_POST | GH_M_DELETE);
    assert_string_equal(find(c, NULL, "/orders", "POST", &m), "exact-post");
    assert_string_equal(find(c, "h", "/orders", "BREW", &m), "405");
    char allow[64];
    gh_route_allow_list(GH_M_POST | GH_M_DELETE, allow, sizeof(allow));
    assert_string_equal(allow, "POST, DELETE");
    gh_config_release(c);
}

/* match.host is held canonical (lower case, no trailing dot), so a request's canonical host
 * meets it whatever spelling either side used; a host route with a port or a malformed name is
 * a configuration error. */
static void route_hosts_canonical(void **state)
{
    (void)state;
    static const char yaml[] =
        "listeners: [{address: 127.0.0.1:1}]\n"
        "routes:\n"
        "  - {name: admin, match: {host: Admin.Test., prefix: /}, auth: none, respond: {}}\n"
        "  - {name: wild, match: {host: '*.Example.ORG', prefix: /}, auth: none, respond: {}}\n"
        "  - {name: rest, match: {prefix: /}, auth: none, respond: {}}\n";
    gh_config *c = load_text(yaml, sizeof(yaml) - 1);
    assert_string_equal(c->routes[0].host, "admin.test");
    assert_string_equal(c->routes[1].host, ".example.org");
    gh_route_match m;
    assert_string_equal(find(c, "admin.test", "/x", "GET", &m), "admin");
    assert_string_equal(find(c, "a.example.org", "/x", "GET", &m), "wild");
    assert_string_equal(find(c, "admin.testx", "/x", "GET", &m), "rest");
    gh_config_release(c);
    static const char *const bad[] = {"admin.test:80", "admin..test", "a%2eb", "*.a.test:1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[256];
        int n = snprintf(text, sizeof(text),
                         "listeners: [{address: 127.0.0.1:1}]\nroutes:\n  - {name: r, match: "
                         "{host: '%s', prefix: /}, auth: none, respond: {}}\n",
                         bad[i]);
        gh_diag e = {0};
        gh_config *x = gh_config_load_string("b.yaml", text, (size_t)n, NULL, &e);
        if (x)
            fail_msg("host '%s' was accepted", bad[i]);
        gh_diag_free(&e);
    }
}

/* A route with listeners: is seen only from those listeners (by id); the others fall through
 * to the next route. */
static void routes_bound_to_listeners(void **state)
{
    (void)state;
    static const char yaml[] =
        "listeners: [{name: public, address: 127.0.0.1:1}, {name: local, address: 127.0.0.1:2}]\n"
        "routes:\n"
        "  - {name: internal, match: {prefix: /i}, listeners: [local], auth: none, respond: {}}\n"
        "  - {name: both, match: {prefix: /i}, listeners: [public, local], auth: none, respond: {}}\n"
        "  - {name: only-local, match: {prefix: /x}, listeners: [\"127.0.0.1:2\"], auth: none, "
        "respond: {}}\n";
    gh_diag d = {0};
    gh_config *c = gh_config_load_string("l.yaml", yaml, sizeof(yaml) - 1, NULL, &d);
    gh_diag_print(&d, stderr);
    gh_diag_free(&d);
    assert_non_null(c);
    uint64_t pub = c->listeners[0].id, local = c->listeners[1].id;
    assert_true(pub != local && pub != 0 && local != 0);
    gh_route_match m;
    assert_int_equal(gh_route_find(c, local, NULL, 0, "/i", 2, GH_M_GET, &m), GH_R_OK);
    assert_string_equal(m.route->name, "internal");
    assert_int_equal(gh_route_find(c, pub, NULL, 0, "/i", 2, GH_M_GET, &m), GH_R_OK);
    assert_string_equal(m.route->name, "both");
    assert_int_equal(gh_route_find(c, pub, NULL, 0, "/x", 2, GH_M_GET, &m), GH_R_NOT_FOUND);
    assert_int_equal(gh_route_find(c, local, NULL, 0, "/x", 2, GH_M_GET, &m), GH_R_OK);
    /* A listener's id is its name's: the same in another snapshot. */
    gh_diag d2 = {0};
    gh_config *again = gh_config_load_string("l.yaml", yaml, sizeof(yaml) - 1, NULL, &d2);
    gh_diag_free(&d2);
    assert_non_null(again);
    assert_true(again->listeners[1].id == local);
    gh_config_release(again);
    gh_config_release(c);
}

/* The upstream path of path under the route it matches, or the refusal's slug. */
static const char *rewritten(gh_config *c, const char *path, char *out)
{
    gh_route_match m;
    assert_int_equal(gh_route_find(c, 0, NULL, 0, path, strlen(path), GH_M_GET, &m), GH_R_OK);
    assert_true(gh_route_rewrite_max(m.route, strlen(path)) <= 256);
    size_t len;
    const char *detail = NULL;
    gh_reason r = gh_route_rewrite(&m, path, strlen(path), out, &len, &detail);
    if (r != GH_R_OK) {
        assert_non_null(detail);
        return gh_reason_slug(r);
    }
    assert_int_equal(strlen(out), len);
    return out;
}

/* rewrite.prefix segment by segment, rewrite.path filled from the captures, escaped separators
 * copied from the client refused. */
static void rewrites(void **state)
{
    (void)state;
    static const char yaml[] =
        "listeners: [{address: 127.0.0.1:1}]\n"
        "upstreams: {app: {endpoints: ['http://127.0.0.1:2']}}\n"
        "routes:\n"
        "  - {name: a, match: {prefix: /api/}, auth: none, upstream: app, rewrite: {prefix: /v2/}}\n"
        "  - {name: b, match: {prefix: /old}, auth: none, upstream: app, rewrite: {prefix: /new}}\n"
        "  - {name: t, match: {path: '/u/{id}/o/{o}'}, auth: none, upstream: app,\n"
        "     rewrite: {path: '/in/{o}/{id}/{o}'}}\n"
        "  - {name: all, match: {prefix: /}, auth: none, upstream: app, rewrite: {prefix: /root/}}\n";
    gh_config *c = load_text(yaml, sizeof(yaml) - 1);
    char out[256];
    assert_string_equal(rewritten(c, "/api", out), "/v2/");
    assert_string_equal(rewritten(c, "/api/", out), "/v2/");
    assert_string_equal(rewritten(c, "/api/x/y", out), "/v2/x/y");
    assert_string_equal(rewritten(c, "/old", out), "/new");
    assert_string_equal(rewritten(c, "/old/x", out), "/new/x");
    assert_string_equal(rewritten(c, "/u/7/o/9", out), "/in/9/7/9");
    assert_string_equal(rewritten(c, "/u/a%3Fb%23/o/%25", out), "/in/%25/a%3Fb%23/%25");
    assert_string_equal(rewritten(c, "/", out), "/root/");
    assert_string_equal(rewritten(c, "/x", out), "/root/x");
    assert_string_equal(rewritten(c, "/u/..%2F..%2Fx/o/1", out), "encoded-slash-in-path");
    assert_string_equal(rewritten(c, "/u/1/o/..%2f", out), "encoded-slash-in-path");
    assert_string_equal(rewritten(c, "/u/..%5Cx/o/1", out), "backslash-in-path");
    assert_string_equal(rewritten(c, "/api/..%2Fadmin", out), "encoded-slash-in-path");
    assert_string_equal(rewritten(c, "/x/%5C", out), "backslash-in-path");
    gh_config_release(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(matching), cmocka_unit_test(route_hosts_canonical),
                                       cmocka_unit_test(routes_bound_to_listeners),
                                       cmocka_unit_test(rewrites)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
