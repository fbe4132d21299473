/* The configuration loader: what loads, the defaults, and every error naming file:line:col and
 * the key path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"
#include "config/yaml_walk.h"
#include "stages/registry.h"

#define HEAD "listeners: [{address: 127.0.0.1:1}]\n"
#define ROUTE "routes: [{name: r, match: {prefix: /}, auth: none, respond: {}}]\n"

static gh_config *load(const char *yaml, gh_diag *d)
{
    memset(d, 0, sizeof(*d));
    return gh_config_load_string("t.yaml", yaml, strlen(yaml), NULL, d);
}

/* Asserts that yaml fails with a diagnostic containing want. */
static void expect_error(const char *yaml, const char *want)
{
    gh_diag d;
    gh_config *c = load(yaml, &d);
    bool found = false;
    for (size_t i = 0; i < d.n; i++)
        found |= strstr(d.lines[i], want) != NULL;
    if (c || !found) {
        gh_diag_print(&d, stderr);
        fail_msg("expected an error containing \"%s\"", want);
    }
    gh_diag_free(&d);
}

static void minimal_and_defaults(void **state)
{
    (void)state;
    gh_diag d;
    gh_config *c = load(HEAD ROUTE, &d);
    assert_non_null(c);
    assert_int_equal(d.errors, 0);
    assert_true(c->workers >= 1);
    assert_int_equal(c->limits.max_head_bytes, 16384);
    assert_int_equal(c->limits.max_headers, 100);
    assert_int_equal(c->limits.max_target_bytes, 8192);
    assert_int_equal(c->limits.head_timeout_ms, 10000);
    assert_int_equal(c->limits.idle_timeout_ms, 60000);
    assert_false(c->defensive);
    assert_string_equal(c->access_log, "stdout");
    assert_int_equal(strlen(c->hash), 64);
    gh_config_release(c);
    gh_diag_free(&d);
}

static void full_example(void **state)
{
    (void)state;
    gh_diag d;
    gh_config *c =
        load("workers: 2\n" HEAD "admin: {address: 127.0.0.1:2}\n"
             "http1: {strictness: defensive}\n"
             "limits: {max_head_bytes: 8k, head_timeout: 250ms, max_body_bytes: 1m}\n"
             "trusted_proxies: [10.0.0.0/8, '::1']\n"
             "access_log: off\n"
             "upstreams:\n"
             "  app: {endpoints: [http://127.0.0.1:9000, http://localhost:9001], "
             "max_concurrency: 5, keepalive: {max_idle: 3, idle_timeout: 2m}}\n"
             "routes:\n"
             "  - {name: a, match: {path: '/x/{id}', methods: [GET]}, auth: none, upstream: app}\n",
             &d);
    gh_diag_print(&d, stderr);
    assert_non_null(c);
    assert_int_equal(c->workers, 2);
    assert_true(c->defensive);
    assert_int_equal(c->limits.max_head_bytes, 8192);
    assert_int_equal(c->limits.head_timeout_ms, 250);
    assert_int_equal(c->limits.max_body_bytes, 1 << 20);
    assert_int_equal(c->ntrusted_proxies, 2);
    /* localhost is a name: one endpoint per address it has here (127.0.0.1, maybe ::1). */
    assert_true(c->upstreams[0].nendpoints >= 2);
    assert_string_equal(c->upstreams[0].endpoints[1].authority, "localhost:9001");
    assert_int_equal(c->upstreams[0].max_concurrency, 5);
    assert_int_equal(c->upstreams[0].keepalive_idle_timeout_ms, 120000);
    assert_ptr_equal(c->routes[0].upstream, &c->upstreams[0]);
    assert_int_equal(c->routes[0].path_kind, GH_PATH_TEMPLATE);
    gh_config_release(c);
    gh_diag_free(&d);
}

/* Every address of a name is an endpoint of its own, named and keyed by it; an IP literal is
 * one endpoint keyed by its URL. */
