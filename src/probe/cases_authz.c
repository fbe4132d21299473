/* Authorization: a caller the gateway knows, reaching what is not theirs. Tenant A's valid token
 * (the probe's tokens are for "probe-a") on tenant B's objects through every claim rule, and on
 * routes whose tenant parameter no rule binds; scopes missing or nearly right; methods the route
 * does not allow, HEAD, method overrides. Every case shows the caller's own request gets
 * through first (gh_probe_baseline). What is exposed without credentials is
 * cases_authz_exposed.c's. */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "probe/probe_internal.h"
#include "route/route.h"

#define OWASP_BOLA "API1:2023"
#define OWASP_BFLA "API5:2023"
#define MAX_SCOPES 32 /* scopes of one route the probe recombines */

typedef bool (*want_fn)(gh_probe *p, const gh_probe_route *r);
typedef void (*attack_fn)(gh_probe *p, gh_probe_result *r, const gh_probe_route *route);

/* ---- what the routes are ---- */

static bool usable(gh_probe *p, const gh_probe_route *r)
{
    return r->conf && (p->selftest || r->safe);
}

static bool authenticates(const gh_probe_route *r)
{
    return r->conf->auth_token || r->conf->auth_api_key;
}

/* The claim rule's first value when it is of that source (what the token carries), else NULL. */
static const gh_claim_value *rule_source(const gh_claim_rule *rule, gh_claim_source source)
{
    return rule->nvalues && rule->values[0].source == source ? &rule->values[0] : NULL;
}

static bool has_rule(const gh_probe_route *r, gh_claim_source source)
{
    const gh_route_conf *c = r->conf;
    for (size_t i = 0; c->auth_token && c->has_authz && i < c->authz.nclaims; i++)
        if (rule_source(&c->authz.claims[i], source) &&
            (source != GH_CLAIM_PATH_PARAM || c->path_kind == GH_PATH_TEMPLATE))
            return true;
    return false;
}

static bool claim_routed(gh_probe *p, const gh_probe_route *r)
{
    return usable(p, r) && (has_rule(r, GH_CLAIM_PATH_PARAM) || has_rule(r, GH_CLAIM_HEADER));
}

static bool path_claim_routed(gh_probe *p, const gh_probe_route *r)
{
    return usable(p, r) && has_rule(r, GH_CLAIM_PATH_PARAM);
}

/* A parameter named like an owner of objects: tenant, owner, account, user, org, customer
 * (tenant_id, accountId, organization...). */
static bool tenant_like(const char *name, size_t len)
{
    static const char *const words[] = {"tenant", "owner", "account", "user", "org", "customer"};
    char folded[64];
    size_t n = 0;
    for (size_t i = 0; i < len && n + 1 < sizeof(folded); i++)
        if (isalnum((unsigned char)name[i]))
            folded[n++] = (char)tolower((unsigned char)name[i]);
    folded[n] = '\0';
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strstr(folded, words[i]))
            return true;
    return false;
}

/* Whether some claim rule of the route binds the path parameter name (any of its values). */
static bool param_bound(const gh_route_conf *c, const char *name, size_t len)
{
    for (size_t i = 0; c->has_authz && i < c->authz.nclaims; i++)
        for (size_t k = 0; k < c->authz.claims[i].nvalues; k++) {
            const gh_claim_value *v = &c->authz.claims[i].values[k];
            if (v->source == GH_CLAIM_PATH_PARAM && strlen(v->text) == len &&
                strncmp(v->text, name, len) == 0)
                return true;
        }
    return false;
}

/* The route's next parameter {name} from *s on: its name and length, *s moved past it. */
static bool next_param(const char **s, const char **name, size_t *len)
{
    const char *open = strchr(*s, '{'), *close = open ? strchr(open, '}') : NULL;
    if (!close)
        return false;
    *name = open + 1;
    *len = (size_t)(close - open - 1);
    *s = close + 1;
    return true;
}

static bool has_unbound_tenant(const gh_route_conf *c)
{
    const char *s = c->path, *name;
    size_t len;
    while (c->path_kind == GH_PATH_TEMPLATE && next_param(&s, &name, &len))
        if (tenant_like(name, len) && !param_bound(c, name, len))
            return true;
    return false;
}

static bool unbound_tenant_routed(gh_probe *p, const gh_probe_route *r)
{
    return usable(p, r) && authenticates(r) && has_unbound_tenant(r->conf);
}

