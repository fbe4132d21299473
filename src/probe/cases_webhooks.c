/* Webhooks: requests to routes that take HMAC-signed webhooks (auth.hmac), signed as each scheme
 * signs (github, stripe, slack, generic) with the secret the probe holds for the provider (its
 * own in self-test, --hmac-secret NAME=FILE live). Every case first shows that a correctly
 * signed request gets through, then that a bent one (edited after signing, stale, replayed,
 * signed with another secret or a retired scheme) is answered 401 with nothing forwarded. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "identity/hmac.h"
#include "probe/probe_internal.h"

#define OWASP_HOOK "API2:2023"
#define OWASP_CONSUME "API10:2023"
#define HOUR 3600

/* How a signature is bent. */
typedef enum { SIG_RIGHT, SIG_TRUNCATED } sig_form;

static const char *secret_of(const gh_probe *p, const gh_hmac_provider *prov)
{
    if (!p->hmac_secrets || !p->conf)
        return NULL;
    return p->hmac_secrets[prov - p->conf->hmac_providers];
}

static bool signed_route(gh_probe *p, const gh_probe_route *r)
{
    (void)p;
    return r->conf && r->conf->auth_hmac && r->proxied &&
           (!r->conf->methods || (r->conf->methods & (GH_M_POST | GH_M_PUT | GH_M_PATCH)));
}

static bool signed_route_held(gh_probe *p, const gh_probe_route *r)
{
    return signed_route(p, r) && secret_of(p, r->conf->auth_hmac);
}

static bool timestamped(const gh_hmac_provider *prov)
{
    return prov->scheme == GH_HMAC_STRIPE || prov->scheme == GH_HMAC_SLACK ||
           (prov->scheme == GH_HMAC_GENERIC && prov->timestamp_header);
}

static const char *method_of(const gh_route_conf *c)
{
    if (!c->methods || (c->methods & GH_M_POST))
        return "POST";
    return (c->methods & GH_M_PUT) ? "PUT" : "PATCH";
}

static const char *hex(gh_probe *p, const unsigned char *d, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char *out = gh_arena_alloc(&p->arena, 2 * n + 1);
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 15];
    }
    out[2 * n] = '\0';
    return out;
}

/* The signature header lines for body as prov's scheme signs it at ts, with secret. */
static const char *sign_lines(gh_probe *p, const gh_hmac_provider *prov, const char *secret,
                              long long ts, const char *body, sig_form form)
{
    char prefix[48] = "";
    if (timestamped(prov))
        snprintf(prefix, sizeof(prefix), prov->scheme == GH_HMAC_SLACK ? "v0:%lld:" : "%lld.", ts);
    unsigned char mac[32];
    if (!gh_hmac_sha256(secret, strlen(secret), prefix, strlen(prefix), body, strlen(body), mac))
        return NULL;
    const char *h = hex(p, mac, sizeof(mac));
    if (form == SIG_TRUNCATED)
        h = gh_arena_strndup(&p->arena, h, 32);
    switch (prov->scheme) {
    case GH_HMAC_GITHUB:
        return gh_arena_printf(&p->arena, "X-Hub-Signature-256: sha256=%s\r\n", h);
    case GH_HMAC_STRIPE:
        return gh_arena_printf(&p->arena, "Stripe-Signature: t=%lld,v1=%s\r\n", ts, h);
    case GH_HMAC_SLACK:
        return gh_arena_printf(
            &p->arena, "X-Slack-Request-Timestamp: %lld\r\nX-Slack-Signature: v0=%s\r\n", ts, h);
    default:
        if (prov->timestamp_header)
            return gh_arena_printf(&p->arena, "%s: %lld\r\n%s: sha256=%s\r\n",
                                   prov->timestamp_header, ts, prov->header, h);
        return gh_arena_printf(&p->arena, "%s: sha256=%s\r\n", prov->header, h);
    }
}

/* A body no earlier request of the run had: a correctly signed one is never a replay. */
static const char *fresh_body(gh_probe *p)
{
    return gh_arena_printf(&p->arena, "{\"event\":\"probe\",\"id\":\"%lld-%llu-%d\"}",
                           (long long)time(NULL), (unsigned long long)p->used.requests, rand());
}