static void names_become_endpoints(void **state)
{
    (void)state;
    gh_diag d;
    gh_config *c = load(HEAD ROUTE "upstreams:\n"
                                   "  a: {endpoints: ['http://[::1]:9000', {url: http://localhost:9001, "
                                   "weight: 3}]}\n"
                                   "  b: {endpoints: [http://127.0.0.1:1], dns_refresh: 5s}\n",
                        &d);
    gh_diag_print(&d, stderr);
    assert_non_null(c);
    const gh_upstream_conf *a = &c->upstreams[0];
    assert_int_equal(a->dns_refresh_ms, 30000);
    assert_int_equal(c->upstreams[1].dns_refresh_ms, 5000);
    assert_false(a->endpoints[0].named);
    assert_string_equal(a->endpoints[0].label, "[::1]:9000");
    assert_string_equal(a->endpoints[0].key, "http://[::1]:9000");
    const gh_endpoint_conf *n = NULL;
    for (size_t i = 1; i < a->nendpoints; i++)
        if (a->endpoints[i].addr.ss.ss_family == AF_INET)
            n = &a->endpoints[i];
    assert_non_null(n);
    assert_true(n->named);
    assert_int_equal(n->item, 1);
    assert_int_equal(n->weight, 3);
    assert_string_equal(n->authority, "localhost:9001");
    assert_string_equal(n->label, "localhost:9001@127.0.0.1");
    assert_string_equal(n->key, "http://localhost:9001@127.0.0.1");
    gh_config_release(c);
    gh_diag_free(&d);
    expect_error(HEAD ROUTE "upstreams: {a: {endpoints: [http://127.0.0.1:1], dns_refresh: 10ms}}\n",
                 "upstreams.a.dns_refresh");
    expect_error(HEAD ROUTE "upstreams: {a: {endpoints: [http://no-such-host.invalid:1]}}\n",
                 "t.yaml:3:29: upstreams.a.endpoints[0]: 'http://no-such-host.invalid:1': "
                 "no-such-host.invalid:1 does not resolve");
}

/* A resolver's answer: stream addresses, each once, sorted; one more than max says "more". */
static void answers_collect_sorted_and_bounded(void **state)
{
    (void)state;
    struct sockaddr_in v4[3] = {{.sin_family = AF_INET}, {.sin_family = AF_INET},
                                {.sin_family = AF_INET}};
    v4[0].sin_addr.s_addr = htonl(0x0a000003);
    v4[1].sin_addr.s_addr = htonl(0x0a000001);
    v4[2].sin_addr.s_addr = htonl(0x0a000003); /* the same address again */
    struct addrinfo ai[3] = {0};
    for (int i = 0; i < 3; i++) {
        ai[i].ai_family = AF_INET;
        ai[i].ai_addr = (struct sockaddr *)&v4[i];
        ai[i].ai_addrlen = sizeof(v4[i]);
        ai[i].ai_next = i < 2 ? &ai[i + 1] : NULL;
    }
    gh_sockaddr out[2];
    assert_int_equal(gh_addrinfo_collect(ai, out, 2), 2);
    assert_int_equal(ntohl(((struct sockaddr_in *)&out[0].ss)->sin_addr.s_addr), 0x0a000001);
    assert_int_equal(ntohl(((struct sockaddr_in *)&out[1].ss)->sin_addr.s_addr), 0x0a000003);
    assert_int_equal(gh_addrinfo_collect(ai, out, 1), 2); /* more than fit */
}

