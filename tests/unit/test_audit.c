/* The audit's pieces: key paths to file positions, how far an address is exposed, which route
 * pairs overlap (GH-ROUTE-001) for each kind of host, path and method, and which schemas leave
 * the top-level object open (GH-BODY-002). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "audit/audit_internal.h"
#include "schema/schema.h"
#include "stages/registry.h"

static const char doc[] = "listeners:\n"                 /* 1 */
                          "  - address: 127.0.0.1:8080\n" /* 2 */
                          "identity:\n"                   /* 3 */
                          "  jwt:\n"                      /* 4 */
                          "    corp.v2:\n"                /* 5 */
                          "      issuer: https://x\n"     /* 6 */
                          "      algorithms: [ES256]\n"   /* 7 */
                          "    corp:\n"                   /* 8 */
                          "      issuer: https://y\n";    /* 9 */

static void where(gh_locator *l, const char *key, int line, int col)
{
    int got_line, got_col;
    gh_locator_where(l, key, &got_line, &got_col);
    if (got_line != line || got_col != col)
        fail_msg("%s: want %d:%d, got %d:%d", key, line, col, got_line, got_col);
}

static void locator_finds_keys_and_falls_back_to_ancestors(void **state)
{
    (void)state;
    gh_locator l;
    assert_true(gh_locator_open_string(&l, doc, strlen(doc)));
    where(&l, "listeners[0].address", 2, 14);
    where(&l, "identity.jwt.corp.v2.algorithms", 7, 19); /* a name with a dot */
    where(&l, "identity.jwt.corp.issuer", 9, 15);
    where(&l, "identity.jwt.corp.max_lifetime", 9, 7); /* missing: its provider */
    where(&l, "listeners[5].address", 2, 3);            /* out of range: the list */
    where(&l, "routes[0]", 1, 1);                      /* nothing of it: the document */
    gh_locator_close(&l);
    assert_false(gh_locator_open_string(&l, "a: [", 4));
    where(&l, "a", 1, 1);
    gh_locator_close(&l);
}

static gh_exposure exposure_of(const char *hostport)
{
    gh_sockaddr sa;
    assert_int_equal(gh_parse_hostport(hostport, &sa), 0);
    return gh__audit_exposure(&sa);
}

static void addresses_are_ranked_by_exposure(void **state)
{
    (void)state;
    assert_int_equal(exposure_of("127.0.0.1:80"), GH_EXPOSE_LOOPBACK);
    assert_int_equal(exposure_of("127.8.9.1:80"), GH_EXPOSE_LOOPBACK);
    assert_int_equal(exposure_of("[::1]:80"), GH_EXPOSE_LOOPBACK);
    assert_int_equal(exposure_of("10.1.2.3:80"), GH_EXPOSE_PRIVATE);
    assert_int_equal(exposure_of("172.16.0.1:80"), GH_EXPOSE_PRIVATE);
    assert_int_equal(exposure_of("172.31.255.1:80"), GH_EXPOSE_PRIVATE);
    assert_int_equal(exposure_of("172.32.0.1:80"), GH_EXPOSE_PUBLIC);
    assert_int_equal(exposure_of("192.168.1.1:80"), GH_EXPOSE_PRIVATE);
    assert_int_equal(exposure_of("100.64.0.1:80"), GH_EXPOSE_PRIVATE);
    assert_int_equal(exposure_of("[fd00::1]:80"), GH_EXPOSE_PRIVATE);
    assert_int_equal(exposure_of("[fe80::1]:80"), GH_EXPOSE_PRIVATE);
    assert_int_equal(exposure_of("[::ffff:192.168.1.1]:80"), GH_EXPOSE_PRIVATE);
    assert_int_equal(exposure_of("[::ffff:127.0.0.1]:80"), GH_EXPOSE_LOOPBACK);
    assert_int_equal(exposure_of("0.0.0.0:80"), GH_EXPOSE_PUBLIC);
    assert_int_equal(exposure_of("[::]:80"), GH_EXPOSE_PUBLIC);
    assert_int_equal(exposure_of("8.8.8.8:80"), GH_EXPOSE_PUBLIC);
    assert_int_equal(exposure_of("[2001:db8::1]:80"), GH_EXPOSE_PUBLIC);
}