static const char *request(gh_probe *p, const gh_probe_route *route, const char *sig_lines,
                           const char *body, size_t *len)
{
    return gh_probe_request(p, method_of(route->conf), route->path, route->host,
                            gh_arena_printf(&p->arena, "Content-Type: application/json\r\n%s",
                                            sig_lines ? sig_lines : ""),
                            body, len);
}

static long long now_s(void)
{
    return (long long)time(NULL);
}

/* Sends a correctly signed request to route: true when it got through (its bytes in *bytes and
 * *len when asked), else r is skipped. */
static bool signed_passes(gh_probe *p, gh_probe_result *r, const gh_probe_route *route,
                          const char **bytes, size_t *len)
{
    size_t own;
    if (!len)
        len = &own;
    const gh_hmac_provider *prov = route->conf->auth_hmac;
    const char *body = fresh_body(p);
    const char *lines = sign_lines(p, prov, secret_of(p, prov), now_s(), body, SIG_RIGHT);
    if (!lines) {
        gh_probe_error(r, "cannot compute HMAC-SHA256");
        return false;
    }
    const char *b = request(p, route, lines, body, len);
    gh_probe_exchange x;
    gh_probe_aim(p, r, route->conf);
    if (gh_probe_send(p, r, route->target, b, *len, &(gh_probe_opts){.responses = 1}, &x) != 0)
        return false;
    int status = x.nresponses ? x.r[0].status : 0;
    if (p->server) {
        gh_probe_upreq *v = NULL;
        gh_probe_upreqs_free(v, gh_probe_upstream_take(p->server, &v));
    }
    if (status > 0 && status < 400) {
        if (bytes)
            *bytes = b;
        return true;
    }
    gh_probe_note(p, r, &x);
    gh_probe_skip(
        r,
        "a request signed with %s's secret is refused too (%d): the attempt would prove nothing%s",
        prov->name, status,
        p->selftest
            ? ""
            : gh_arena_printf(&p->arena, " (is --hmac-secret %s=FILE the provider's secret?)",
                              prov->name));
    return false;
}

/* The route a webhook case aims at, its correctly signed request shown to pass; NULL with r
 * skipped. */
static const gh_probe_route *aim(gh_probe *p, gh_probe_result *r,
                                 bool (*also)(const gh_hmac_provider *), const char *also_what)
{
    const gh_probe_route *route = NULL;
    for (size_t i = 0; i < p->nroutes && !route; i++)
        if (signed_route_held(p, &p->routes[i]) && (!also || also(p->routes[i].conf->auth_hmac)))
            route = &p->routes[i];
    if (!route) {
        const gh_probe_route *any = gh_probe_find_route(p, signed_route);
        if (!any)
            gh_probe_skip(r, "no proxied route takes signed webhooks (auth.hmac)");
        else if (!gh_probe_find_route(p, signed_route_held))
            gh_probe_skip(r,
                          "the probe holds no secret for %s (self-test, or --hmac-secret %s=FILE)",
                          any->conf->auth_hmac->name, any->conf->auth_hmac->name);
        else
            gh_probe_skip(r, "no route whose secret the probe holds %s",
                          also_what ? also_what : "fits the case");
        return NULL;
    }
    return signed_passes(p, r, route, NULL, NULL) ? route : NULL;
}

static void expect_401(gh_probe *p, gh_probe_result *r, const gh_probe_route *route,
                       const char *lines, const char *body, const char *what)
{
    size_t len;
    const char *bytes = request(p, route, lines, body, &len);
    gh_probe_expect_refusal(p, r, route, bytes, len, 401, 401, what, NULL);
}

static void edited_body(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = aim(p, r, NULL, NULL);
    if (!route)
        return;
    const gh_hmac_provider *prov = route->conf->auth_hmac;
    const char *body = fresh_body(p);
    const char *lines = sign_lines(p, prov, secret_of(p, prov), now_s(), body, SIG_RIGHT);
    char *edited = gh_arena_strdup(&p->arena, body);
    char *at = strstr(edited, "probe");
    at[0] = 'P'; /* one byte changed after signing */
    expect_401(p, r, route, lines, edited,
               "a signed webhook whose body was changed by one byte after signing");
}