static void errors_locate(void **state)
{
    (void)state;
    expect_error(HEAD ROUTE "listner: 1\n", "t.yaml:3:1: (top level): unknown key 'listner'");
    expect_error(HEAD "routes: [{name: r, match: {prefx: /}, auth: none, respond: {}}]\n",
                 "t.yaml:2:28: routes[0].match: unknown key 'prefx'; did you mean 'prefix'?");
    expect_error(HEAD "routes: [{name: r, match: {prefix: /}, respond: {}}]\n",
                 "routes[0].auth: required: write 'auth: none'");
    expect_error(HEAD "routes: [{name: r, match: {prefix: /}, auth: jwt, respond: {}}]\n",
                 "routes[0].auth: expected 'none'");
    expect_error(HEAD "routes: [{name: r, match: {prefix: /}, auth: none, upstream: nope}]\n",
                 "routes[0].upstream: no upstream named 'nope'");
    expect_error(HEAD
                 "routes: [{name: r, match: {prefix: /, path: /a}, auth: none, respond: {}}]\n",
                 "exactly one of path and prefix");
    expect_error(HEAD "routes: [{name: r, match: {path: '/a/{x'}, auth: none, respond: {}}]\n",
                 "a {param} must be a whole segment");
    expect_error(HEAD "routes: [{name: r, match: {path: /a/../b}, auth: none, respond: {}}]\n",
                 "is not canonical");
    expect_error(
        HEAD "routes: [{name: r, match: {path: /a, methods: [FETCH]}, auth: none, respond: {}}]\n",
        "routes[0].match.methods[0]: expected one of: GET, HEAD");
    expect_error(HEAD ROUTE "limits: {head_timeout: 10}\n",
                 "limits.head_timeout: expected a duration such as 250ms");
    expect_error(HEAD ROUTE "limits: {max_head_bytes: 1g}\n",
                 "limits.max_head_bytes: 1g is out of range");
    expect_error(HEAD ROUTE "limits: {max_head_bytes: 2k}\n",
                 "max_target_bytes (8192) exceeds max_head_bytes (2048)");
    expect_error(HEAD ROUTE "workers: 0\n", "workers: 0 is out of range");
    expect_error(HEAD "upstreams: {a: {endpoints: [http://127.0.0.1:1]}}\n"
                      "routes: [{name: r, match: {path: '/u/{id}'}, auth: none, upstream: a,\n"
                      "          rewrite: {path: '/x/{ID}'}}]\n",
                 "t.yaml:4:27: routes[0].rewrite.path: '/x/{ID}': {ID} is not captured by "
                 "match.path '/u/{id}'");
    expect_error(HEAD "upstreams: {a: {endpoints: [http://127.0.0.1:1]}}\n"
                      "routes: [{name: r, match: {path: /u}, auth: none, upstream: a,\n"
                      "          rewrite: {prefix: /v}}]\n",
                 "t.yaml:4:29: routes[0].rewrite.prefix: rewrite.prefix replaces match.prefix");
    expect_error(HEAD "upstreams: {a: {endpoints: [http://127.0.0.1:1], host: \"a\\nb\"}}\n" ROUTE,
                 "t.yaml:2:56: upstreams.a.host: a control character at offset 1");
    expect_error(HEAD "routes: [{name: r, match: {prefix: /}, auth: none,\n"
                      "           respond: {status: 204, body: x}}]\n",
                 "t.yaml:3:41: routes[0].respond.body: a 204 or 304 response has no body");
    expect_error("listeners: [{address: nowhere}]\n" ROUTE,
                 "listeners[0].address: 'nowhere' is not an address");
    expect_error(HEAD ROUTE "upstreams: {a: {endpoints: [ftp://x:1]}}\n",
                 "upstreams.a.endpoints[0]: 'ftp://x:1': endpoints are http://host:port or https://host:port");
    expect_error(HEAD ROUTE "upstreams: {a: {endpoints: []}}\n", "between 1 and 64 endpoints");
    expect_error(HEAD ROUTE "upstreams: {'a b': {endpoints: [http://127.0.0.1:1]}}\n",
                 "upstream names use letters");
    expect_error(HEAD ROUTE "trusted_proxies: [10.0.0.0/33]\n",
                 "trusted_proxies[0]: expected an address or CIDR");
    /* Route faults (stages/fault.c): every key judged at its position, a fault that injects
     * nothing refused at the mapping. */
#define FAULT_ROUTE(f) "routes: [{name: r, match: {prefix: /}, auth: none, respond: {},\n" \
                       "           fault: " f "}]\n"
    expect_error(HEAD FAULT_ROUTE("{abort: {status: 503, percent: 101}}"),
                 "t.yaml:3:50: routes[0].fault.abort.percent: '101' is not a percentage from 0 "
                 "to 100");
    expect_error(HEAD FAULT_ROUTE("{abort: {status: 503, percent: 0.00001}}"),
                 "routes[0].fault.abort.percent: '0.00001' is not a percentage");
    expect_error(HEAD FAULT_ROUTE("{abort: {status: 503, percent: -1}}"),
                 "routes[0].fault.abort.percent: '-1' is not a percentage");
    expect_error(HEAD FAULT_ROUTE("{abort: {status: 302}}"),
                 "t.yaml:3:36: routes[0].fault.abort.status: 302 is out of range [400, 599]");
    expect_error(HEAD FAULT_ROUTE("{abort: {status: 600}}"),
                 "routes[0].fault.abort.status: 600 is out of range [400, 599]");
    expect_error(HEAD FAULT_ROUTE("{abort: {percent: 5}}"),
                 "t.yaml:3:27: routes[0].fault.abort.status: required");
    expect_error(HEAD FAULT_ROUTE("{delay: {duration: 61s}}"),
                 "t.yaml:3:38: routes[0].fault.delay.duration: 61s is out of range [1ms, 60000ms]");
    expect_error(HEAD FAULT_ROUTE("{delay: {duration: 0s}}"),
                 "routes[0].fault.delay.duration: 0s is out of range");
    expect_error(HEAD FAULT_ROUTE("{delay: {duration: 1s, percent: 50%}}"),
                 "routes[0].fault.delay.percent: '50%' is not a percentage");
    expect_error(HEAD FAULT_ROUTE("{abort: {status: 503}, dely: {duration: 1s}}"),
                 "t.yaml:3:42: routes[0].fault: unknown key 'dely'; did you mean 'delay'?");
    expect_error(HEAD FAULT_ROUTE("{abort: {status: 503, pecent: 5}}"),
                 "routes[0].fault.abort: unknown key 'pecent'; did you mean 'percent'?");
    expect_error(HEAD FAULT_ROUTE("{}"),
                 "t.yaml:3:19: routes[0].fault: a fault needs abort, delay or both");
    expect_error(HEAD FAULT_ROUTE("{header: x-gatehouse-fault}"),
                 "routes[0].fault: a fault needs abort, delay or both");
    expect_error(HEAD FAULT_ROUTE("{header: 'x fault', abort: {status: 503}}"),
                 "t.yaml:3:28: routes[0].fault.header: 'x fault' is not a header name");
    expect_error(HEAD FAULT_ROUTE("503"), "routes[0].fault: expected a mapping");
#undef FAULT_ROUTE
    expect_error(HEAD ROUTE "http1: {strictness: lax}\n",
                 "http1.strictness: expected one of: strict, defensive");
    expect_error(HEAD "routes:\n  - {name: r, match: {prefix: /}, auth: none, respond: {}}\n"
                      "  - {name: r, match: {prefix: /b}, auth: none, respond: {}}\n",
                 "route name 'r' is also routes[0]");
    expect_error(HEAD ROUTE "access_log: relative.log\n",
                 "access_log: expected stdout, off or an absolute");
    expect_error(HEAD "routes: [{name: r, match: {prefix: /}, auth: none, respond: {headers: "
                      "{Content-Length: '1'}}}]\n",
                 "'Content-Length' is set by the gateway");
    expect_error("listeners: [\n", "t.yaml:2:1: (yaml):");
    expect_error("", "the file is empty");
    expect_error(HEAD ROUTE ROUTE, "duplicate key 'routes'");
}

