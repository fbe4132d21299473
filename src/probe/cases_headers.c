/* Headers: a client that forges what the gateway tells the upstream about it. The identity
 * headers the gateway fills from what it verified (forward.claims, forward.api_key_client, the
 * client certificate, every name any route fills), the client's address and the URL it used, and
 * the Connection header that would make the gateway drop its own fields. Each case sends a valid
 * request with the forged fields, carrying values no one else would write, and judges what the
 * upstream received (gh_probe_view_of: self-test, or an upstream that echoes the request): none
 * of the forged values may be in it. Duplicated singleton fields are refused outright. */
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "probe/probe_internal.h"

#define OWASP_AUTHN "API2:2023"
#define OWASP_MISCONF "API8:2023"
#define MAX_NAMES 40
#define NO_VIEW "the upstream's view is needed (self-test, or an upstream that echoes the request it got)"

static bool may_send(gh_probe *p, const gh_probe_route *r)
{
    return r->safe || p->selftest || p->profile == GH_PROFILE_FULL;
}

static bool protects(const gh_route_conf *c)
{
    return c && (c->auth_token || c->auth_api_key || c->auth_mtls || c->auth_hmac || c->has_authz);
}

static bool fills_identity(gh_probe *p, const gh_probe_route *r)
{
    const gh_route_conf *c = r->conf;
    return c && r->proxied && may_send(p, r) &&
           (c->nforward_claims || c->forward_api_client || c->forward_client_cert);
}

static bool proxied(gh_probe *p, const gh_probe_route *r)
{
    return r->proxied && may_send(p, r);
}

static bool proxied_public(gh_probe *p, const gh_probe_route *r)
{
    return proxied(p, r) && r->conf && !protects(r->conf);
}

/* The first route that want takes whose valid request gets through; NULL with r skipped (the
 * last refusal's words, or that no route fits). */
static const gh_probe_route *first_through(gh_probe *p, gh_probe_result *r,
                                           bool (*want)(gh_probe *, const gh_probe_route *),
                                           const char *none)
{
    bool any = false;
    for (size_t i = 0; i < p->nroutes; i++) {
        const gh_probe_route *route = &p->routes[i];
        if (!want(p, route))
            continue;
        any = true;
        if (gh_probe_baseline(p, r, route)) {
            if (route->conf)
                gh_probe_aim(p, r, route->conf);
            r->verdict = GH_PV_ERROR;
            r->why = "the case gave no verdict";
            return route;
        }
    }
    if (!any)
        gh_probe_skip(r, "%s", none);
    return NULL;
}

/* ---- names ---- */

typedef struct names {
    const char *v[MAX_NAMES];
    size_t n;
} names;

static void add_name(gh_probe *p, names *ns, const char *s, size_t len)
{
    for (size_t i = 0; i < ns->n; i++)
        if (strlen(ns->v[i]) == len && strncasecmp(ns->v[i], s, len) == 0)
            return;
    if (ns->n < MAX_NAMES)
        ns->v[ns->n++] = gh_arena_strndup(&p->arena, s, len);
}

/* The headers the gateway fills for route from what it verified, and every name any route of
 * the configuration fills (the gateway owns them on every route), and the client certificate's. */
static void identity_names(gh_probe *p, const gh_route_conf *c, names *ns)
{
    *ns = (names){.n = 0};
    for (size_t i = 0; c && i < c->nforward_claims; i++)
        add_name(p, ns, c->forward_claims[i].header, strlen(c->forward_claims[i].header));
    if (c && c->forward_api_client)
        add_name(p, ns, c->forward_api_client, strlen(c->forward_api_client));
    for (size_t i = 0; p->conf && i < p->conf->nowned_headers; i++)
        add_name(p, ns, p->conf->owned_headers[i].name, p->conf->owned_headers[i].name_len);
    add_name(p, ns, "Client-Cert", 11);
    add_name(p, ns, "Client-Cert-Chain", 17);
}

typedef enum { AS_WRITTEN, LOWER, UPPER, UNDERSCORE, UNDERSCORE_LOWER } spelling;