static void unsigned_hook(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = aim(p, r, NULL, NULL);
    if (route)
        expect_401(p, r, route, NULL, fresh_body(p), "a webhook without a signature");
}

static void truncated(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = aim(p, r, NULL, NULL);
    if (!route)
        return;
    const gh_hmac_provider *prov = route->conf->auth_hmac;
    const char *body = fresh_body(p);
    expect_401(p, r, route, sign_lines(p, prov, secret_of(p, prov), now_s(), body, SIG_TRUNCATED),
               body, "a webhook whose signature is cut to its first 16 bytes");
}

static void stale(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route =
        aim(p, r, timestamped, "signs a timestamp (stripe, slack, generic with timestamp_header)");
    if (!route)
        return;
    const gh_hmac_provider *prov = route->conf->auth_hmac;
    long long tol = (long long)prov->tolerance_s;
    const long long at[2] = {now_s() - tol - 60, now_s() + tol + 60};
    for (int i = 0; i < 2 && r->verdict != GH_PV_FAIL; i++) {
        const char *body = fresh_body(p);
        expect_401(
            p, r, route, sign_lines(p, prov, secret_of(p, prov), at[i], body, SIG_RIGHT), body,
            gh_arena_printf(
                &p->arena, "a webhook signed with a timestamp %s the tolerance (%llds) by a minute",
                i ? "ahead of" : "older than", tol));
    }
}

static void hour_old(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route =
        aim(p, r, timestamped, "signs a timestamp (stripe, slack, generic with timestamp_header)");
    if (!route)
        return;
    const gh_hmac_provider *prov = route->conf->auth_hmac;
    const char *body = fresh_body(p);
    expect_401(p, r, route,
               sign_lines(p, prov, secret_of(p, prov), now_s() - HOUR, body, SIG_RIGHT), body,
               "a webhook correctly signed an hour ago");
    if (r->verdict == GH_PV_FAIL)
        gh_probe_fail(
            r,
            "a webhook signed an hour ago was accepted: a captured one can be replayed for "
            "that long (identity.hmac.%s.tolerance)",
            prov->name);
}

static void replay(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = aim(p, r, NULL, NULL);
    if (!route)
        return;
    const char *bytes;
    size_t len;
    if (!signed_passes(p, r, route, &bytes, &len))
        return;
    gh_probe_expect_refusal(p, r, route, bytes, len, 401, 401,
                            "the same correctly signed webhook sent a second time (a replay)",
                            NULL);
}

static void other_secret(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = aim(p, r, NULL, NULL);
    if (!route)
        return;
    const gh_hmac_provider *mine = route->conf->auth_hmac, *other = NULL;
    for (size_t i = 0; i < p->conf->nhmac_providers && !other; i++) {
        const gh_hmac_provider *q = &p->conf->hmac_providers[i];
        if (q != mine && secret_of(p, q) && strcmp(secret_of(p, q), secret_of(p, mine)) != 0)
            other = q;
    }
    if (!other) {
        gh_probe_skip(r, "the probe holds the secret of one HMAC provider only");
        return;
    }
    const char *body = fresh_body(p);
    expect_401(p, r, route, sign_lines(p, mine, secret_of(p, other), now_s(), body, SIG_RIGHT),
               body,
               gh_arena_printf(&p->arena, "a webhook for %s signed with %s's secret", mine->name,
                               other->name));
}

static bool has_retired_form(const gh_hmac_provider *prov)
{
    return prov->scheme != GH_HMAC_SLACK; /* Slack has only ever signed with v0 */
}