/* The GH-ROUTE-001 findings an audit of yaml makes, each checked: high, at line 6, naming the
 * authentication it bypasses. */
static size_t route_001_findings(const char *yaml)
{
    gh_diag d = {0};
    gh_config *c = gh_config_load_string("t.yaml", yaml, strlen(yaml), NULL, &d);
    if (!c) {
        gh_diag_print(&d, stderr);
        fail_msg("%s", yaml);
    }
    gh_audit a;
    gh__audit_init(&a, c, "t.yaml");
    gh_locator_open_string(&a.loc, yaml, strlen(yaml));
    gh__audit_run(&a);
    size_t found = 0;
    for (size_t i = 0; i < a.nfindings; i++)
        if (strcmp(a.findings[i].check->id, "GH-ROUTE-001") == 0) {
            found++;
            assert_int_equal(a.findings[i].severity, GH_SEV_HIGH);
            assert_int_equal(a.findings[i].line, 6);
            assert_non_null(strstr(a.findings[i].message, "without authentication"));
        }
    gh__audit_free(&a);
    gh_config_release(c);
    gh_diag_free(&d);
    return found;
}

#define TWO_ROUTES(first_action)                                                                   \
    "listeners: [{address: 127.0.0.1:8080}]\n"                                                     \
    "identity: {jwt: {k: {issuer: https://k, audiences: [a], algorithms: [ES256], "                \
    "jwks_uri: https://k/keys}}}\n"                                                                \
    "upstreams: {app: {endpoints: [\"http://127.0.0.1:9000\"]}}\n"                                 \
    "routes:\n"                                                                                    \
    "  - {name: a, match: %s, auth: none, " first_action "}\n"                                     \
    "  - {name: b, match: %s, auth: {jwt: k}, upstream: app}\n"

/* Two routes, the first public and the second protected: whether the audit finds the second
 * shadowed (some request matches both, so the first takes it). */
static bool shadowed(const char *first_match, const char *second_match)
{
    char yaml[1024];
    snprintf(yaml, sizeof(yaml), TWO_ROUTES("upstream: app"), first_match, second_match);
    return route_001_findings(yaml) > 0;
}

static void overlapping_routes_are_found(void **state)
{
    (void)state;
    assert_true(shadowed("{prefix: /}", "{path: /admin}"));
    assert_true(shadowed("{prefix: /api}", "{prefix: /api/admin}"));
    assert_true(shadowed("{prefix: /api/admin}", "{prefix: /api}")); /* /api/admin/x goes to a */
    assert_true(shadowed("{path: \"/users/{id}\"}", "{path: /users/me}"));
    assert_true(shadowed("{path: /users/me}", "{path: \"/users/{id}\"}"));
    assert_true(shadowed("{path: \"/t/{t}/orders\"}", "{path: \"/t/acme/{what}\"}"));
    assert_true(shadowed("{prefix: /users}", "{path: \"/users/{id}\"}"));
    assert_true(shadowed("{path: \"/users/{id}/x\"}", "{prefix: /users}"));
    assert_true(shadowed("{path: /Admin, case_insensitive: true}", "{path: /admin}"));
    assert_true(shadowed("{host: \"*.example.com\", prefix: /}", "{host: a.example.com, prefix: /}"));
    assert_true(shadowed("{host: \"*.example.com\", prefix: /}", "{host: \"*.b.example.com\", prefix: /}"));
    assert_true(shadowed("{prefix: /, methods: [GET, POST]}", "{prefix: /, methods: [POST]}"));
    assert_true(shadowed("{prefix: /}", "{host: a.example.com, prefix: /}"));
}

