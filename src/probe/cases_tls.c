/* TLS: what a TLS listener agrees to (protocol versions, suites), whom it answers for (SNI
 * against Host), which client certificates it takes, and what it tells browsers (HSTS). */
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>

#include "probe/probe_internal.h"

#define OWASP_MISCONF "API8:2023"

static const gh_probe_target *tls_target(gh_probe *p)
{
    for (size_t i = 0; i < p->ntargets; i++)
        if (p->targets[i].tls)
            return &p->targets[i];
    return NULL;
}

static bool on_tls(gh_probe *p, const gh_probe_route *r)
{
    return r->tls_target && (p->selftest || r->safe);
}

/* A route served on a TLS listener, as sent there (the run's copy, in the arena); NULL with r
 * skipped. */
static const gh_probe_route *over_tls(gh_probe *p, gh_probe_result *r, const gh_probe_route *route,
                                      const char *none)
{
    if (!route) {
        gh_probe_skip(r, "%s", none);
        return NULL;
    }
    if (route->target == route->tls_target)
        return route;
    gh_probe_route *copy = gh_arena_alloc(&p->arena, sizeof(*copy));
    *copy = *route;
    copy->target = route->tls_target;
    copy->baseline = 0;
    if (!route->conf || !route->conf->host)
        copy->host = copy->target->authority;
    return copy;
}

static const gh_probe_route *tls_route(gh_probe *p, gh_probe_result *r)
{
    return over_tls(p, r, gh_probe_find_route(p, on_tls), "no route is served on a TLS listener");
}

/* The handshake failed for a reason of the probe's own OpenSSL (it cannot offer what was
 * asked), not the server's refusal. */
static bool local_refusal(const char *why)
{
    return why && (strstr(why, "no protocols available") || strstr(why, "no cipher") ||
                   strstr(why, "cannot load") || strstr(why, "unknown to this OpenSSL"));
}

static void offer(gh_probe *p, gh_probe_result *r, const gh_probe_opts *o, const char *what)
{
    const gh_probe_route *route = tls_route(p, r);
    if (!route)
        return;
    gh_probe_aim(p, r, route->conf);
    size_t len;
    const char *bytes = gh_probe_request(p, "GET", route->path, route->host, NULL, NULL, &len);
    gh_probe_exchange x;
    if (gh_probe_send(p, r, route->target, bytes, len, o, &x) != 0)
        return;
    gh_probe_note(p, r, &x);
    if (local_refusal(x.tls_error))
        gh_probe_skip(r, "this OpenSSL cannot offer %s (%s)", what, x.tls_error);
    else if (x.connect_failed)
        gh_probe_error(r, "cannot connect to %s:%d", route->target->host, route->target->port);
    else if (x.tls_error)
        gh_probe_pass(r, "a client offering %s was refused during the handshake", what);
    else
        gh_probe_fail(r, "a client offering %s completed a handshake (%s)", what,
                      x.tls_version ? x.tls_version : "?");
}

static void old_versions(gh_probe *p, gh_probe_result *r)
{
    static const struct {
        int version;
        const char *name;
    } old[] = {{TLS1_VERSION, "only TLS 1.0"}, {TLS1_1_VERSION, "only TLS 1.1"}};
    for (size_t i = 0; i < 2 && r->verdict != GH_PV_FAIL && r->verdict != GH_PV_SKIP; i++)
        offer(p, r, &(gh_probe_opts){.tls_min = old[i].version, .tls_max = old[i].version, .responses = 1},
              old[i].name);
}

static void weak_suites(gh_probe *p, gh_probe_result *r)
{
    offer(p, r,
          &(gh_probe_opts){.tls_min = TLS1_2_VERSION, .tls_max = TLS1_2_VERSION, .responses = 1,
                           .ciphers = "AES128-SHA:AES256-SHA:DES-CBC3-SHA:ECDHE-RSA-AES128-SHA:"
                                      "ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0"},
          "TLS 1.2 with only CBC-SHA1 and 3DES suites");
}