static void legacy_scheme(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route =
        aim(p, r, has_retired_form, "has a retired signature form (github, stripe, generic)");
    if (!route)
        return;
    const gh_hmac_provider *prov = route->conf->auth_hmac;
    const char *secret = secret_of(p, prov), *body = fresh_body(p);
    long long ts = now_s();
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned mlen = 0;
    const char *lines, *what;
    if (prov->scheme == GH_HMAC_STRIPE) {
        /* v0 is Stripe's test-mode form: a gateway that takes it takes an unchecked scheme. */
        const char *signed_text = gh_arena_printf(&p->arena, "%lld.%s", ts, body);
        HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)signed_text,
             strlen(signed_text), mac, &mlen);
        lines =
            gh_arena_printf(&p->arena, "Stripe-Signature: t=%lld,v0=%s\r\n", ts, hex(p, mac, mlen));
        what = "a webhook signed in Stripe's v0 form only (no v1)";
    } else {
        /* What the scheme signs (generic: with its timestamp), under SHA-1. */
        const char *ts_line = "", *signed_text = body;
        if (prov->timestamp_header) {
            ts_line = gh_arena_printf(&p->arena, "%s: %lld\r\n", prov->timestamp_header, ts);
            signed_text = gh_arena_printf(&p->arena, "%lld.%s", ts, body);
        }
        HMAC(EVP_sha1(), secret, (int)strlen(secret), (const unsigned char *)signed_text,
             strlen(signed_text), mac, &mlen);
        const char *header = prov->scheme == GH_HMAC_GITHUB ? "X-Hub-Signature" : prov->header;
        lines = gh_arena_printf(&p->arena, "%s%s: sha1=%s\r\n", ts_line, header, hex(p, mac, mlen));
        what = prov->scheme == GH_HMAC_GITHUB
                   ? "a webhook signed with GitHub's retired X-Hub-Signature: sha1="
                   : "a webhook signed with HMAC-SHA1 (sha1=)";
    }
    if (!mlen) {
        gh_probe_error(r, "cannot compute the HMAC");
        return;
    }
    expect_401(p, r, route, lines, body, what);
}

#define W GH_PN_WRITE | GH_PN_CONFIG

const gh_probe_case gh_probe_cases_webhooks[] = {
    {"HOOK-001", "webhooks", "signed webhook with its body changed after signing", OWASP_HOOK, 345,
     GH_PSEV_HIGH, W, "401, nothing forwarded",
     "Verify the signature over the raw body as received (auth.hmac).", edited_body},
    {"HOOK-002", "webhooks", "webhook without a signature", OWASP_HOOK, 345, GH_PSEV_HIGH, W,
     "401, nothing forwarded", "Give the route auth: {hmac: PROVIDER} (routes[].auth, with identity.hmac.PROVIDER).", unsigned_hook},
    {"HOOK-003", "webhooks", "signature cut to its first 16 bytes", OWASP_HOOK, 345, GH_PSEV_HIGH,
     W, "401, nothing forwarded", "Compare the whole signature, in constant time.", truncated},
    {"HOOK-004", "webhooks", "signed timestamp a minute beyond the tolerance (past and future)",
     OWASP_HOOK, 294, GH_PSEV_MEDIUM, W, "401, nothing forwarded",
     "Check the signed timestamp against identity.hmac.*.tolerance both ways.", stale},
    {"HOOK-005", "webhooks", "webhook correctly signed an hour ago (stale timestamp)", OWASP_CONSUME, 294, GH_PSEV_MEDIUM, W,
     "401, nothing forwarded: a tolerance of minutes",
     "Keep identity.hmac.*.tolerance at minutes (5m, as Stripe and Slack advise).", hour_old},
    {"HOOK-006", "webhooks", "the same signed webhook twice (replay)", OWASP_HOOK, 294,
     GH_PSEV_HIGH, W, "the first passes, the second 401 and not forwarded",
     "Remember accepted signatures for the tolerance and refuse them again (identity.hmac.*.tolerance; Gatehouse always does).", replay},
    {"HOOK-007", "webhooks", "signed with another provider's secret", OWASP_HOOK, 345, GH_PSEV_HIGH,
     W, "401, nothing forwarded", "Give each sender its own identity.hmac provider and secret.",
     other_secret},
    {"HOOK-008", "webhooks", "a retired signature form (GitHub X-Hub-Signature sha1=, Stripe v0)",
     OWASP_HOOK, 327, GH_PSEV_MEDIUM, W, "401, nothing forwarded",
     "Accept only the scheme's current form (sha256, v1); never fall back to SHA-1.",
     legacy_scheme},
    {0},
};
