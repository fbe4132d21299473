/* The pipeline and every stage against the fake gate (no sockets): what the client receives
 * for a direct response, a route that is missing or refuses the method, and a refusal from each
 * stage; a stage that waits while its client leaves lets go of its wait; the access log says
 * who a webhook was from. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/hex.h"
#include "fake_gate.h"
#include "stages/key_wait.h"
#include "stages/pending_call.h"

#define HMAC_SECRET "a-shared-secret-0123456789"
#define HOOK_BODY "{\"event\": \"push\"}"

static const char CONFIG[] =
    "listeners: [{address: 127.0.0.1:1}]\n"
    "identity:\n"
    "  jwt:\n"
    "    corp: {issuer: https://login.test, audiences: [api], algorithms: [ES256], jwks: '%s'}\n"
    "    remote: {issuer: https://remote.test, audiences: [api], algorithms: [ES256],\n"
    "             jwks_uri: https://remote.test/keys}\n"
    "  introspection:\n"
    "    opaque: {url: 'https://idp.test/introspect', client_id: gw,\n"
    "             client_secret: '${env:GH_UNIT_CLIENT_SECRET}', issuer: https://login.test,\n"
    "             audiences: [api]}\n"
    "  api_keys:\n"
    "    partners: {keys_file: %s, header: X-Api-Key}\n"
    "  hmac:\n"
    "    hooks: {scheme: github, secrets: ['${env:GH_UNIT_HMAC_SECRET}']}\n"
    "policies:\n"
    "  gate: {external: {url: 'http://127.0.0.1:1/v1/data/allow', deny_cache_ttl: 0s}}\n"
    "rate_limits:\n"
    "  one: {key: route, rate: 1/m, burst: 1}\n"
    "routes:\n"
    "  - {name: hello, match: {path: /hello, methods: [GET]}, auth: none,\n"
    "     respond: {status: 200, body: hi}}\n"
    "  - {name: jwt, match: {path: /jwt}, auth: {jwt: corp}, respond: {status: 204}}\n"
    "  - {name: scoped, match: {path: /scoped}, auth: {jwt: corp, scopes: [orders:write]},\n"
    "     respond: {status: 204}}\n"
    "  - {name: remote, match: {path: /remote}, auth: {jwt: remote}, respond: {status: 204}}\n"
    "  - {name: keyed, match: {path: /keyed}, auth: {api_key: partners}, respond: {status: 204}}\n"
    "  - {name: hooks, match: {path: /hooks}, auth: {hmac: hooks}, respond: {status: 204}}\n"
    "  - {name: certs, match: {path: /certs}, auth: {mtls: {}}, respond: {status: 204}}\n"
    "  - {name: opaque, match: {path: /opaque}, auth: {introspection: opaque},\n"
    "     respond: {status: 204}}\n"
    "  - {name: policed, match: {path: /policed}, auth: {api_key: partners, policy: gate},\n"
    "     respond: {status: 204}}\n"
    "  - {name: limited, match: {path: /limited}, auth: none, rate_limit: one,\n"
    "     respond: {status: 204}}\n"
    "  - {name: typed, match: {path: /typed, methods: [POST]}, auth: none,\n"
    "     body: {content_types: [application/json], schema: %s}, respond: {status: 204}}\n";

typedef struct suite {
    fake_gate g;
    EVP_PKEY *key;
} suite;

static int setup(void **state)
{
    suite *s = calloc(1, sizeof(*s));
    char jwks[512], keys[128], schema[256], yaml[sizeof(CONFIG) + 1024];
    s->key = fg_es256_key("k1", jwks);
    unsigned char d[32];
    char hex[65];
    EVP_Digest("k1", 2, d, NULL, EVP_sha256(), NULL);
    gh_hex_encode(d, 32, hex);
    hex[64] = '\0';
    snprintf(keys, sizeof(keys), "sha256:%s acme\n", hex);
    snprintf(schema, sizeof(schema), "%s",
             fg_file(&s->g, "order.json", "{\"type\": \"object\", \"required\": [\"id\"]}"));
    const char *keys_path = fg_file(&s->g, "partners.keys", keys);
    char kp[160];
    snprintf(kp, sizeof(kp), "%s", keys_path);
    setenv("GH_UNIT_CLIENT_SECRET", "a-client-secret", 1);
    setenv("GH_UNIT_HMAC_SECRET", HMAC_SECRET, 1);
    snprintf(yaml, sizeof(yaml), CONFIG, jwks, kp, schema);
    fg_open(&s->g, yaml);
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    suite *s = *state;
    fg_close(&s->g);
    EVP_PKEY_free(s->key);
    free(s);
    return 0;
}

/* A token of the corp provider for sub alice with these scopes. */
static const char *token(suite *s, const char *scope)
{
    char payload[256];
    long now = (long)time(NULL);
    snprintf(payload, sizeof(payload),
             "{\"iss\":\"https://login.test\",\"aud\":\"api\",\"sub\":\"alice\",\"iat\":%ld,"
             "\"exp\":%ld,\"scope\":\"%s\"}",
             now, now + 600, scope);
    return fg_mint(s->key, "{\"alg\":\"ES256\",\"kid\":\"k1\"}", payload);
}

