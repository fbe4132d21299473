/* CORS: origins that must get no grant (an evil one, null, look-alikes of an allowed one, any
 * subdomain of a wildcard), preflights asking for more than the route allows, and the answers'
 * Max-Age and Vary. A grant is Access-Control-Allow-Origin naming the origin sent, or "*"; what
 * a page may then read depends on Access-Control-Allow-Credentials. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "probe/probe_internal.h"

#define OWASP_CORS "API8:2023"
#define EVIL "https://evil.probe.invalid"
#define MAX_AGE_CAP 86400 /* browsers cap it at a day or less: more only keeps a policy longer */

typedef struct grant {
    int status;
    const char *acao, *acac, *vary, *methods, *headers, *max_age;
} grant;

static bool has_cors(gh_probe *p, const gh_probe_route *r)
{
    return r->conf && r->conf->cors && (r->safe || p->selftest);
}

static bool without_cors(gh_probe *p, const gh_probe_route *r)
{
    return r->conf && !r->conf->cors && r->proxied && (r->safe || p->selftest);
}

static bool any_route(gh_probe *p, const gh_probe_route *r)
{
    return r->safe || p->selftest;
}

/* Whether callers of the route authenticate: "*" then hands their answers to any page. */
static bool authenticates(const gh_route_conf *c)
{
    return c && (c->auth_token || c->auth_api_key || c->auth_mtls || c->auth_hmac);
}

/* The first exact origin the route allows (no wildcard host), or NULL. */
static const char *allowed_origin(const gh_cors_conf *c)
{
    for (size_t i = 0; i < c->norigins; i++)
        if (!strstr(c->origins[i], "://*.") && strcmp(c->origins[i], "*") != 0)
            return c->origins[i];
    return NULL;
}

/* Every value of the field name in the head, joined with ", " (Vary may come more than once),
 * or NULL. */
static const char *all_values(gh_probe *p, const gh_probe_response *res, const char *name)
{
    const char *out = NULL, *s = res->head, *end = res->head ? res->head + res->head_len : NULL;
    size_t n = strlen(name);
    while (s && s < end) {
        const char *eol = memchr(s, '\n', (size_t)(end - s));
        const char *e = eol ? eol : end;
        if ((size_t)(e - s) > n && strncasecmp(s, name, n) == 0 && s[n] == ':') {
            const char *v = s + n + 1, *ve = e;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            out = out ? gh_arena_printf(&p->arena, "%s, %.*s", out, (int)(ve - v), v)
                      : gh_arena_strndup(&p->arena, v, (size_t)(ve - v));
        }
        s = e + 1;
    }
    return out;
}

static void read_grant(gh_probe *p, const gh_probe_exchange *x, grant *g)
{
    *g = (grant){0};
    if (!x->nresponses)
        return;
    const gh_probe_response *res = &x->r[0];
    g->status = res->status;
    g->acao = gh_probe_field(p, res, "Access-Control-Allow-Origin");
    g->acac = gh_probe_field(p, res, "Access-Control-Allow-Credentials");
    g->vary = all_values(p, res, "Vary");
    g->methods = gh_probe_field(p, res, "Access-Control-Allow-Methods");
    g->headers = gh_probe_field(p, res, "Access-Control-Allow-Headers");
    g->max_age = gh_probe_field(p, res, "Access-Control-Max-Age");
}

/* The route's valid request with an Origin (and extra lines): its grant. -1 when the run's caps
 * stopped it (r says so). */
static int ask(gh_probe *p, gh_probe_result *r, const gh_probe_route *route, const char *origin,
               grant *g)
{
    size_t len;
    const char *bytes = gh_probe_valid_request(
        p, route, gh_arena_printf(&p->arena, "Origin: %s\r\n", origin), &len);
    gh_probe_exchange x;
    gh_probe_aim(p, r, route->conf);
    if (gh_probe_send(p, r, route->target, bytes, len, &(gh_probe_opts){.responses = 1}, &x) != 0)
        return -1;
    gh_probe_note(p, r, &x);
    read_grant(p, &x, g);
    return 0;
}