/* The route's path with the parameter name filled with value, the others as routes.c fills them. */
static const char *path_with(gh_probe *p, const gh_route_conf *c, const char *name, size_t nlen,
                             const char *value)
{
    const char *s = c->path, *out = "";
    while (*s) {
        const char *open = strchr(s, '{'), *close = open ? strchr(open, '}') : NULL;
        if (!close)
            return gh_arena_printf(&p->arena, "%s%s", out, s);
        bool mine = (size_t)(close - open - 1) == nlen && strncmp(open + 1, name, nlen) == 0;
        out = gh_arena_printf(&p->arena, "%s%.*s%s", out, (int)(open - s), s,
                              mine ? value : GH_PROBE_PARAM_VALUE);
        s = close + 1;
    }
    return out;
}

/* ---- requests ---- */

/* The line that carries token where the route's provider takes it. */
static const char *carrier(gh_probe *p, const gh_probe_route *route, const char *token)
{
    const gh_jwt_provider *prov = route->conf->auth_token;
    if (prov && prov->token_cookie)
        return gh_arena_printf(&p->arena, "Cookie: %s=%s\r\n", prov->token_cookie, token);
    if (prov && prov->token_header && strcasecmp(prov->token_header, "Authorization") != 0)
        return gh_arena_printf(&p->arena, "%s: %s\r\n", prov->token_header, token);
    return gh_arena_printf(&p->arena, "Authorization: Bearer %s\r\n", token);
}

/* A request of route with token (lines added, nothing else of the valid request's). */
static const char *token_request(gh_probe *p, const gh_probe_route *route, const char *method,
                                 const char *path, const char *token, const char *lines,
                                 size_t *len)
{
    bool body = strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
                strcmp(method, "OPTIONS") != 0 && strcmp(method, "DELETE") != 0;
    const char *extra =
        gh_arena_printf(&p->arena, "%s%s%s", carrier(p, route, token),
                        body ? "Content-Type: application/json\r\n" : "", lines ? lines : "");
    return gh_probe_request(p, method, path, route->host, extra, body ? "{}" : NULL, len);
}

/* The valid request of route with another method and path (extra lines added). */
static const char *valid_as(gh_probe *p, const gh_probe_route *route, const char *method,
                            const char *path, const char *extra, size_t *len)
{
    gh_probe_route copy = *route;
    copy.method = method;
    copy.path = path;
    copy.safe =
        strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 || strcmp(method, "DELETE") == 0;
    return gh_probe_valid_request(p, &copy, extra, len);
}

/* Lines setting every header a claim rule reads to value. */
static const char *rule_headers(gh_probe *p, const gh_route_conf *c, const char *value)
{
    const char *lines = "";
    for (size_t i = 0; c->has_authz && i < c->authz.nclaims; i++) {
        const gh_claim_value *v = rule_source(&c->authz.claims[i], GH_CLAIM_HEADER);
        if (v)
            lines = gh_arena_printf(&p->arena, "%s%s: %s\r\n", lines, v->text, value);
    }
    return lines;
}

/* ---- running over routes ---- */

/* Runs attack on each route want accepts whose valid request gets through, until one fails.
 * Skips with none when no route fits; a pass keeps the first route's words and names the others. */
static void each_route(gh_probe *p, gh_probe_result *r, want_fn want, attack_fn attack,
                       const char *none)
{
    size_t tried = 0;
    const char *passed = NULL, *skipped = NULL, *others = "";
    for (size_t i = 0; i < p->nroutes; i++) {
        const gh_probe_route *route = &p->routes[i];
        if (!want(p, route))
            continue;
        if (!gh_probe_baseline(p, r, route)) {
            skipped = r->why;
            continue;
        }
        gh_probe_aim(p, r, route->conf);
        attack(p, r, route);
        if (r->verdict == GH_PV_FAIL || r->verdict == GH_PV_ERROR)
            return;
        if (r->verdict == GH_PV_SKIP) {
            skipped = r->why;
            continue;
        }
        if (tried++ == 0)
            passed = r->why;
        else
            others = gh_arena_printf(&p->arena, "%s%s%s", others, tried > 2 ? ", " : "",
                                     route->conf->name);
    }
    if (!tried)
        gh_probe_skip(r, "%s", skipped ? skipped : none);
    else
        gh_probe_pass(r, "%s%s%s%s", passed, tried > 1 ? " (and on " : "", others,
                      tried > 1 ? ")" : "");
}

/* ---- tenants ---- */

/* Tenant A on tenant B's object through one path rule: A's token on B's path, or (live, no
 * key, --token-other-tenant) B's token on A's path. */