/* GET path with a corp token carrying scope: the request, or NULL once answered. */
static gh_request *bearer_get(suite *s, const char *path, const char *scope)
{
    char head[2048];
    snprintf(head, sizeof(head), "GET %s HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n\r\n",
             path, token(s, scope));
    return fg_request(&s->g, head);
}

/* What the client got without its one Date line, which every answer carries (an IMF-fixdate:
 * 29 characters), or NULL when it has none or more than one. The caller frees it. */
static char *without_date(const char *sent)
{
    const char *d = sent ? strstr(sent, "\r\nDate: ") : NULL;
    const size_t name = 8; /* "\r\nDate: " */
    if (!d || strlen(d) < name + 29 + 2 || memcmp(d + name + 29, "\r\n", 2) != 0 ||
        memcmp(d + name + 26, "GMT", 3) != 0 || strstr(d + 2, "\r\nDate: "))
        return NULL;
    size_t head = (size_t)(d - sent) + 2, line = name - 2 + 29 + 2;
    char *out = malloc(strlen(sent) + 1);
    memcpy(out, sent, head);
    strcpy(out + head, d + 2 + line);
    return out;
}

/* The one answer the client got, whole (its Date aside), and the request is over. */
static void expect_answer(fake_gate *g, const char *want)
{
    char *got = without_date(g->rec.sent);
    if (!got || strcmp(got, want) != 0)
        fail_msg("the client got\n%s\ninstead of\n%s", g->rec.sent ? g->rec.sent : "(nothing)", want);
    free(got);
    assert_int_equal(g->rec.finishes, 1);
    assert_null(g->req);
}

/* The answer starts with status_line and holds the field line. */
static void expect_head(fake_gate *g, const char *status_line, const char *field)
{
    assert_non_null(g->rec.sent);
    if (strncmp(g->rec.sent, status_line, strlen(status_line)) != 0 || !strstr(g->rec.sent, field))
        fail_msg("the client got\n%s\nexpected %s with %s", g->rec.sent, status_line, field);
    assert_null(g->req);
}

/* The answer holds needle. */
static void expect_in(fake_gate *g, const char *needle)
{
    if (!g->rec.sent || !strstr(g->rec.sent, needle))
        fail_msg("the client got\n%s\nwithout %s", g->rec.sent ? g->rec.sent : "(nothing)", needle);
}

/* The route's direct response: the request passed every stage. */
static void expect_passed(fake_gate *g)
{
    expect_head(g, "HTTP/1.1 204 No Content\r\n", "\r\nX-Request-Id: test-1\r\n");
    assert_int_equal(g->rec.finishes, 1);
}

#define PROBLEM_HEAD(status, len)                                                                  \
    "HTTP/1.1 " status "\r\nContent-Type: application/problem+json\r\nContent-Length: " len        \
    "\r\nCache-Control: no-store\r\n"