static int preflight(gh_probe *p, gh_probe_result *r, const gh_probe_route *route,
                     const char *origin, const char *method, const char *headers, grant *g)
{
    const char *lines =
        gh_arena_printf(&p->arena, "Origin: %s\r\nAccess-Control-Request-Method: %s\r\n%s%s%s",
                        origin, method, headers ? "Access-Control-Request-Headers: " : "",
                        headers ? headers : "", headers ? "\r\n" : "");
    size_t len;
    const char *bytes = gh_probe_request(p, "OPTIONS", route->path, route->host, lines, NULL, &len);
    gh_probe_exchange x;
    gh_probe_aim(p, r, route->conf);
    if (gh_probe_send(p, r, route->target, bytes, len, &(gh_probe_opts){.responses = 1}, &x) != 0)
        return -1;
    gh_probe_note(p, r, &x);
    read_grant(p, &x, g);
    return 0;
}

static bool credentialed(const grant *g)
{
    return g->acac && strcasecmp(g->acac, "true") == 0;
}

/* Judges the answer to origin, which deserves no grant: the finding, or NULL when it holds. */
static const char *misgrant(gh_probe *p, const gh_probe_route *route, const char *origin,
                            const grant *g)
{
    if (!g->acao)
        return NULL;
    if (strcmp(g->acao, origin) == 0)
        return gh_arena_printf(&p->arena, "Access-Control-Allow-Origin echoes %s%s", origin,
                               credentialed(g) ? " with Access-Control-Allow-Credentials: true"
                                               : "");
    if (strcmp(g->acao, "*") == 0 && credentialed(g))
        return "Access-Control-Allow-Origin: * with Access-Control-Allow-Credentials: true";
    if (strcmp(g->acao, "*") == 0 && route->conf && authenticates(route->conf))
        return gh_arena_printf(&p->arena,
                               "Access-Control-Allow-Origin: * for %s on a route whose "
                               "callers authenticate: any page may read its answers",
                               origin);
    return NULL;
}

/* Sends each origin; fails at the first that gets a grant. */
static void expect_no_grant(gh_probe *p, gh_probe_result *r, const gh_probe_route *route,
                            const char *const *origins, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        grant g;
        if (ask(p, r, route, origins[i], &g) != 0)
            return;
        const char *bad = misgrant(p, route, origins[i], &g);
        if (bad) {
            gh_probe_fail(r, "%s (answered %d)", bad, g.status);
            return;
        }
    }
    gh_probe_pass(r, "%s got no grant", what);
}

/* A CORS route whose valid request gets through, else NULL with r skipped. */
static const gh_probe_route *aim(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = gh_probe_find_route(p, has_cors);
    if (!route) {
        gh_probe_skip(r, p->conf ? "no route grants cross-origin access (cors)"
                                 : "needs the configuration (-c FILE) to know the origins a route "
                                   "allows");
        return NULL;
    }
    return gh_probe_baseline(p, r, route) ? route : NULL;
}

/* For the origins no one may get a grant for: a CORS route, or live without a configuration
 * (nothing says which routes have CORS) the first path given. */
static const gh_probe_route *aim_any(gh_probe *p, gh_probe_result *r)
{
    if (p->conf)
        return aim(p, r);
    const gh_probe_route *route = gh_probe_find_route(p, any_route);
    if (!route) {
        gh_probe_skip(r, "no path to aim at (--path)");
        return NULL;
    }
    return gh_probe_baseline(p, r, route) ? route : NULL;
}

/* aim, and that the route's first exact origin does get a grant (else no refusal proves
 * anything); the origin in *origin. */
static const gh_probe_route *aim_allowed(gh_probe *p, gh_probe_result *r, const char **origin)
{
    const gh_probe_route *route = aim(p, r);
    if (!route)
        return NULL;
    *origin = allowed_origin(route->conf->cors);
    if (!*origin) {
        gh_probe_skip(r, "the route's cors.origins list no exact origin to imitate");
        return NULL;
    }
    grant g;
    if (ask(p, r, route, *origin, &g) != 0)
        return NULL;
    if (!g.acao || (strcmp(g.acao, *origin) != 0 && strcmp(g.acao, "*") != 0)) {
        gh_probe_skip(r,
                      "the allowed origin %s gets no grant either: a refusal would prove nothing",
                      *origin);
        return NULL;
    }
    return route;
}