static void misdirected(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = tls_route(p, r);
    if (!route)
        return;
    const char *sni = route->target->sni ? route->target->sni : "localhost";
    size_t len;
    const char *bytes = gh_probe_request(p, "GET", route->path, "probe-misdirected.invalid", NULL, NULL, &len);
    gh_probe_expect_refusal(p, r, route, bytes, len, 421, 421,
                            gh_arena_printf(&p->arena, "a request for Host probe-misdirected.invalid on a "
                                                       "connection that asked for %s", sni),
                            NULL);
}

static bool needs_client_cert(gh_probe *p, const gh_probe_route *r)
{
    return on_tls(p, r) && r->conf &&
           (r->conf->auth_mtls || (r->tls_target->listener && r->tls_target->listener->client_auth));
}

/* A route that needs a client certificate, shown to pass with the valid one. */
static const gh_probe_route *mtls_route(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = over_tls(p, r, gh_probe_find_route(p, needs_client_cert),
                                           "no route needs a client certificate");
    return route && gh_probe_baseline(p, r, route) ? route : NULL;
}

static void with_certificate(gh_probe *p, gh_probe_result *r, const char *cert, const char *key,
                             const char *what)
{
    const gh_probe_route *route = mtls_route(p, r);
    if (!route)
        return;
    gh_probe_aim(p, r, route->conf);
    size_t len;
    const char *bytes = gh_probe_valid_request(p, route, NULL, &len);
    gh_probe_exchange x;
    gh_probe_opts o = {.responses = 1, .cert_file = cert, .key_file = key, .no_cert = !cert};
    if (gh_probe_send(p, r, route->target, bytes, len, &o, &x) != 0)
        return;
    gh_probe_note(p, r, &x);
    int forwarded = gh_probe_upstream_note(p, r, NULL);
    int status = x.nresponses ? x.r[0].status : 0;
    if (local_refusal(x.tls_error))
        gh_probe_error(r, "the probe could not use its certificate: %s", x.tls_error);
    else if (forwarded > 0)
        gh_probe_fail(r, "%s reached the upstream", what);
    else if (x.tls_error || status == 0)
        gh_probe_pass(r, "%s was refused during the handshake", what);
    else if (status >= 400 && status < 500)
        gh_probe_pass(r, "%s was refused with %d", what, status);
    else
        gh_probe_fail(r, "%s was answered %d", what, status);
}

static void no_client_cert(gh_probe *p, gh_probe_result *r)
{
    with_certificate(p, r, NULL, NULL, "a client without a certificate");
}

static void wrong_ca(gh_probe *p, gh_probe_result *r)
{
    with_certificate(p, r, p->client_wrong_cert, p->client_wrong_key,
                     "a client certificate from another CA");
}

static void expired_cert(gh_probe *p, gh_probe_result *r)
{
    with_certificate(p, r, p->client_expired_cert, p->client_expired_key, "an expired client certificate");
}

static void revoked_cert(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = gh_probe_find_route(p, needs_client_cert);
    if (route && !(route->tls_target->listener && route->tls_target->listener->crl)) {
        gh_probe_skip(r, "the listener has no crl_file: revocation is not checked");
        return;
    }
    with_certificate(p, r, p->client_revoked_cert, p->client_revoked_key, "a revoked client certificate");
}

static bool mtls_route_pred(gh_probe *p, const gh_probe_route *r)
{
    return on_tls(p, r) && r->conf && r->conf->auth_mtls;
}

/* Headers that claim a verified certificate: they authenticate nothing, and never reach the
 * upstream as the gateway's word. */