static const char *spell(gh_probe *p, const char *name, spelling s)
{
    char *out = gh_arena_strdup(&p->arena, name);
    for (char *c = out; *c; c++) {
        if ((s == LOWER || s == UNDERSCORE_LOWER) && *c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a');
        if (s == UPPER && *c >= 'a' && *c <= 'z')
            *c = (char)(*c - 'a' + 'A');
        if ((s == UNDERSCORE || s == UNDERSCORE_LOWER) && *c == '-')
            *c = '_';
    }
    return out;
}

/* ---- one forged exchange ---- */

typedef struct forged {
    gh_probe_exchange x;
    gh_probe_view view;
    int status;
    bool seen; /* the view could be had */
} forged;

/* Sends route's valid request with extra lines and the echo marker; false when the caps stop it. */
static bool send_forged(gh_probe *p, gh_probe_result *r, const gh_probe_route *route,
                        const char *extra, forged *f)
{
    const char *marker = gh_probe_echo_marker(p);
    size_t len;
    const char *bytes = gh_probe_valid_request(
        p, route, gh_arena_printf(&p->arena, "%s%s", extra, gh_probe_echo_line(p, marker)), &len);
    if (gh_probe_send(p, r, route->target, bytes, len, &(gh_probe_opts){.responses = 1}, &f->x) != 0)
        return false;
    gh_probe_note(p, r, &f->x);
    f->status = f->x.nresponses ? f->x.r[0].status : 0;
    f->seen = gh_probe_view_of(p, r, &f->x, marker, &f->view);
    if (f->x.connect_failed) {
        gh_probe_error(r, "cannot connect to %s:%d", route->target->host, route->target->port);
        return false;
    }
    return true;
}

/* Judges a forged exchange whose fields (names[i]: values[i]) must not reach the upstream:
 * false once the case is decided (failed, or could not see). */
static bool none_reached(gh_probe *p, gh_probe_result *r, const forged *f, const char *const *hdrs,
                         const char *const *values, size_t n, const char *what)
{
    (void)p;
    if (f->status >= 400 && f->view.forwarded <= 0)
        return true; /* refused: nothing of it went on */
    if (!f->seen) {
        gh_probe_skip(r, NO_VIEW);
        return false;
    }
    for (size_t i = 0; i < n; i++)
        if (gh_probe_view_has(&f->view, values[i])) {
            gh_probe_fail(r, "%s: the upstream received the client's %s: %s (answered %d)", what,
                          hdrs[i], values[i], f->status);
            return false;
        }
    return true;
}

/* ---- identity headers ---- */

static void forge_identity(gh_probe *p, gh_probe_result *r, const spelling *spellings, size_t nsp,
                           bool public_route)
{
    const gh_probe_route *route =
        public_route ? first_through(p, r, proxied_public, "no public route is proxied")
                     : first_through(p, r, fills_identity,
                                     "no route fills identity headers (forward.claims, "
                                     "forward.api_key_client, forward.client_cert)");
    if (!route)
        return;
    names ns;
    identity_names(p, public_route ? NULL : route->conf, &ns);
    const char *tag = gh_probe_echo_marker(p) + 14; /* its random part */
    size_t tried = 0;
    for (size_t s = 0; s < nsp; s++) {
        const char *hdrs[MAX_NAMES], *values[MAX_NAMES], *extra = "";
        size_t n = 0;
        for (size_t i = 0; i < ns.n; i++) {
            if ((spellings[s] == UNDERSCORE || spellings[s] == UNDERSCORE_LOWER) && !strchr(ns.v[i], '-'))
                continue;
            hdrs[n] = spell(p, ns.v[i], spellings[s]);
            values[n] = gh_arena_printf(&p->arena, "probe-forged-%s-%zu-x", tag, i);
            extra = gh_arena_printf(&p->arena, "%s%s: %s\r\n", extra, hdrs[n], values[n]);
            n++;
        }
        if (!n)
            continue;
        forged f;
        if (!send_forged(p, r, route, extra, &f) ||
            !none_reached(p, r, &f, hdrs, values, n, "forged identity headers"))
            return;
        tried += n;
    }
    if (!tried)
        gh_probe_skip(r, "none of the identity headers has a '-' to spell as '_'");
    else
        gh_probe_pass(r, "%zu forged identity headers (%s%s) on route %s: none of the client's values "
                         "reached the upstream", tried, ns.v[0], ns.n > 1 ? ", ..." : "",
                      route->conf ? route->conf->name : route->path);
}

static void identity_as_written(gh_probe *p, gh_probe_result *r)
{
    static const spelling s[] = {AS_WRITTEN};
    forge_identity(p, r, s, 1, false);
}

static void identity_cases(gh_probe *p, gh_probe_result *r)
{
    static const spelling s[] = {LOWER, UPPER};
    forge_identity(p, r, s, 2, false);
}

static void identity_underscores(gh_probe *p, gh_probe_result *r)
{
    static const spelling s[] = {UNDERSCORE, UNDERSCORE_LOWER};
    forge_identity(p, r, s, 2, false);
}

static void identity_on_public(gh_probe *p, gh_probe_result *r)
{
    static const spelling s[] = {AS_WRITTEN, LOWER, UNDERSCORE};
    forge_identity(p, r, s, 3, true);
}

/* ---- Connection naming the gateway's own fields ---- */

static void connection_strips(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = gh_probe_find_route(p, fills_identity)
                                      ? first_through(p, r, fills_identity, "")
                                      : first_through(p, r, proxied, "no route is proxied");
    if (!route)
        return;
    names ns = {.n = 0};
    static const char *const own[] = {"X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host",
                                      "X-Request-Id"};
    for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
        add_name(p, &ns, own[i], strlen(own[i]));
    const gh_route_conf *c = route->conf;
    for (size_t i = 0; c && i < c->nforward_claims; i++)
        add_name(p, &ns, c->forward_claims[i].header, strlen(c->forward_claims[i].header));
    if (c && c->forward_api_client)
        add_name(p, &ns, c->forward_api_client, strlen(c->forward_api_client));
    forged before, after;
    if (!send_forged(p, r, route, "", &before))
        return;
    if (!before.seen) {
        gh_probe_skip(r, NO_VIEW);
        return;
    }
    const char *listed = "close";
    size_t judged = 0;
    for (size_t i = 0; i < ns.n; i++)
        listed = gh_arena_printf(&p->arena, "%s, %s", listed, ns.v[i]);
    if (!send_forged(p, r, route, gh_arena_printf(&p->arena, "Connection: %s\r\n", listed), &after))
        return;
    if (!after.seen) {
        gh_probe_skip(r, "%s; the request with the Connection header was answered %d", NO_VIEW, after.status);
        return;
    }
    for (size_t i = 0; i < ns.n; i++) {
        if (!gh_probe_view_has(&before.view, ns.v[i]))
            continue; /* the gateway does not set it here */
        judged++;
        if (!gh_probe_view_has(&after.view, ns.v[i])) {
            gh_probe_fail(r, "Connection: %s made the gateway drop its own %s: the upstream no longer "
                             "received it", listed, ns.v[i]);
            return;
        }
    }
    if (!judged)
        gh_probe_skip(r, "the gateway sets none of %s on route %s", listed + 7, c ? c->name : route->path);
    else
        gh_probe_pass(r, "naming the gateway's fields in Connection (%s) did not drop any of the %zu "
                         "it sets", listed + 7, judged);
}

/* ---- duplicated singleton fields ---- */

static bool takes_bearer(gh_probe *p, const gh_probe_route *r)
{
    const gh_jwt_provider *prov = r->conf ? r->conf->auth_token : NULL;
    return proxied(p, r) && prov && !prov->token_cookie &&
           (!prov->token_header || strcasecmp(prov->token_header, "Authorization") == 0) &&
           gh_probe_token(p, r);
}

static void duplicate_authorization(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = gh_probe_find_route(p, takes_bearer)
                                      ? first_through(p, r, takes_bearer, "")
                                      : first_through(p, r, proxied, "no route is proxied");
    if (!route)
        return;
    bool bearer = takes_bearer(p, route);
    const char *extra = bearer ? "Authorization: Bearer probe-forged-token\r\n"
                               : "Authorization: Basic cHJvYmU6YQ==\r\nAuthorization: Basic cHJvYmU6Yg==\r\n";
    size_t len;
    const char *bytes = gh_probe_valid_request(p, route, extra, &len);
    gh_probe_expect_refusal(p, r, route, bytes, len, 400, 400,
                            bearer ? "a valid request with a second Authorization (a forged bearer)"
                                   : "a request with two Authorization fields", NULL);
}

static bool writes(gh_probe *p, const gh_probe_route *r)
{
    return proxied(p, r) && r->body_method;
}

static void duplicate_content_type(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *found = gh_probe_find_route(p, writes);
    const gh_probe_route *route = found ? gh_probe_route_writing(p, found) : NULL;
    if (!route) {
        gh_probe_skip(r, "no proxied route takes a body (POST, PUT, PATCH)");
        return;
    }
    if (!gh_probe_baseline(p, r, route))
        return;
    size_t len;
    const char *bytes = gh_probe_valid_request(p, route, "Content-Type: text/plain\r\n", &len);
    gh_probe_expect_refusal(p, r, route, bytes, len, 400, 400,
                            "a body with two Content-Type fields (application/json, text/plain)", NULL);
}

/* ---- the client's address and what it asked for ---- */

static bool in_cidr(const gh_cidr *c, int family, const unsigned char *addr)
{
    if (c->family != family)
        return false;
    int bits = c->prefix;
    for (int i = 0; bits > 0; i++, bits -= 8) {
        unsigned char mask = (unsigned char)(bits >= 8 ? 0xFF : 0xFF << (8 - bits));
        if ((c->addr[i] & mask) != (addr[i] & mask))
            return false;
    }
    return true;
}

/* Whether the address the probe reaches t from is in trusted_proxies: the kernel's choice of
 * source address, asked of a datagram socket that sends nothing. */
static bool probe_is_trusted(gh_probe *p, const gh_probe_target *t)
{
    if (!p->conf || !p->conf->ntrusted_proxies)
        return false;
    char port[16];
    snprintf(port, sizeof(port), "%d", t->port);
    struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *res = NULL;
    if (getaddrinfo(t->host, port, &hints, &res) != 0)
        return false;
    bool trusted = false;
    int fd = socket(res->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) == 0 &&
        getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        const unsigned char *a = ss.ss_family == AF_INET
                                     ? (const unsigned char *)&((struct sockaddr_in *)&ss)->sin_addr
                                     : (const unsigned char *)&((struct sockaddr_in6 *)&ss)->sin6_addr;
        for (size_t i = 0; i < p->conf->ntrusted_proxies && !trusted; i++)
            trusted = in_cidr(&p->conf->trusted_proxies[i], ss.ss_family, a);
    }
    if (fd >= 0)
        close(fd);
    freeaddrinfo(res);
    return trusted;
}