static void cross_path_rule(gh_probe *p, gh_probe_result *r, const gh_probe_route *route,
                            const gh_claim_value *v)
{
    size_t len;
    const char *bytes, *what;
    if (!p->selftest && !p->nkeys && p->token_other) {
        bytes = token_request(p, route, route->method, route->path, p->token_other,
                              rule_headers(p, route->conf, GH_PROBE_PARAM_VALUE), &len);
        what = gh_arena_printf(&p->arena, "the other tenant's token (--token-other-tenant) on %s",
                               route->path);
    } else {
        const char *path =
            path_with(p, route->conf, v->text, strlen(v->text), GH_PROBE_OTHER_VALUE);
        bytes = valid_as(p, route, route->method, path, NULL, &len);
        what = gh_arena_printf(&p->arena,
                               "tenant " GH_PROBE_PARAM_VALUE
                               "'s token on tenant " GH_PROBE_OTHER_VALUE
                               "'s path %s (claim rule {path.%s})",
                               path, v->text);
    }
    gh_probe_expect_refusal(p, r, route, bytes, len, 403, 403, what, NULL);
}

static void cross_header_rule(gh_probe *p, gh_probe_result *r, const gh_probe_route *route,
                              const gh_claim_value *v)
{
    const char *token = gh_probe_token(p, route);
    if (!token) {
        gh_probe_skip(r, "no token for the route");
        return;
    }
    size_t len;
    const char *lines = gh_arena_printf(&p->arena, "%s: " GH_PROBE_OTHER_VALUE "\r\n", v->text);
    const char *bytes = token_request(p, route, route->method, route->path, token, lines, &len);
    gh_probe_expect_refusal(p, r, route, bytes, len, 403, 403,
                            gh_arena_printf(&p->arena,
                                            "tenant " GH_PROBE_PARAM_VALUE
                                            "'s token with %s: " GH_PROBE_OTHER_VALUE
                                            " (claim rule {header.%s})",
                                            v->text, v->text),
                            NULL);
}

static void cross_tenant(gh_probe *p, gh_probe_result *r, const gh_probe_route *route)
{
    const gh_authz_conf *az = &route->conf->authz;
    for (size_t i = 0; i < az->nclaims && r->verdict != GH_PV_FAIL; i++) {
        const gh_claim_value *v;
        if ((v = rule_source(&az->claims[i], GH_CLAIM_PATH_PARAM)) &&
            route->conf->path_kind == GH_PATH_TEMPLATE)
            cross_path_rule(p, r, route, v);
        else if ((v = rule_source(&az->claims[i], GH_CLAIM_HEADER)))
            cross_header_rule(p, r, route, v);
    }
}

static void cross_tenant_claims(gh_probe *p, gh_probe_result *r)
{
    each_route(p, r, claim_routed, cross_tenant,
               "no route binds a claim to a path parameter ({path.x}) or a header ({header.X})");
}

static void unbound_attack(gh_probe *p, gh_probe_result *r, const gh_probe_route *route)
{
    const char *s = route->conf->path, *name;
    size_t nlen;
    while (next_param(&s, &name, &nlen) && r->verdict != GH_PV_FAIL) {
        if (!tenant_like(name, nlen) || param_bound(route->conf, name, nlen))
            continue;
        const char *path = path_with(p, route->conf, name, nlen, GH_PROBE_OTHER_VALUE);
        size_t len;
        const char *bytes = valid_as(p, route, route->method, path, NULL, &len);
        gh_probe_exchange x;
        gh_probe_expect_refusal(
            p, r, route, bytes, len, 401, 404,
            gh_arena_printf(&p->arena, "tenant " GH_PROBE_PARAM_VALUE "'s credentials on %s", path),
            &x);
        if (r->verdict == GH_PV_FAIL)
            gh_probe_fail(r,
                          "broken object-level authorization: tenant " GH_PROBE_PARAM_VALUE
                          "'s credentials reached tenant " GH_PROBE_OTHER_VALUE
                          "'s %s (answered %d); no claim "
                          "rule binds {%.*s}",
                          path, x.nresponses ? x.r[0].status : 0, (int)nlen, name);
    }
}

static void unbound_tenant(gh_probe *p, gh_probe_result *r)
{
    each_route(
        p, r, unbound_tenant_routed, unbound_attack,
        "every tenant, owner, account, user, org or customer path parameter of an authenticated "
        "route is bound by a claim rule (AUTHZ-001 tries them)");
}

/* B's segment written so that a backend may still read tenant B: escaped, in other cases,
 * followed by a slash or a parameter. */