/* origin on every CORS route (live without a configuration: the first path): none may grant
 * it. Stops at the first that does. */
static void on_every_cors_route(gh_probe *p, gh_probe_result *r, const char *origin,
                                const char *what)
{
    const char *const o[] = {origin};
    if (!p->conf) {
        const gh_probe_route *route = aim_any(p, r);
        if (route)
            expect_no_grant(p, r, route, o, 1, what);
        return;
    }
    size_t held = 0;
    const char *skipped = NULL;
    for (size_t i = 0; i < p->nroutes; i++) {
        const gh_probe_route *route = &p->routes[i];
        if (!has_cors(p, route))
            continue;
        if (!gh_probe_baseline(p, r, route)) {
            skipped = skipped ? skipped : r->why;
            continue;
        }
        expect_no_grant(p, r, route, o, 1, what);
        if (r->verdict != GH_PV_PASS)
            return; /* a grant (fail), or the run's caps (skip) */
        held++;
    }
    if (held)
        gh_probe_pass(r, "%s got no grant on %zu CORS route%s", what, held, held == 1 ? "" : "s");
    else if (skipped)
        gh_probe_skip(r, "%s", skipped);
    else
        gh_probe_skip(r, "no route grants cross-origin access (cors)");
}

static void evil_origin(gh_probe *p, gh_probe_result *r)
{
    on_every_cors_route(p, r, EVIL, "the origin " EVIL);
}

static void evil_origin_no_cors(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = gh_probe_find_route(p, p->conf ? without_cors : any_route);
    if (!route) {
        gh_probe_skip(r, "no proxied route goes without cors");
        return;
    }
    if (!gh_probe_baseline(p, r, route))
        return;
    grant g;
    if (ask(p, r, route, EVIL, &g) != 0)
        return;
    const char *where = p->conf ? "a route without cors"
                                : gh_arena_printf(&p->arena, "%s %s", route->method, route->path);
    if (g.acao)
        gh_probe_fail(r, "%s answered %s with Access-Control-Allow-Origin: %s%s", where, EVIL,
                      g.acao, credentialed(&g) ? " and credentials" : "");
    else
        gh_probe_pass(r, "%s answered %s with no CORS grant (%d)", where, EVIL, g.status);
}

static void null_origin(gh_probe *p, gh_probe_result *r)
{
    on_every_cors_route(p, r, "null", "the origin null (sandboxed frames, file: pages)");
}

/* origin split into scheme ("https"), host and port (may be ""). */
static void split(gh_probe *p, const char *origin, const char **scheme, const char **host,
                  const char **port)
{
    const char *sep = strstr(origin, "://");
    *scheme = gh_arena_strndup(&p->arena, origin, (size_t)(sep - origin));
    const char *h = sep + 3;
    const char *colon = h[0] == '[' ? strstr(h, "]:") : strrchr(h, ':');
    if (colon && h[0] == '[')
        colon++;
    *host = gh_arena_strndup(&p->arena, h, colon ? (size_t)(colon - h) : strlen(h));
    *port = colon ? colon + 1 : "";
}

/* Whether one of the route's wildcard origins (a star and a dot before a domain) covers
 * origin: such a grant is the operator's choice, judged by CORS-010, not a look-alike. */
static bool wildcard_covers(const gh_cors_conf *c, const char *origin)
{
    for (size_t i = 0; i < c->norigins; i++) {
        const char *star = strstr(c->origins[i], "://*.");
        if (!star)
            continue;
        size_t scheme = (size_t)(star - c->origins[i]) + 3, suffix = strlen(star + 4),
               len = strlen(origin);
        if (len > scheme + suffix && strncasecmp(origin, c->origins[i], scheme) == 0 &&
            strcasecmp(origin + len - suffix, star + 4) == 0 && !strpbrk(origin + scheme, ":/@"))
            return true;
    }
    return false;
}