/* A route whose controls read the client's address: a client_ip rate limit, or any proxied
 * route when trusted_proxies makes forwarded addresses believable. */
static bool keyed_on_address(gh_probe *p, const gh_probe_route *r)
{
    if (!proxied(p, r) || !r->conf)
        return false;
    for (size_t i = 0; i < r->conf->nlimits; i++)
        if (r->conf->limits[i]->key == GH_LKEY_CLIENT_IP)
            return true;
    return p->conf && p->conf->ntrusted_proxies;
}

static void forged_fields(gh_probe *p, gh_probe_result *r, const gh_probe_route *route,
                          const char *const *hdrs, const char *const *values, size_t n,
                          const char *what)
{
    if (probe_is_trusted(p, route->target)) {
        gh_probe_skip(r, "the probe's own address is in trusted_proxies: its forwarded fields are "
                         "believed by design");
        return;
    }
    const char *extra = "";
    for (size_t i = 0; i < n; i++)
        extra = gh_arena_printf(&p->arena, "%s%s: %s\r\n", extra, hdrs[i], values[i]);
    forged f;
    if (!send_forged(p, r, route, extra, &f) || !none_reached(p, r, &f, hdrs, values, n, what))
        return;
    gh_probe_pass(r, "%s from a peer that is no trusted proxy: none reached the upstream (answered %d)",
                  what, f.status);
}