static void encoded_attack(gh_probe *p, gh_probe_result *r, const gh_probe_route *route)
{
    static const char *const segments[] = {
        "probe%2Db",  "probe%2db", "PROBE-B",    "Probe-B",
        "probe-b%2F", "probe-b;x", "probe-b%20", "probe-a%2F..%2Fprobe-b"};
    const gh_authz_conf *az = &route->conf->authz;
    for (size_t i = 0; i < az->nclaims && r->verdict != GH_PV_FAIL; i++) {
        const gh_claim_value *v = rule_source(&az->claims[i], GH_CLAIM_PATH_PARAM);
        for (size_t k = 0;
             v && k <= sizeof(segments) / sizeof(segments[0]) && r->verdict != GH_PV_FAIL; k++) {
            const char *path =
                k < sizeof(segments) / sizeof(segments[0])
                    ? path_with(p, route->conf, v->text, strlen(v->text), segments[k])
                    : gh_arena_printf(&p->arena, "%s/",
                                      path_with(p, route->conf, v->text, strlen(v->text),
                                                GH_PROBE_OTHER_VALUE));
            size_t len;
            const char *bytes = valid_as(p, route, route->method, path, NULL, &len);
            gh_probe_expect_refusal(
                p, r, route, bytes, len, 400, 404,
                gh_arena_printf(&p->arena, "tenant " GH_PROBE_PARAM_VALUE "'s token on %s", path),
                NULL);
        }
    }
    if (r->verdict == GH_PV_PASS)
        gh_probe_pass(r, "tenant " GH_PROBE_OTHER_VALUE
                         "'s segment escaped, in other cases, with a trailing slash, "
                         "a parameter or an escaped slash was refused each time");
}

static void encoded_tenant(gh_probe *p, gh_probe_result *r)
{
    each_route(p, r, path_claim_routed, encoded_attack,
               "no route binds a claim to a path parameter ({path.x})");
}

/* The tenant given twice: in the query on B's path (both orders), in two headers where a claim
 * rule reads a header (both orders). */
static void pollution_attack(gh_probe *p, gh_probe_result *r, const gh_probe_route *route)
{
    const gh_authz_conf *az = &route->conf->authz;
    const char *token = gh_probe_token(p, route);
    static const char *const orders[2][2] = {{GH_PROBE_OTHER_VALUE, GH_PROBE_PARAM_VALUE},
                                             {GH_PROBE_PARAM_VALUE, GH_PROBE_OTHER_VALUE}};
    for (size_t i = 0; token && i < az->nclaims && r->verdict != GH_PV_FAIL; i++) {
        const gh_claim_value *pv = rule_source(&az->claims[i], GH_CLAIM_PATH_PARAM);
        const gh_claim_value *hv = rule_source(&az->claims[i], GH_CLAIM_HEADER);
        for (int o = 0; o < 2 && (pv || hv) && r->verdict != GH_PV_FAIL; o++) {
            size_t len;
            const char *bytes, *what;
            if (pv && route->conf->path_kind == GH_PATH_TEMPLATE) {
                const char *path = gh_arena_printf(
                    &p->arena, "%s?%s=%s&%s=%s",
                    path_with(p, route->conf, pv->text, strlen(pv->text), GH_PROBE_OTHER_VALUE),
                    pv->text, orders[o][0], pv->text, orders[o][1]);
                bytes = valid_as(p, route, route->method, path, NULL, &len);
                what = gh_arena_printf(&p->arena, "tenant " GH_PROBE_PARAM_VALUE "'s token on %s",
                                       path);
            } else if (hv) {
                const char *lines = gh_arena_printf(&p->arena, "%s: %s\r\n%s: %s\r\n", hv->text,
                                                    orders[o][0], hv->text, orders[o][1]);
                bytes = token_request(p, route, route->method, route->path, token, lines, &len);
                what = gh_arena_printf(&p->arena, "two %s headers (%s, then %s)", hv->text,
                                       orders[o][0], orders[o][1]);
            } else {
                break;
            }
            gh_probe_expect_refusal(p, r, route, bytes, len, 400, 403, what, NULL);
        }
    }
}

static void tenant_pollution(gh_probe *p, gh_probe_result *r)
{
    each_route(p, r, claim_routed, pollution_attack,
               "no route binds a claim to a path parameter ({path.x}) or a header ({header.X})");
}

/* ---- scopes ---- */

static bool scoped(gh_probe *p, const gh_probe_route *r)
{
    const gh_route_conf *c = r->conf;
    return usable(p, r) && c->auth_token && !c->auth_token->introspect &&
           gh_probe_key_of(p, c->auth_token) && c->has_authz &&
           c->authz.nscopes + c->authz.nscopes_any > 0 && c->authz.nscopes <= MAX_SCOPES;
}

static bool scoped_all(gh_probe *p, const gh_probe_route *r)
{
    return scoped(p, r) && r->conf->authz.nscopes > 0;
}

static bool scoped_any(gh_probe *p, const gh_probe_route *r)
{
    return scoped(p, r) && r->conf->authz.nscopes_any > 0;
}