static void shadowing_warns(void **state)
{
    (void)state;
    gh_diag d;
    gh_config *c = load(
        HEAD "routes:\n"
             "  - {name: all, match: {prefix: /api}, auth: none, respond: {}}\n"
             "  - {name: never, match: {path: /api/x, methods: [GET]}, auth: none, respond: {}}\n"
             "  - {name: other, match: {path: /apix}, auth: none, respond: {}}\n",
        &d);
    assert_non_null(c);
    assert_int_equal(d.warnings, 1);
    assert_non_null(
        strstr(d.lines[0], "t.yaml:4:5: warning: routes[1]: route 'never' can never match"));
    gh_config_release(c);
    gh_diag_free(&d);
}

static void units(void **state)
{
    (void)state;
    uint64_t v;
    assert_int_equal(gh_parse_duration_ms("250ms", &v), 0);
    assert_int_equal(v, 250);
    assert_int_equal(gh_parse_duration_ms("2h", &v), 0);
    assert_int_equal(v, 7200000);
    assert_int_equal(gh_parse_duration_ms("14d", &v), 0);
    assert_int_equal(v, 14 * 86400000ULL);
    assert_int_equal(gh_parse_duration_ms("999999999999999999d", &v), -1); /* overflows */
    assert_int_equal(gh_parse_duration_ms("5", &v), -1);
    assert_int_equal(gh_parse_duration_ms("5 s", &v), -1);
    assert_int_equal(gh_parse_duration_ms("s", &v), -1);
    assert_int_equal(gh_parse_size("16k", &v), 0);
    assert_int_equal(v, 16384);
    assert_int_equal(gh_parse_size("1M", &v), 0);
    assert_int_equal(v, 1 << 20);
    assert_int_equal(gh_parse_size("512", &v), 0);
    assert_int_equal(v, 512);
    assert_int_equal(gh_parse_size("1.5k", &v), -1);
    assert_int_equal(gh_parse_size("-1", &v), -1);
    assert_int_equal(gh_edit_distance("prefx", "prefix", 2), 1);
    assert_int_equal(gh_edit_distance("abc", "xyz123", 2), 3);
}

/* A secret reference is never cut to fit a buffer (cut, it names another file or variable):
 * too long fails the configuration where it is written. */
static void too_long_is_an_error(void **state)
{
    (void)state;
    char yaml[4096];
    char ref[1100];
    memset(ref, 'E', sizeof(ref) - 1);
    ref[sizeof(ref) - 1] = '\0';
    snprintf(yaml, sizeof(yaml), HEAD ROUTE "identity:\n  hmac:\n    gh: {scheme: github, secrets: [\"${env:%s}\"]}\n", ref);
    expect_error(yaml, "t.yaml:5:36: identity.hmac.gh.secrets[0]: a reference longer than 1023 characters");
}