static void lookalike_names(gh_probe *p, gh_probe_result *r)
{
    const char *allowed;
    const gh_probe_route *route = aim_allowed(p, r, &allowed);
    if (!route)
        return;
    const char *scheme, *host, *port;
    split(p, allowed, &scheme, &host, &port);
    const char *o[] = {
        gh_arena_printf(&p->arena, "%s://%s.evil.invalid%s%s", scheme, host, *port ? ":" : "",
                        port),
        gh_arena_printf(&p->arena, "%s://evil%s%s%s", scheme, host, *port ? ":" : "", port),
        gh_arena_printf(&p->arena, "%s://evil-%s%s%s", scheme, host, *port ? ":" : "", port)};
    const char *mine[3];
    size_t n = 0;
    for (size_t i = 0; i < 3; i++)
        if (!wildcard_covers(route->conf->cors, o[i]))
            mine[n++] = o[i];
    if (!n) {
        gh_probe_skip(
            r, "the route's wildcard origins cover every look-alike of %s (CORS-010 judges them)",
            allowed);
        return;
    }
    expect_no_grant(p, r, route, mine, n,
                    gh_arena_printf(&p->arena, "look-alikes of %s (suffix, prefix)", allowed));
}

static void other_scheme_port(gh_probe *p, gh_probe_result *r)
{
    const char *allowed;
    const gh_probe_route *route = aim_allowed(p, r, &allowed);
    if (!route)
        return;
    const char *scheme, *host, *port;
    split(p, allowed, &scheme, &host, &port);
    const char *other = strcmp(scheme, "https") == 0 ? "http" : "https";
    const char *o[] = {
        gh_arena_printf(&p->arena, "%s://%s%s%s", other, host, *port ? ":" : "", port),
        gh_arena_printf(&p->arena, "%s://%s:%s", scheme, host,
                        strcmp(port, "8443") == 0 ? "8444" : "8443")};
    expect_no_grant(p, r, route, o, 2,
                    gh_arena_printf(&p->arena, "%s with another scheme and another port", allowed));
}

/* A method the route's cors does not let pages use, one the route takes first (its refusal is
 * then the CORS policy's, not the routing's), or NULL. */
static const char *unlisted_method(const gh_route_conf *route)
{
    static const struct {
        unsigned bit;
        const char *name;
    } m[] = {
        {GH_M_DELETE, "DELETE"}, {GH_M_PUT, "PUT"}, {GH_M_PATCH, "PATCH"}, {GH_M_POST, "POST"}};
    unsigned takes = route->methods ? route->methods : GH_M_ALL;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
            if (!(route->cors->methods & m[i].bit) && (pass || (takes & m[i].bit)))
                return m[i].name;
    return NULL;
}

/* Whether a comma-separated list names word (case-insensitive). */
static bool lists(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *s = list; s && *s;) {
        while (*s == ' ' || *s == ',')
            s++;
        size_t k = strcspn(s, ", ");
        if (k == n && strncasecmp(s, word, n) == 0)
            return true;
        s += k;
    }
    return false;
}

static void preflight_method(gh_probe *p, gh_probe_result *r)
{
    const char *allowed;
    const gh_probe_route *route = aim_allowed(p, r, &allowed);
    if (!route)
        return;
    const char *method = unlisted_method(route->conf);
    if (!method) {
        gh_probe_skip(r, "the route's cors.methods allow every method a page may ask for");
        return;
    }
    grant g;
    if (preflight(p, r, route, allowed, method, NULL, &g) != 0)
        return;
    if (g.methods && lists(g.methods, method))
        gh_probe_fail(r, "a preflight for %s was granted it (Access-Control-Allow-Methods: %s)",
                      method, g.methods);
    else if (g.status >= 200 && g.status < 300 && g.acao && !g.methods)
        gh_probe_fail(r,
                      "a preflight for %s was answered %d with Access-Control-Allow-Origin and no "
                      "method list",
                      method, g.status);
    else
        gh_probe_pass(r, "a preflight for %s, which cors.methods leaves out, got no grant (%d)",
                      method, g.status);
}