/* The route's valid request with a token granting exactly the scopes given. */
static const char *scoped_request(gh_probe *p, const gh_probe_route *route,
                                  const char *const *scopes, size_t n, size_t *len)
{
    const gh_jwt_provider *prov = route->conf->auth_token;
    bool array = prov->scope_claim && strcmp(prov->scope_claim, "scp") == 0;
    json_t *value = array ? json_array() : NULL;
    const char *text = "";
    for (size_t i = 0; i < n; i++) {
        if (array)
            json_array_append_new(value, json_string(scopes[i]));
        else
            text = gh_arena_printf(&p->arena, "%s%s%s", text, i ? " " : "", scopes[i]);
    }
    json_t *c = gh_probe_claims(p, route);
    json_object_set_new(c, prov->scope_claim ? prov->scope_claim : "scope",
                        array ? value : json_string(text));
    const char *token = gh_probe_sign_claims(p, prov, c);
    json_decref(c);
    return token ? token_request(p, route, route->method, route->path, token,
                                 rule_headers(p, route->conf, GH_PROBE_PARAM_VALUE), len)
                 : NULL;
}

/* 403, nothing forwarded, and the challenge says insufficient_scope (RFC 6750 3.1). */
static void expect_insufficient(gh_probe *p, gh_probe_result *r, const gh_probe_route *route,
                                const char *bytes, size_t len, const char *what)
{
    gh_probe_exchange x;
    if (!bytes) {
        gh_probe_error(r, "cannot sign the token");
        return;
    }
    gh_probe_expect_refusal(p, r, route, bytes, len, 403, 403, what, &x);
    if (r->verdict != GH_PV_PASS)
        return;
    const char *challenge = gh_probe_field(p, &x.r[0], "WWW-Authenticate");
    if (!challenge || !strstr(challenge, "insufficient_scope"))
        gh_probe_fail(r, "%s was refused with 403 but WWW-Authenticate %s", what,
                      challenge ? "does not say insufficient_scope" : "is missing");
}

static void missing_scope_attack(gh_probe *p, gh_probe_result *r, const gh_probe_route *route)
{
    const gh_authz_conf *az = &route->conf->authz;
    const char *scopes[MAX_SCOPES + 1];
    for (size_t miss = 0; miss < az->nscopes && r->verdict != GH_PV_FAIL; miss++) {
        size_t n = 0;
        for (size_t i = 0; i < az->nscopes; i++)
            if (i != miss)
                scopes[n++] = az->scopes[i];
        if (az->nscopes_any)
            scopes[n++] = az->scopes_any[0];
        size_t len;
        const char *bytes = scoped_request(p, route, scopes, n, &len);
        expect_insufficient(
            p, r, route, bytes, len,
            gh_arena_printf(&p->arena, "a token with every scope but %s", az->scopes[miss]));
    }
}

static void missing_scope(gh_probe *p, gh_probe_result *r)
{
    each_route(p, r, scoped_all, missing_scope_attack,
               "no route requires scopes (auth.scopes) of a JWT provider "
               "whose key the probe holds");
}

static void none_of_any_attack(gh_probe *p, gh_probe_result *r, const gh_probe_route *route)
{
    size_t len;
    const char *bytes =
        scoped_request(p, route, route->conf->authz.scopes, route->conf->authz.nscopes, &len);
    expect_insufficient(p, r, route, bytes, len,
                        "a token with the required scopes but none of scopes_any");
}

static void none_of_any(gh_probe *p, gh_probe_result *r)
{
    each_route(p, r, scoped_any, none_of_any_attack,
               "no route requires one of several scopes (auth.scopes_any) "
               "of a JWT provider whose key the probe holds");
}

/* s with the case of its letters swapped, or NULL when it has none. */
static const char *swap_case(gh_probe *p, const char *s)
{
    char *out = gh_arena_strdup(&p->arena, s);
    bool any = false;
    for (char *c = out; *c; c++)
        if (isalpha((unsigned char)*c)) {
            *c = (char)(islower((unsigned char)*c) ? toupper((unsigned char)*c)
                                                   : tolower((unsigned char)*c));
            any = true;
        }
    return any ? out : NULL;
}