static void client_address(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = first_through(
        p, r, keyed_on_address,
        "no route's controls depend on the client's address (no client_ip rate limit, no trusted_proxies)");
    if (!route)
        return;
    /* TEST-NET-3 addresses, one per field: which one got through is then plain. */
    static const char *const hdrs[] = {"X-Forwarded-For", "X-Real-IP", "Forwarded", "True-Client-IP",
                                       "CF-Connecting-IP", "X-Client-IP"};
    static const char *const values[] = {"203.0.113.71", "203.0.113.72", "for=203.0.113.73",
                                         "203.0.113.74", "203.0.113.75", "203.0.113.76"};
    forged_fields(p, r, route, hdrs, values, sizeof(hdrs) / sizeof(hdrs[0]), "forged client addresses");
}

static void forwarded_host_proto(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = first_through(p, r, proxied, "no route is proxied");
    if (!route)
        return;
    const char *tag = gh_probe_echo_marker(p) + 14;
    const char *hdrs[] = {"X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Port"};
    const char *values[] = {gh_arena_printf(&p->arena, "probe-forged-%s.invalid", tag),
                            gh_arena_printf(&p->arena, "probe-forged-%s-proto", tag), "64999"};
    forged_fields(p, r, route, hdrs, values, 3, "forged X-Forwarded-Host, -Proto and -Port");
}

/* A header line that a lenient parser splits in two, the second being an identity header: an
 * obs-fold continuation (RFC 9112 5.2: a server refuses it or replaces it with a space) and a
 * bare CR, which some parsers take for a line end. */