/* A method the route's CORS grants, for a preflight that should get it. */
static const char *granted_method(const gh_probe_route *route)
{
    const gh_cors_conf *c = route->conf->cors;
    return (c->methods & GH_M_GET) ? "GET" : (c->methods & GH_M_POST) ? "POST" : route->method;
}

static void preflight_header(gh_probe *p, gh_probe_result *r)
{
    const char *allowed;
    const gh_probe_route *route = aim_allowed(p, r, &allowed);
    if (!route)
        return;
    const char *method = granted_method(route);
    grant g;
    if (preflight(p, r, route, allowed, method, "x-probe-evil", &g) != 0)
        return;
    if (g.headers && (lists(g.headers, "x-probe-evil") || strcmp(g.headers, "*") == 0))
        gh_probe_fail(
            r,
            "a preflight asking for X-Probe-Evil was granted it (Access-Control-Allow-Headers: %s)",
            g.headers);
    else
        gh_probe_pass(
            r,
            "a preflight asking for X-Probe-Evil, which cors.headers leaves out, got no grant (%d)",
            g.status);
}

static void preflight_max_age(gh_probe *p, gh_probe_result *r)
{
    const char *allowed;
    const gh_probe_route *route = aim_allowed(p, r, &allowed);
    if (!route)
        return;
    const char *method = granted_method(route);
    grant g;
    if (preflight(p, r, route, allowed, method, NULL, &g) != 0)
        return;
    if (!g.acao) {
        gh_probe_skip(r, "a preflight of the allowed origin %s for %s is not granted (%d)", allowed,
                      method, g.status);
        return;
    }
    long age = g.max_age ? strtol(g.max_age, NULL, 10) : 0;
    if (age > MAX_AGE_CAP)
        gh_probe_fail(r, "Access-Control-Max-Age: %s: browsers keep the grant beyond a day",
                      g.max_age);
    else if (strcmp(g.acao, "*") != 0 &&
             !(g.vary && (lists(g.vary, "Origin") || strcmp(g.vary, "*") == 0)))
        gh_probe_fail(r, "a preflight granting %s does not carry Vary: Origin (Vary: %s)", allowed,
                      g.vary ? g.vary : "none");
    else
        gh_probe_pass(r, "the granted preflight's Access-Control-Max-Age is %s",
                      g.max_age ? g.max_age : "absent");
}

static void vary_origin(gh_probe *p, gh_probe_result *r)
{
    const char *allowed;
    const gh_probe_route *route = aim_allowed(p, r, &allowed);
    if (!route)
        return;
    grant g;
    if (ask(p, r, route, allowed, &g) != 0)
        return;
    if (g.acao && strcmp(g.acao, "*") == 0)
        gh_probe_pass(r, "the grant is * for every origin: it does not depend on the Origin");
    else if (!g.vary || !(lists(g.vary, "Origin") || strcmp(g.vary, "*") == 0))
        gh_probe_fail(
            r,
            "an answer granting %s does not say Vary: Origin: a cache may hand it to other origins",
            allowed);
    else
        gh_probe_pass(r, "the answer granting %s carries Vary: %s", allowed, g.vary);
}

/* A route whose cors allows a wildcard host with credentials. */
static bool wildcard_credentials(gh_probe *p, const gh_probe_route *r)
{
    if (!has_cors(p, r) || !r->conf->cors->credentials)
        return false;
    for (size_t i = 0; i < r->conf->cors->norigins; i++)
        if (strstr(r->conf->cors->origins[i], "://*."))
            return true;
    return false;
}