static void near_miss_attack(gh_probe *p, gh_probe_result *r, const gh_probe_route *route)
{
    const gh_authz_conf *az = &route->conf->authz;
    bool from_all = az->nscopes > 0;
    const char *want = from_all ? az->scopes[0] : az->scopes_any[0];
    size_t wl = strlen(want), head = strcspn(want, ":./");
    const char *variants[] = {
        wl > 1 ? gh_arena_strndup(&p->arena, want, wl - 1) : NULL,  /* orders:writ */
        gh_arena_printf(&p->arena, "%s:x", want),                   /* orders:write:x */
        swap_case(p, want),                                         /* ORDERS:WRITE */
        gh_arena_printf(&p->arena, "%sx", want),                    /* the scope as a prefix */
        head < wl ? gh_arena_strndup(&p->arena, want, head) : NULL, /* orders */
        gh_arena_printf(&p->arena, "probe,%s", want),               /* one token with a comma */
    };
    const char *scopes[MAX_SCOPES + 1];
    for (size_t v = 0; v < sizeof(variants) / sizeof(variants[0]) && r->verdict != GH_PV_FAIL;
         v++) {
        if (!variants[v])
            continue;
        size_t n = 0;
        for (size_t i = from_all ? 1 : 0; i < az->nscopes; i++)
            scopes[n++] = az->scopes[i];
        scopes[n++] = variants[v];
        size_t len;
        const char *bytes = scoped_request(p, route, scopes, n, &len);
        expect_insufficient(p, r, route, bytes, len,
                            gh_arena_printf(&p->arena, "a token with \"%s\" in place of \"%s\"",
                                            variants[v], want));
    }
    if (r->verdict == GH_PV_PASS)
        gh_probe_pass(r,
                      "scopes near %s (cut, extended, in other cases, as a prefix, comma-joined) "
                      "were refused "
                      "with 403 insufficient_scope",
                      want);
}

static void near_miss_scopes(gh_probe *p, gh_probe_result *r)
{
    each_route(p, r, scoped, near_miss_attack,
               "no route requires scopes of a JWT provider whose key the probe holds");
}

/* ---- methods ---- */

static bool method_limited(gh_probe *p, const gh_probe_route *r)
{
    return usable(p, r) && (r->conf->methods & GH_M_ALL) != GH_M_ALL;
}

/* Whether some route of the configuration serves method on route's probe path. */
static bool served_elsewhere(gh_probe *p, const gh_probe_route *route, unsigned method)
{
    const char *host = route->conf->host ? route->host : NULL;
    size_t hl = host ? strcspn(host, ":") : 0;
    uint64_t listener = route->target->listener ? route->target->listener->id : 0;
    gh_route_match m;
    size_t pl = strcspn(route->path, "?");
    return gh_route_find(p->conf, listener, host, hl, route->path, pl, method, &m) == GH_R_OK;
}

static void methods_attack(gh_probe *p, gh_probe_result *r, const gh_probe_route *route)
{
    static const struct {
        unsigned bit;
        const char *name;
    } methods[] = {{GH_M_DELETE, "DELETE"},
                   {GH_M_PUT, "PUT"},
                   {GH_M_PATCH, "PATCH"},
                   {GH_M_POST, "POST"},
                   {GH_M_GET, "GET"}};
    size_t tried = 0;
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]) && r->verdict != GH_PV_FAIL; i++) {
        if ((route->conf->methods & methods[i].bit) || served_elsewhere(p, route, methods[i].bit))
            continue;
        size_t len;
        const char *bytes = valid_as(p, route, methods[i].name, route->path, NULL, &len);
        gh_probe_expect_refusal(p, r, route, bytes, len, 405, 405,
                                gh_arena_printf(&p->arena,
                                                "%s %s with the route's credentials (it allows %s)",
                                                methods[i].name, route->path, route->method),
                                NULL);
        tried++;
    }
    if (!tried)
        gh_probe_skip(r, "every method is served on %s by some route", route->path);
}

static void other_methods(gh_probe *p, gh_probe_result *r)
{
    each_route(p, r, method_limited, methods_attack, "no route limits its methods (match.methods)");
}

static bool get_authenticated(gh_probe *p, const gh_probe_route *r)
{
    return usable(p, r) && authenticates(r) && (r->conf->methods & GH_M_GET);
}

/* HEAD with tenant A's token on tenant B's path, for each path rule: 403, nothing forwarded. */
static void head_across_tenants(gh_probe *p, gh_probe_result *r, const gh_probe_route *route,
                                int head_status)
{
    for (size_t i = 0; i < route->conf->authz.nclaims; i++) {
        const gh_claim_value *v = rule_source(&route->conf->authz.claims[i], GH_CLAIM_PATH_PARAM);
        if (!v)
            continue;
        size_t len;
        gh_probe_exchange x;
        const char *path =
            path_with(p, route->conf, v->text, strlen(v->text), GH_PROBE_OTHER_VALUE);
        const char *bytes = valid_as(p, route, "HEAD", path, NULL, &len);
        if (gh_probe_send(p, r, route->target, bytes, len,
                          &(gh_probe_opts){.responses = 1, .is_head = true}, &x) != 0)
            return;
        gh_probe_note(p, r, &x);
        int forwarded = gh_probe_upstream_note(p, r, NULL),
            status = x.nresponses ? x.r[0].status : 0;
        if (forwarded > 0 || status != 403) {
            gh_probe_fail(r,
                          "HEAD %s with tenant " GH_PROBE_PARAM_VALUE
                          "'s token was answered %d%s, not 403",
                          path, status, forwarded > 0 ? " and reached the upstream" : "");
            return;
        }
    }
    gh_probe_pass(r,
                  "HEAD %s was refused without credentials (%d, as GET) and across tenants (403)",
                  route->path, head_status);
}