static void direct_response(void **state)
{
    suite *s = *state;
    fg_request(&s->g, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    expect_answer(&s->g, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                         "Content-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\n"
                         "X-Request-Id: test-1\r\n\r\nhi");
    assert_int_equal(s->g.rec.sends, 1);
}

static void no_route(void **state)
{
    suite *s = *state;
    fg_request(&s->g, "GET /nothing HTTP/1.1\r\nHost: t\r\n\r\n");
    expect_answer(&s->g,
                  PROBLEM_HEAD("404 Not Found", "197") "X-Content-Type-Options: nosniff\r\n"
                  "X-Request-Id: test-1\r\n\r\n"
                  "{\"type\":\"urn:gatehouse:problem:no-route\",\"title\":\"No route matches\",\"status\":404,"
                  "\"detail\":\"no route matches this host and path\",\"request_id\":\"test-1\",\"trace_id\":\"" FG_TRACE_ID "\"}\n");
}

static void method_not_allowed(void **state)
{
    suite *s = *state;
    fg_request(&s->g, "DELETE /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    expect_head(&s->g, "HTTP/1.1 405 Method Not Allowed\r\n", "\r\nAllow: GET, HEAD\r\n");
}

static void jwt_without_token(void **state)
{
    suite *s = *state;
    fg_request(&s->g, "GET /jwt HTTP/1.1\r\nHost: t\r\n\r\n");
    expect_answer(&s->g,
                  PROBLEM_HEAD("401 Unauthorized", "208")
                  "WWW-Authenticate: Bearer realm=\"corp\"\r\n"
                  "X-Content-Type-Options: nosniff\r\nX-Request-Id: test-1\r\n\r\n"
                  "{\"type\":\"urn:gatehouse:problem:missing-token\",\"title\":\"Authentication "
                  "required\",\"status\":401,\"detail\":\"this route requires a bearer token\","
                  "\"request_id\":\"test-1\",\"trace_id\":\"" FG_TRACE_ID "\"}\n");
}

static void jwt_with_token_passes(void **state)
{
    suite *s = *state;
    bearer_get(s, "/jwt", "orders:read");
    expect_passed(&s->g);
}

static void authorize_without_scope(void **state)
{
    suite *s = *state;
    bearer_get(s, "/scoped", "orders:read");
    expect_head(&s->g, "HTTP/1.1 403 Forbidden\r\n",
                "\r\nWWW-Authenticate: Bearer realm=\"corp\", error=\"insufficient_scope\", "
                "error_description=\"The access token lacks a required scope\", "
                "scope=\"orders:write\"\r\n");
}

static void api_key_missing(void **state)
{
    suite *s = *state;
    fg_request(&s->g, "GET /keyed HTTP/1.1\r\nHost: t\r\n\r\n");
    expect_head(&s->g, "HTTP/1.1 401 Unauthorized\r\n",
                "\r\nWWW-Authenticate: ApiKey realm=\"partners\", header=\"X-Api-Key\"\r\n");
    fg_forget(&s->g);
    fg_request(&s->g, "GET /keyed HTTP/1.1\r\nHost: t\r\nX-Api-Key: k1\r\n\r\n");
    expect_passed(&s->g);
}

/* A webhook's head; its signature over HOOK_BODY made with secret. */
static void hook_head(char *out, size_t cap, const char *secret)
{
    unsigned char mac[32];
    unsigned len = sizeof(mac);
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)HOOK_BODY,
         strlen(HOOK_BODY), mac, &len);
    char hex[65];
    gh_hex_encode(mac, 32, hex);
    hex[64] = '\0';
    snprintf(out, cap,
             "POST /hooks HTTP/1.1\r\nHost: t\r\nX-Hub-Signature-256: sha256=%s\r\n"
             "Content-Length: %zu\r\n\r\n",
             hex, strlen(HOOK_BODY));
}