static void forged_cert_headers(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = over_tls(p, r, gh_probe_find_route(p, mtls_route_pred),
                                           "no route authenticates with a client certificate (auth.mtls)");
    if (!route || !gh_probe_baseline(p, r, route))
        return;
    static const char forged[] =
        "Client-Cert: :MIIBprobeforgedcertificate=:\r\n"
        "X-Client-Cert: MIIBprobeforgedcertificate=\r\n"
        "X-SSL-Client-Verify: SUCCESS\r\n"
        "X-SSL-Client-S-DN: CN=admin\r\n"
        "X-Forwarded-Client-Cert: Hash=probe;Subject=\"CN=admin\"\r\n";
    size_t len;
    const char *bytes = gh_probe_valid_request(p, route, forged, &len);
    gh_probe_exchange x;
    gh_probe_opts o = {.responses = 1, .no_cert = true};
    gh_probe_aim(p, r, route->conf);
    if (gh_probe_send(p, r, route->target, bytes, len, &o, &x) != 0)
        return;
    gh_probe_note(p, r, &x);
    int forwarded = gh_probe_upstream_note(p, r, NULL);
    int status = x.nresponses ? x.r[0].status : 0;
    if (forwarded > 0)
        gh_probe_fail(r, "client-certificate headers without a certificate reached the upstream");
    else if (status >= 200 && status < 400)
        gh_probe_fail(r, "client-certificate headers without a certificate were answered %d", status);
    else
        gh_probe_pass(r, "client-certificate headers without a certificate were refused (%s)",
                      x.tls_error ? "handshake" : gh_arena_printf(&p->arena, "%d", status));
}

static void hsts(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = tls_route(p, r);
    if (!route)
        return;
    gh_probe_aim(p, r, route->conf);
    size_t len;
    const char *bytes = gh_probe_request(p, "GET", "/probe-hsts-check", route->host, NULL, NULL, &len);
    gh_probe_exchange x;
    if (gh_probe_send(p, r, route->target, bytes, len, &(gh_probe_opts){.responses = 1}, &x) != 0)
        return;
    gh_probe_note(p, r, &x);
    if (!x.nresponses) {
        gh_probe_error(r, "no answer over TLS");
        return;
    }
    const char *v = gh_probe_field(p, &x.r[0], "Strict-Transport-Security");
    const char *age = v ? strstr(v, "max-age=") : NULL;
    long long secs = age ? atoll(age + 8) : 0;
    if (!v)
        gh_probe_fail(r, "a TLS answer carries no Strict-Transport-Security");
    else if (secs < 15552000)
        gh_probe_fail(r, "Strict-Transport-Security max-age is %lld s, under 180 days", secs);
    else
        gh_probe_pass(r, "Strict-Transport-Security: %s", v);
}

static void plain_on_tls(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_target *t = tls_target(p);
    if (!t) {
        gh_probe_skip(r, "no TLS listener");
        return;
    }
    gh_probe_target plain = *t;
    plain.tls = false;
    size_t len;
    const char *bytes = gh_probe_request(p, "GET", "/", t->authority, NULL, NULL, &len);
    gh_probe_exchange x;
    if (gh_probe_send(p, r, &plain, bytes, len, &(gh_probe_opts){.responses = 1}, &x) != 0)
        return;
    gh_probe_note(p, r, &x);
    int forwarded = gh_probe_upstream_note(p, r, NULL);
    int status = x.nresponses ? x.r[0].status : 0;
    if (forwarded > 0 || (status >= 200 && status < 400))
        gh_probe_fail(r, "plain HTTP on the TLS port was served (%d)", status);
    else
        gh_probe_pass(r, "plain HTTP on the TLS port was not served (%s)",
                      status ? gh_arena_printf(&p->arena, "answered %d", status) : "closed");
}

static void certificate(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = tls_route(p, r);
    if (!route)
        return;
    gh_probe_aim(p, r, route->conf);
    size_t len;
    const char *bytes = gh_probe_request(p, "GET", route->path, route->host, NULL, NULL, &len);
    gh_probe_exchange x;
    if (gh_probe_send(p, r, route->target, bytes, len, &(gh_probe_opts){.responses = 1}, &x) != 0)
        return;
    gh_probe_note(p, r, &x);
    if (!x.cert_seen)
        gh_probe_error(r, "no certificate was seen (%s)", x.tls_error ? x.tls_error : "no handshake");
    else if (!x.cert_covers)
        gh_probe_fail(r, "the certificate does not cover %s",
                      route->target->sni ? route->target->sni : route->target->host);
    else if (x.cert_days_left < 14)
        gh_probe_fail(r, "the certificate expires in %d days", x.cert_days_left);
    else
        gh_probe_pass(r, "the certificate covers the name and has %d days left", x.cert_days_left);
}