static void disjoint_routes_are_not(void **state)
{
    (void)state;
    assert_false(shadowed("{prefix: /api}", "{prefix: /apis}"));
    assert_false(shadowed("{path: /users/me}", "{path: /users/me/x}"));
    assert_false(shadowed("{path: \"/users/{id}\"}", "{path: \"/users/{id}/x\"}"));
    assert_false(shadowed("{path: \"/users/{id}/x\"}", "{prefix: /orders}"));
    assert_false(shadowed("{path: /Admin}", "{path: /admin}"));
    assert_false(shadowed("{host: a.example.com, prefix: /}", "{host: b.example.com, prefix: /}"));
    assert_false(shadowed("{host: \"*.example.com\", prefix: /}", "{host: example.com, prefix: /}"));
    assert_false(shadowed("{prefix: /, methods: [GET]}", "{prefix: /, methods: [POST]}"));
}

/* A static answer in front of a protected route hides it but exposes nothing. */
static void a_route_the_gateway_answers_shadows_nothing(void **state)
{
    (void)state;
    char yaml[1024];
    snprintf(yaml, sizeof(yaml), TWO_ROUTES("respond: {status: 404}"), "{prefix: /}", "{prefix: /x}");
    assert_int_equal(route_001_findings(yaml), 0);
}

/* Whether a body with this schema may be an object carrying properties the schema never names
 * (GH-BODY-002's question). */
static bool open_object(const char *text)
{
    json_error_t jerr;
    json_t *schema = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (!schema)
        fail_msg("%s: %s", text, jerr.text);
    char err[256];
    gh_schema_options o = {0};
    gh_schema *s = gh_schema_compile(schema, &o, err, sizeof(err));
    if (!s)
        fail_msg("%s: %s", text, err);
    bool open = gh_schema_open_object(s);
    gh_schema_free(s);
    json_decref(schema);
    return open;
}

static void schemas_close_the_top_level_object_or_leave_it_open(void **state)
{
    (void)state;
    assert_true(open_object("{\"type\": \"object\"}"));
    assert_true(open_object("{\"properties\": {\"qty\": {\"type\": \"integer\"}}}"));
    assert_true(open_object("true"));
    assert_true(open_object("{\"type\": \"object\", \"additionalProperties\": {\"type\": \"string\"}}"));
    /* additionalProperties: false on a nested object leaves the top level open */
    assert_true(open_object("{\"type\": \"object\", \"properties\": {\"a\": {\"type\": \"object\", "
                            "\"additionalProperties\": false}}}"));
    /* one open branch of anyOf is enough */
    assert_true(open_object("{\"anyOf\": [{\"additionalProperties\": false}, {\"type\": \"object\"}]}"));

    assert_false(open_object("{\"type\": \"object\", \"additionalProperties\": false}"));
    assert_false(open_object("{\"type\": \"object\", \"unevaluatedProperties\": false}"));
    assert_false(open_object("{\"type\": \"object\", \"propertyNames\": {\"enum\": [\"a\", \"b\"]}}"));
    assert_false(open_object("{\"type\": \"object\", \"maxProperties\": 0}"));
    assert_false(open_object("{\"type\": \"array\"}")); /* never an object */
    assert_false(open_object("false"));
    assert_false(open_object("{\"$ref\": \"#/$defs/order\", \"$defs\": {\"order\": {\"type\": "
                             "\"object\", \"additionalProperties\": false}}}"));
    assert_false(open_object("{\"allOf\": [{\"type\": \"object\"}, {\"additionalProperties\": false}]}"));
    assert_false(open_object("{\"oneOf\": [{\"additionalProperties\": false}, {\"type\": \"string\"}]}"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(locator_finds_keys_and_falls_back_to_ancestors),
        cmocka_unit_test(addresses_are_ranked_by_exposure),
        cmocka_unit_test(overlapping_routes_are_found),
        cmocka_unit_test(disjoint_routes_are_not),
        cmocka_unit_test(a_route_the_gateway_answers_shadows_nothing),
        cmocka_unit_test(schemas_close_the_top_level_object_or_leave_it_open),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