static void hmac_wrong_signature_after_the_body(void **state)
{
    suite *s = *state;
    char head[512];
    hook_head(head, sizeof(head), "not-the-shared-secret-at-all");
    assert_non_null(fg_request(&s->g, head));
    assert_int_equal(s->g.rec.collects, 1); /* the stage waits for the body */
    assert_int_equal(s->g.rec.sends, 0);
    fg_body(&s->g, HOOK_BODY, strlen(HOOK_BODY));
    expect_head(&s->g, "HTTP/1.1 401 Unauthorized\r\n", "\"status\":401,\"detail\":\"the signature does not match\"");
    assert_int_equal(s->g.rec.resumes, 1);
    /* The access log says who it was from: nobody, and why. */
    const char *log = fg_log(&s->g);
    assert_non_null(strstr(log, "\"route\":\"hooks\",\"status\":401,"));
    assert_non_null(strstr(log, ",\"auth\":\"failed\",\"auth_reason\":\"the signature does not match\","));
}

static void hmac_right_signature_passes(void **state)
{
    suite *s = *state;
    char head[512];
    hook_head(head, sizeof(head), HMAC_SECRET);
    assert_non_null(fg_request(&s->g, head));
    fg_body(&s->g, HOOK_BODY, strlen(HOOK_BODY));
    expect_passed(&s->g);
    const char *log = fg_log(&s->g);
    assert_non_null(strstr(log, ",\"auth\":\"ok\",\"auth_reason\":null,\"sub\":null,\"client_id\":\"hooks\","));
}

static void mtls_without_certificate(void **state)
{
    suite *s = *state;
    fg_request(&s->g, "GET /certs HTTP/1.1\r\nHost: t\r\n\r\n");
    expect_head(&s->g, "HTTP/1.1 403 Forbidden\r\n",
                "\"type\":\"urn:gatehouse:problem:client-certificate-required\"");
    expect_in(&s->g, "\"detail\":\"this route requires a client certificate\"");
}

static void introspection_without_token(void **state)
{
    suite *s = *state;
    fg_request(&s->g, "GET /opaque HTTP/1.1\r\nHost: t\r\n\r\n");
    expect_head(&s->g, "HTTP/1.1 401 Unauthorized\r\n",
                "\r\nWWW-Authenticate: Bearer realm=\"opaque\"\r\n");
    expect_in(&s->g, "\"type\":\"urn:gatehouse:problem:missing-token\"");
}

/* The worker's one call in flight ends with result, without any answer from the network. */
static void end_call(fake_gate *g, CURLcode result)
{
    gh_pending_call *c = GH_LIST_FIRST(&g->svc.calls->list, gh_pending_call, link);
    assert_non_null(c);
    assert_null(c->link.next);
    c->http.done(&c->http, result);
    assert_true(gh_list_empty(&g->svc.calls->list));
}

static void policy_unreachable(void **state)
{
    suite *s = *state;
    assert_non_null(fg_request(&s->g, "GET /policed HTTP/1.1\r\nHost: t\r\nX-Api-Key: k1\r\n\r\n"));
    assert_int_equal(s->g.rec.sends, 0); /* waits for the policy */
    end_call(&s->g, CURLE_COULDNT_CONNECT);
    expect_head(&s->g, "HTTP/1.1 503 Service Unavailable\r\n", "\r\nRetry-After: 1\r\n");
    expect_in(&s->g, "\"type\":\"urn:gatehouse:problem:policy-unavailable\"");
}

static void rate_limited_second_request(void **state)
{
    suite *s = *state;
    fg_request(&s->g, "GET /limited HTTP/1.1\r\nHost: t\r\n\r\n");
    expect_passed(&s->g);
    fg_forget(&s->g);
    fg_request(&s->g, "GET /limited HTTP/1.1\r\nHost: t\r\n\r\n");
    expect_head(&s->g, "HTTP/1.1 429 Too Many Requests\r\n",
                "\r\nRateLimit-Policy: \"one\";q=1;w=60\r\n");
    expect_in(&s->g, "\r\nRetry-After: 60\r\n");
    expect_in(&s->g, "\r\nRateLimit: \"one\";r=0;t=60\r\n");
}

static void body_wrong_type(void **state)
{
    suite *s = *state;
    fg_request(&s->g, "POST /typed HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\n"
                      "Content-Length: 2\r\n\r\n");
    expect_head(&s->g, "HTTP/1.1 415 Unsupported Media Type\r\n",
                "\"detail\":\"the Content-Type is not one of the route's body.content_types\"");
    assert_int_equal(s->g.rec.collects, 0);
}