static void folded_identity(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = gh_probe_find_route(p, fills_identity)
                                      ? first_through(p, r, fills_identity, "")
                                      : first_through(p, r, proxied, "no route is proxied");
    if (!route)
        return;
    names ns;
    identity_names(p, route->conf, &ns);
    const char *name = ns.v[0], *value = "probe-forged-folded";
    const char *extra[] = {gh_arena_printf(&p->arena, "X-Probe-Note: a\r\n %s: %s\r\n", name, value),
                           gh_arena_printf(&p->arena, "X-Probe-Note: a\r%s: %s\r\n", name, value)};
    const char *what[] = {"an obs-fold continuation line carrying a forged identity header",
                          "a bare CR splitting a line into a forged identity header"};
    for (size_t i = 0; i < 2 && r->verdict != GH_PV_FAIL; i++) {
        size_t len;
        const char *bytes = gh_probe_valid_request(p, route, extra[i], &len);
        gh_probe_expect_refusal(p, r, route, bytes, len, 400, 400, what[i], NULL);
    }
}

const gh_probe_case gh_probe_cases_headers[] = {
    {"HDR-001", "headers", "forged identity headers the gateway fills from claims, API keys, certificates",
     OWASP_AUTHN, 290, GH_PSEV_HIGH, GH_PN_CONFIG,
     "the upstream receives only the gateway's values, never the client's",
     "Drop every header the gateway fills from what it verified before adding its own (Gatehouse does for "
     "forward.claims, forward.api_key_client and Client-Cert on every route).", identity_as_written},
    {"HDR-002", "headers", "forged identity headers in other letter cases (x-user-id, X-USER-ID)",
     OWASP_AUTHN, 290, GH_PSEV_HIGH, GH_PN_CONFIG, "the upstream never receives the client's values",
     "Match header names without regard to case when dropping them.", identity_cases},
    {"HDR-003", "headers", "forged identity headers spelled with underscores (X_User_Id)", OWASP_AUTHN,
     290, GH_PSEV_HIGH, GH_PN_CONFIG, "dropped or refused: CGI-style backends read X_User_Id as X-User-Id",
     "Match '_' and '-' alike when dropping owned headers; listeners[].headers_with_underscores: drop or refuse.",
     identity_underscores},
    {"HDR-004", "headers", "forged identity headers on a public route", OWASP_AUTHN, 290, GH_PSEV_HIGH,
     GH_PN_CONFIG, "dropped there too: a backend behind a public route may trust them",
     "Drop the gateway-owned headers on every route, not only on those that set them.", identity_on_public},
    {"HDR-005", "headers", "Connection naming the gateway's own fields (close, X-Forwarded-For, X-User-Id)",
     OWASP_MISCONF, 290, GH_PSEV_MEDIUM, 0, "the gateway still sends every field it sets",
     "Apply the client's Connection list to the client's fields only, before adding the gateway's.",
     connection_strips},
    {"HDR-006", "headers", "two Authorization fields", OWASP_AUTHN, 290, GH_PSEV_HIGH, 0,
     "400, nothing forwarded", "Refuse singleton fields sent twice (RFC 9110 5.3).", duplicate_authorization},
    {"HDR-007", "headers", "two Content-Type fields on a body", OWASP_MISCONF, 436, GH_PSEV_MEDIUM,
     GH_PN_WRITE, "400, nothing forwarded",
     "Refuse singleton fields sent twice: the gateway's body checks and the backend would read different types.",
     duplicate_content_type},
    {"HDR-008", "headers", "forged client address (X-Forwarded-For, X-Real-IP, Forwarded, True-Client-IP, "
     "CF-Connecting-IP)", OWASP_MISCONF, 348, GH_PSEV_HIGH, GH_PN_CONFIG,
     "none of the forged addresses reaches the upstream from a peer that is no trusted proxy",
     "Believe forwarded addresses only from trusted_proxies; set X-Forwarded-For from the peer.",
     client_address},
    {"HDR-009", "headers", "forged X-Forwarded-Host, X-Forwarded-Proto and X-Forwarded-Port", OWASP_MISCONF,
     348, GH_PSEV_MEDIUM, 0, "replaced by the gateway's own values (or dropped)",
     "Set X-Forwarded-Host and -Proto from the request itself; keep a client's only from trusted_proxies.",
     forwarded_host_proto},
    {"HDR-010", "headers", "a forged identity header hidden in an obs-fold or after a bare CR", OWASP_AUTHN,
     113, GH_PSEV_HIGH, 0, "400, nothing forwarded",
     "Refuse obs-fold and bare CR in request heads (RFC 9112 2.2, 5.2) rather than mending them.",
     folded_identity},
    {0},
};