const gh_probe_case gh_probe_cases_tls[] = {
    {"TLS-001", "tls", "TLS 1.0 and 1.1 offered alone", OWASP_MISCONF, 327, GH_PSEV_MEDIUM, GH_PN_TLS,
     "the handshake fails", "Keep listeners[].tls at TLS 1.2 and 1.3 (the only versions Gatehouse offers).",
     old_versions},
    {"TLS-002", "tls", "only CBC-SHA1 and 3DES suites offered on TLS 1.2", OWASP_MISCONF, 327, GH_PSEV_MEDIUM,
     GH_PN_TLS, "the handshake fails", "Offer only AEAD suites with forward secrecy (Gatehouse's default list).",
     weak_suites},
    {"TLS-003", "tls", "Host other than the name asked for in SNI (misdirected request)", OWASP_MISCONF, 346,
     GH_PSEV_MEDIUM, GH_PN_TLS, "421, nothing forwarded",
     "Refuse requests for hosts the connection's certificate does not cover (Gatehouse: always on).", misdirected},
    {"TLS-004", "tls", "no client certificate on a route that needs one", "API2:2023", 295, GH_PSEV_HIGH,
     GH_PN_TLS | GH_PN_CONFIG, "handshake refused or 4xx, nothing forwarded",
     "Set listeners[].tls.client_auth: required, or auth.mtls on the route.", no_client_cert},
    {"TLS-005", "tls", "client certificate from another CA", "API2:2023", 295, GH_PSEV_HIGH,
     GH_PN_TLS | GH_PN_KEYS, "handshake refused or 4xx, nothing forwarded",
     "Trust only your clients' CA in listeners[].tls.client_ca.", wrong_ca},
    {"TLS-006", "tls", "expired client certificate", "API2:2023", 298, GH_PSEV_HIGH, GH_PN_TLS | GH_PN_KEYS,
     "handshake refused or 4xx, nothing forwarded", "Verify client certificates' validity (Gatehouse: always).",
     expired_cert},
    {"TLS-007", "tls", "revoked client certificate", "API2:2023", 299, GH_PSEV_HIGH, GH_PN_TLS | GH_PN_KEYS,
     "handshake refused or 4xx, nothing forwarded", "Give the listener the CA's CRL (listeners[].tls.crl_file).",
     revoked_cert},
    {"TLS-008", "tls", "forged client-certificate headers without a certificate", "API2:2023", 290,
     GH_PSEV_HIGH, GH_PN_TLS | GH_PN_CONFIG, "4xx or handshake refused, nothing forwarded",
     "Authenticate with the TLS session only; drop client-certificate headers from clients.", forged_cert_headers},
    {"TLS-009", "tls", "HSTS on TLS answers", OWASP_MISCONF, 319, GH_PSEV_LOW, GH_PN_TLS,
     "Strict-Transport-Security with max-age of 180 days or more", "Keep headers.hardening on, or set hsts.", hsts},
    {"TLS-010", "tls", "plain HTTP sent to the TLS port", OWASP_MISCONF, 319, GH_PSEV_LOW, GH_PN_TLS,
     "not served (closed or 400)", "Serve TLS listeners with TLS only.", plain_on_tls},
    {"TLS-011", "tls", "the server certificate: the name and the time left", OWASP_MISCONF, 298, GH_PSEV_MEDIUM,
     GH_PN_TLS, "covers the name asked for and expires in 14 days or more",
     "Renew certificates ahead of time; Gatehouse reloads changed certificate files.", certificate},
    {0},
};