static void body_against_the_schema(void **state)
{
    suite *s = *state;
    const char *body = "{\"name\": \"no id\"}";
    char head[256];
    snprintf(head, sizeof(head), "POST /typed HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                                 "Content-Length: %zu\r\n\r\n", strlen(body));
    assert_non_null(fg_request(&s->g, head));
    assert_int_equal(s->g.rec.collects, 1);
    fg_body(&s->g, body, strlen(body));
    expect_head(&s->g, "HTTP/1.1 400 Bad Request\r\n",
                "\"type\":\"urn:gatehouse:problem:schema-validation-failed\"");
    expect_in(&s->g, "\r\nConnection: close\r\n\r\n{\"type\":\"urn:gatehouse:problem:schema-validation-failed\","
                     "\"title\":\"Body does not match the schema\",\"status\":400,\"detail\":\"the body does "
                     "not match the route's schema: (the body): the required property 'id' is missing\","
                     "\"request_id\":\"test-1\",\"trace_id\":\"" FG_TRACE_ID "\",\"errors\":[{\"instance_path\":\"\",\"schema_path\":"
                     "\"#/required\",\"message\":\"the required property 'id' is missing\"}]}\n");
}

/* A request waiting for keys never fetched (nothing fetches here) whose client leaves: the
 * stage's abort takes it off the worker's waits, and nothing of it is left. */
static void jwt_waiting_for_keys_client_leaves(void **state)
{
    suite *s = *state;
    assert_non_null(bearer_get(s, "/remote", "orders:read"));
    assert_false(gh_list_empty(&s->g.svc.key_waits->list));
    assert_int_equal(s->g.rec.sends, 0);
    fg_client_gone(&s->g);
    assert_true(gh_list_empty(&s->g.svc.key_waits->list));
    assert_non_null(strstr(fg_log(&s->g), "\"route\":\"remote\",\"status\":499,"));
}

static void body_collection_client_leaves(void **state)
{
    suite *s = *state;
    char head[512];
    hook_head(head, sizeof(head), HMAC_SECRET);
    assert_non_null(fg_request(&s->g, head));
    assert_int_equal(s->g.rec.collects, 1);
    fg_client_gone(&s->g); /* before any of the body came */
    assert_int_equal(s->g.rec.sends, 0);
    assert_non_null(strstr(fg_log(&s->g), "\"route\":\"hooks\",\"status\":499,"));
}

/* A request waiting for a stage's HTTP call (introspection, then policy) whose client leaves:
 * it leaves the call, which goes on without it and ends with nobody to answer. */
static void pending_call_client_leaves(void **state)
{
    suite *s = *state;
    static const char *const heads[] = {
        "GET /opaque HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer opaque-1\r\n\r\n",
        "GET /policed HTTP/1.1\r\nHost: t\r\nX-Api-Key: k1\r\n\r\n",
    };
    for (size_t i = 0; i < 2; i++) {
        assert_non_null(fg_request(&s->g, heads[i]));
        gh_pending_call *c = GH_LIST_FIRST(&s->g.svc.calls->list, gh_pending_call, link);
        assert_non_null(c);
        assert_false(gh_list_empty(&c->waiters));
        fg_client_gone(&s->g);
        assert_true(gh_list_empty(&c->waiters)); /* the call goes on without it */
        end_call(&s->g, CURLE_COULDNT_CONNECT);
        assert_int_equal(s->g.rec.sends, 0);
        assert_non_null(strstr(fg_log(&s->g), ",\"status\":499,"));
    }
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(direct_response),
        T(no_route),
        T(method_not_allowed),
        T(jwt_without_token),
        T(jwt_with_token_passes),
        T(authorize_without_scope),
        T(api_key_missing),
        T(hmac_wrong_signature_after_the_body),
        T(hmac_right_signature_passes),
        T(mtls_without_certificate),
        T(introspection_without_token),
        T(policy_unreachable),
        T(rate_limited_second_request),
        T(body_wrong_type),
        T(body_against_the_schema),
        T(jwt_waiting_for_keys_client_leaves),
        T(body_collection_client_leaves),
        T(pending_call_client_leaves),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