/* check warns, at the schema's place in the file and the pattern's in the schema, of a pattern
 * that can backtrack without bound; the configuration still loads. */
static void risky_pattern_warns(void **state)
{
    (void)state;
    char dir[] = "/tmp/gh-cfg-XXXXXX", path[64], yaml[512];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/s.json", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"properties\": {\"name\": {\"pattern\": \"^(a|aa)+$\"}}}", f);
    fclose(f);
    snprintf(yaml, sizeof(yaml), HEAD "routes:\n  - {name: r, match: {prefix: /}, auth: none,\n"
                                      "     body: {schema: %s}, respond: {}}\n", path);
    gh_diag d;
    gh_config *c = load(yaml, &d);
    assert_non_null(c);
    assert_int_equal(d.warnings, 1);
    char want[256];
    snprintf(want, sizeof(want), "t.yaml:4:21: warning: routes[0].body.schema: %s#/properties/name/pattern: "
                                 "a pattern that can take exponential time", path);
    if (!strstr(d.lines[0], want))
        fail_msg("%s", d.lines[0]);
    gh_config_release(c);
    gh_diag_free(&d);
    unlink(path);
    rmdir(dir);
}

#define HEALTH_UP(h) "upstreams: {a: {endpoints: [http://127.0.0.1:1], health: " h "}}\n"

/* health: the defaults each form takes, what the interval implies, and the errors at their
 * place in the file. */
static void health_checks(void **state)
{
    (void)state;
    gh_diag d;
    gh_config *c = load(HEAD ROUTE HEALTH_UP("{http: {}}"), &d);
    assert_non_null(c);
    const gh_health_conf *h = &c->upstreams[0].health;
    assert_int_equal(h->kind, GH_HC_HTTP);
    assert_string_equal(h->path, "/");
    assert_null(h->host);
    assert_int_equal(h->nexpect, 1);
    assert_int_equal(h->expect[0].lo, 200);
    assert_int_equal(h->expect[0].hi, 399);
    assert_int_equal(h->interval_ms, 5000);
    assert_int_equal(h->timeout_ms, 2000);
    assert_int_equal(h->jitter_ms, 500);
    assert_int_equal(h->healthy_after, 2);
    assert_int_equal(h->unhealthy_after, 3);
    gh_config_release(c);
    gh_diag_free(&d);
    c = load(HEAD ROUTE HEALTH_UP("{tcp: {interval: 1s}}"), &d);
    assert_non_null(c);
    h = &c->upstreams[0].health;
    assert_int_equal(h->kind, GH_HC_TCP);
    assert_int_equal(h->timeout_ms, 500); /* half the interval, below 2s */
    assert_int_equal(h->jitter_ms, 100);
    gh_config_release(c);
    gh_diag_free(&d);
    c = load(HEAD ROUTE "upstreams: {a: {endpoints: [http://127.0.0.1:1]}}\n", &d);
    assert_non_null(c);
    assert_int_equal(c->upstreams[0].health.kind, GH_HC_NONE);
    gh_config_release(c);
    gh_diag_free(&d);
    expect_error(HEAD ROUTE HEALTH_UP("{http: {expect: [200, 300-200]}}"),
                 "t.yaml:3:80: upstreams.a.health.http.expect: '300-200': expected a status");
    expect_error(HEAD ROUTE HEALTH_UP("{tcp: {interval: 1s, timeout: 1s}}"),
                 "t.yaml:3:64: upstreams.a.health.tcp: timeout must be shorter than interval");
    expect_error(HEAD ROUTE HEALTH_UP("{http: {path: x}}"),
                 "upstreams.a.health.http.path: 'x': expected a path starting with '/'");
    expect_error(HEAD ROUTE HEALTH_UP("{http: {}, tcp: {}}"),
                 "t.yaml:3:58: upstreams.a.health: health takes exactly one of http and tcp");
    expect_error(HEAD ROUTE HEALTH_UP("{tcp: {expect: [200]}}"),
                 "upstreams.a.health.tcp: unknown key 'expect'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(minimal_and_defaults),
        cmocka_unit_test(full_example),
        cmocka_unit_test(names_become_endpoints),
        cmocka_unit_test(answers_collect_sorted_and_bounded),
        cmocka_unit_test(errors_locate),
        cmocka_unit_test(shadowing_warns),
        cmocka_unit_test(units),
        cmocka_unit_test(too_long_is_an_error),
        cmocka_unit_test(risky_pattern_warns),
        cmocka_unit_test(health_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