/* HEAD must be refused without credentials where GET is, and across tenants where GET is. */
static void head_attack(gh_probe *p, gh_probe_result *r, const gh_probe_route *route)
{
    size_t len;
    const char *get = gh_probe_request(p, "GET", route->path, route->host, NULL, NULL, &len);
    gh_probe_exchange x;
    if (gh_probe_send(p, r, route->target, get, len, &(gh_probe_opts){.responses = 1}, &x) != 0)
        return;
    int get_status = x.nresponses ? x.r[0].status : 0;
    gh_probe_upstream_note(p, r, NULL);
    if (get_status < 400) {
        gh_probe_note(p, r, &x);
        gh_probe_skip(r,
                      "GET %s without credentials is answered %d: HEAD has nothing to be held to",
                      route->path, get_status);
        return;
    }
    const char *head = gh_probe_request(p, "HEAD", route->path, route->host, NULL, NULL, &len);
    if (gh_probe_send(p, r, route->target, head, len,
                      &(gh_probe_opts){.responses = 1, .is_head = true}, &x) != 0)
        return;
    gh_probe_note(p, r, &x);
    int forwarded = gh_probe_upstream_note(p, r, NULL), status = x.nresponses ? x.r[0].status : 0;
    if (forwarded > 0 || (status > 0 && status < 400)) {
        gh_probe_fail(
            r, "HEAD %s without credentials was answered %d%s where GET is refused with %d",
            route->path, status, forwarded > 0 ? " and reached the upstream" : "", get_status);
        return;
    }
    gh_probe_pass(r, "HEAD %s without credentials was refused (%d) as GET is (%d)", route->path,
                  status, get_status);
    if (has_rule(route, GH_CLAIM_PATH_PARAM) && (p->selftest || p->nkeys))
        head_across_tenants(p, r, route, status);
}

static void head_like_get(gh_probe *p, gh_probe_result *r)
{
    each_route(p, r, get_authenticated, head_attack,
               "no route that takes GET requires credentials");
}

static bool get_only(gh_probe *p, const gh_probe_route *r)
{
    return usable(p, r) && r->proxied && (r->conf->methods & (GH_M_GET)) &&
           !(r->conf->methods & ~(unsigned)(GH_M_GET | GH_M_HEAD | GH_M_OPTIONS));
}

/* Override headers on a GET: refused, or forwarded without them (the upstream's view: self-test,
 * or an upstream that echoes requests). Returns 1 when forwarded and the view cannot be had. */
static int override_header(gh_probe *p, gh_probe_result *r, const gh_probe_route *route,
                           const char *name)
{
    size_t len;
    const char *marker = gh_probe_echo_marker(p);
    const char *lines =
        gh_arena_printf(&p->arena, "%s: DELETE\r\n%s", name, gh_probe_echo_line(p, marker));
    const char *bytes = gh_probe_valid_request(p, route, lines, &len);
    gh_probe_exchange x;
    if (gh_probe_send(p, r, route->target, bytes, len, &(gh_probe_opts){.responses = 1}, &x) != 0)
        return 0;
    gh_probe_note(p, r, &x);
    gh_probe_view v;
    bool seen = gh_probe_view_of(p, r, &x, marker, &v);
    int status = x.nresponses ? x.r[0].status : 0;
    if (seen && v.forwarded > 0 && gh_probe_view_has(&v, name))
        gh_probe_fail(r, "the upstream received %s: DELETE on a route that allows GET only", name);
    else if (!seen && status >= 200 && status < 400)
        return 1;
    return 0;
}

static void override_attack(gh_probe *p, gh_probe_result *r, const gh_probe_route *route)
{
    static const char *const names[] = {"X-HTTP-Method-Override", "X-HTTP-Method",
                                        "X-Method-Override"};
    int unseen = 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && r->verdict != GH_PV_FAIL; i++)
        unseen += override_header(p, r, route, names[i]);
    if (r->verdict == GH_PV_FAIL || r->verdict == GH_PV_SKIP)
        return;
    bool writes = p->selftest || p->profile == GH_PROFILE_FULL;
    if (writes && !served_elsewhere(p, route, GH_M_POST)) {
        size_t len;
        const char *target = gh_arena_printf(&p->arena, "%s?_method=DELETE", route->path);
        const char *bytes = valid_as(p, route, "POST", target, NULL, &len);
        gh_probe_expect_refusal(p, r, route, bytes, len, 405, 405,
                                "POST with _method=DELETE on a route that allows "
                                "GET only",
                                NULL);
        if (r->verdict == GH_PV_FAIL)
            return;
    }
    if (unseen)
        gh_probe_skip(
            r,
            "GET with each override header was answered: whether the gateway dropped them is seen "
            "only from the upstream (self-test, or an upstream that echoes requests)%s",
            writes ? "; POST with _method was refused with 405" : "");
    else
        gh_probe_pass(r, "override headers never reached the upstream%s",
                      writes ? "; POST with _method was refused with 405" : "");
}