static void wildcard_subdomain(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = gh_probe_find_route(p, wildcard_credentials);
    if (!route) {
        gh_probe_skip(r,
                      "no route allows a wildcard origin (https://*.example.com) with credentials");
        return;
    }
    if (!gh_probe_baseline(p, r, route))
        return;
    const gh_cors_conf *c = route->conf->cors;
    const char *pattern = NULL;
    for (size_t i = 0; i < c->norigins && !pattern; i++)
        if (strstr(c->origins[i], "://*."))
            pattern = c->origins[i];
    const char *star = strstr(pattern, "://*.");
    const char *origin = gh_arena_printf(&p->arena, "%.*s://probe-takeover.%s",
                                         (int)(star - pattern), pattern, star + 5);
    grant g;
    if (ask(p, r, route, origin, &g) != 0)
        return;
    if (g.acao && strcmp(g.acao, origin) == 0 && credentialed(&g))
        gh_probe_fail(r,
                      "any subdomain matching %s, such as %s, is granted credentialed access: one "
                      "taken-over or user-content host acts with the user's cookies",
                      pattern, origin);
    else
        gh_probe_pass(r, "%s got no credentialed grant (%d)", origin, g.status);
}

const gh_probe_case gh_probe_cases_cors[] = {
    {"CORS-001", "cors", "an evil origin (" EVIL ") on a CORS route", OWASP_CORS, 942, GH_PSEV_HIGH,
     0,
     "no Access-Control-Allow-Origin for it; never * with credentials, nor * on a route that "
     "authenticates",
     "List the pages' exact origins in routes[].cors.origins; never \"*\" on an authenticated "
     "route.",
     evil_origin},
    {"CORS-002", "cors", "an evil origin on a route without CORS", OWASP_CORS, 942, GH_PSEV_MEDIUM,
     0, "no Access-Control-Allow-Origin",
     "Grant cross-origin access only through routes[].cors; the "
     "gateway drops the upstream's own CORS fields.",
     evil_origin_no_cors},
    {"CORS-003", "cors", "the origin null", OWASP_CORS, 346, GH_PSEV_HIGH, 0, "no grant for null",
     "Never list null as an origin: sandboxed frames and file: pages all send it.", null_origin},
    {"CORS-004", "cors", "look-alikes of an allowed origin (suffix, prefix)", OWASP_CORS, 346,
     GH_PSEV_HIGH, 0, "no grant for https://allowed.evil.invalid, https://evilallowed",
     "Compare origins exactly (cors.origins), never by substring, prefix or suffix.",
     lookalike_names},
    {"CORS-005", "cors", "an allowed origin with another scheme or port", OWASP_CORS, 346,
     GH_PSEV_MEDIUM, 0, "no grant for http:// of an https:// origin, nor for another port",
     "Compare the scheme, host and port of origins exactly (cors.origins).", other_scheme_port},
    {"CORS-006", "cors", "a preflight asking for a method cors.methods leaves out", OWASP_CORS, 942,
     GH_PSEV_MEDIUM, 0, "no grant of that method",
     "List only the methods pages need (routes[].cors.methods).", preflight_method},
    {"CORS-007", "cors", "a preflight asking for a header cors.headers leaves out", OWASP_CORS, 942,
     GH_PSEV_LOW, 0, "no grant of that header, and never *",
     "List only the headers pages send (routes[].cors.headers).", preflight_header},
    {"CORS-008", "cors", "a granted preflight's Max-Age and Vary", OWASP_CORS, 942, GH_PSEV_LOW, 0,
     "Access-Control-Max-Age at most a day; Vary: Origin when the grant names the origin",
     "Keep routes[].cors.max_age short (10 minutes by default).", preflight_max_age},
    {"CORS-009", "cors", "Vary: Origin on an answer that grants an origin", OWASP_CORS, 942,
     GH_PSEV_MEDIUM, 0, "Vary: Origin",
     "Answers that name the origin must say Vary: Origin, or caches mix them up.", vary_origin},
    {"CORS-010", "cors", "any subdomain of a wildcard origin with credentials", OWASP_CORS, 942,
     GH_PSEV_HIGH, GH_PN_CONFIG, "no credentialed grant for a subdomain nobody listed",
     "List exact origins where cors.credentials is true; keep https://*.example.com for routes "
     "without "
     "credentials.",
     wildcard_subdomain},
    {0},
};