static void method_override(gh_probe *p, gh_probe_result *r)
{
    each_route(p, r, get_only, override_attack, "no proxied route allows GET only");
}

const gh_probe_case gh_probe_cases_authz[] = {
    {"AUTHZ-001", "authorization",
     "tenant A's token on tenant B's object, through every claim rule", OWASP_BOLA, 639,
     GH_PSEV_HIGH, 0,
     "403 for each {path.x} rule (tenant B's path) and {header.X} rule (tenant B's header), "
     "nothing forwarded",
     "Bind the owner in the path to the token: auth.claims: {tenant: \"{path.tenant}\"}.",
     cross_tenant_claims},
    {"AUTHZ-002", "authorization",
     "tenant A's token on tenant B's path where no claim rule binds the tenant", OWASP_BOLA, 639,
     GH_PSEV_HIGH, 0,
     "401, 403 or 404, nothing forwarded: a tenant, owner, account, user, org or customer "
     "parameter is bound",
     "Add a claim rule binding the parameter (auth.claims: {tenant: \"{path.tenant}\"}) or an "
     "auth.policy that "
     "checks ownership.",
     unbound_tenant},
    {"AUTHZ-003", "authorization",
     "tenant B's segment escaped (probe%2Db), in other cases, with a slash or ;", OWASP_BOLA, 639,
     GH_PSEV_HIGH, 0, "400-404 for each, nothing forwarded",
     "Compare claims with the canonical path's decoded segment; keep paths.encoded_slash and "
     "paths.parameters "
     "at reject.",
     encoded_tenant},
    {"AUTHZ-004", "authorization",
     "tenant given twice (query on tenant B's path; two headers a claim rule reads)", OWASP_BOLA,
     235, GH_PSEV_MEDIUM, 0, "400 or 403 in both orders, nothing forwarded",
     "Bind tenants to the path ({path.x}), not the query; a {header.X} rule must refuse a header "
     "sent twice.",
     tenant_pollution},
    {"AUTHZ-005", "authorization",
     "token without one of the route's required scopes (each in turn)", OWASP_BFLA, 285,
     GH_PSEV_HIGH, GH_PN_SIGN,
     "403 with WWW-Authenticate error=\"insufficient_scope\", nothing forwarded",
     "Require every scope the route needs in auth.scopes.", missing_scope},
    {"AUTHZ-006", "authorization", "token with none of the route's scopes_any", OWASP_BFLA, 285,
     GH_PSEV_HIGH, GH_PN_SIGN,
     "403 with WWW-Authenticate error=\"insufficient_scope\", nothing forwarded",
     "List the acceptable scopes in auth.scopes_any.", none_of_any},
    {"AUTHZ-007", "authorization",
     "near-miss scopes (orders:writ, orders:write:x, other case, prefix, comma)", OWASP_BFLA, 863,
     GH_PSEV_HIGH, GH_PN_SIGN, "403 insufficient_scope for each, nothing forwarded",
     "Compare scopes as whole, case-sensitive tokens split on spaces (RFC 6749 3.3).",
     near_miss_scopes},
    {"AUTHZ-008", "authorization", "methods the route does not allow, with its credentials",
     OWASP_BFLA, 285, GH_PSEV_HIGH, GH_PN_WRITE, "405, nothing forwarded",
     "List only the methods the route serves in match.methods.", other_methods},
    {"AUTHZ-009", "authorization",
     "HEAD without credentials (and across tenants) where GET is refused", OWASP_BFLA, 862,
     GH_PSEV_MEDIUM, 0, "HEAD refused as GET is (401), 403 across tenants, nothing forwarded",
     "Authorize HEAD like GET: a route's controls apply to every method it matches.",
     head_like_get},
    {"AUTHZ-010", "authorization",
     "method override headers and _method on a route that allows GET only", OWASP_BFLA, 285,
     GH_PSEV_HIGH, 0,
     "X-HTTP-Method-Override, X-HTTP-Method, X-Method-Override dropped before the upstream (or the "
     "request "
     "refused); POST ?_method=DELETE refused with 405. A _method in the query of a GET is passed on as "
     "sent: "
     "frameworks apply it to POST only",
     "Keep the override headers out of trusted_proxies' reach (Gatehouse drops them from other "
     "peers); remove "
     "them with headers.request.remove if a trusted proxy sends them.",
     method_override},
    {0},
};
