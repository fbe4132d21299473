/* Checks of each route: who may call it (AUTH, AUTHZ), how often (LIMIT), with what body (BODY),
 * which methods (ROUTE-002) and from which pages (CORS). */
#include <string.h>
#include <strings.h>

#include "audit/audit_internal.h"

/* Raised one level on critical routes. */
static gh_severity raised(const gh_route_conf *r, gh_severity usual)
{
    return r->critical && usual < GH_SEV_HIGH ? usual + 1 : usual;
}

static void check_authentication(gh_audit *a, const gh_route_conf *r, int i, const char *who)
{
    gh_exposure exposure = gh__route_exposure(a, r);
    if (!gh__route_authenticates(r)) {
        if (gh__route_proxies(r) && exposure != GH_EXPOSE_LOOPBACK)
            gh__audit_find(a, "GH-AUTH-001", GH_SEV_HIGH, i, gh__audit_fmt(a, "routes[%d].auth", i),
                           who, "route '%s' proxies to upstream '%s' with auth: none, and a %s "
                           "listener serves it", r->name, r->upstream->name,
                           gh__exposure_name(exposure));
        else if (gh__route_proxies(r) && r->critical)
            gh__audit_find(a, "GH-AUTH-001", GH_SEV_MEDIUM, i, gh__audit_fmt(a, "routes[%d].auth", i),
                           who, "critical route '%s' proxies to upstream '%s' with auth: none "
                           "(loopback listeners only: any local process can call it)",
                           r->name, r->upstream->name);
        return;
    }
    if (r->auth_api_key && !r->auth_token && !r->auth_mtls && !r->auth_hmac)
        gh__audit_find(a, "GH-AUTH-002", raised(r, GH_SEV_MEDIUM), i,
                       gh__audit_fmt(a, "routes[%d].auth.api_key", i), who,
                       "route '%s' is authenticated by API key '%s' alone", r->name,
                       r->auth_api_key->name);
    const gh_mtls_rule *m = r->auth_mtls;
    if (m && !m->nspiffe_ids && !m->nsubjects && !m->nfingerprints)
        gh__audit_find(a, "GH-AUTH-003", raised(r, GH_SEV_LOW), i,
                       gh__audit_fmt(a, "routes[%d].auth.mtls", i), who,
                       "route '%s' accepts any certificate its listener's client_ca signed",
                       r->name);
}

static bool has_wildcard(const char *const *scopes, size_t n, const char **which)
{
    for (size_t i = 0; i < n; i++)
        if (strchr(scopes[i], '*')) {
            *which = scopes[i];
            return true;
        }
    return false;
}

static void check_authorization(gh_audit *a, const gh_route_conf *r, int i, const char *who)
{
    if (r->critical && gh__route_authenticates(r) && !gh__route_authorizes(r))
        gh__audit_find(a, "GH-AUTHZ-001", GH_SEV_HIGH, i, gh__audit_fmt(a, "routes[%d].auth", i), who,
                       "critical route '%s' (%s) lets every authenticated caller in: %s",
                       r->name, gh__describe_auth(a, r),
                       r->has_authz && r->authz.shadow
                           ? "its scopes, claims and policy are in shadow mode"
                           : "no scopes, claims, policy or certificate identities");
    if (r->has_authz && r->authz.shadow)
        gh__audit_find(a, "GH-AUTHZ-002", raised(r, GH_SEV_MEDIUM), i,
                       gh__audit_fmt(a, "routes[%d].auth.mode", i), who,
                       "route '%s' logs its scope, claim and policy refusals and refuses nothing",
                       r->name);
    const char *w;
    if (has_wildcard(r->authz.scopes, r->authz.nscopes, &w))
        gh__audit_find(a, "GH-AUTHZ-003", GH_SEV_NONE, i, gh__audit_fmt(a, "routes[%d].auth.scopes", i),
                       who, "route '%s' asks for scope '%s'", r->name, w);
    else if (has_wildcard(r->authz.scopes_any, r->authz.nscopes_any, &w))
        gh__audit_find(a, "GH-AUTHZ-003", GH_SEV_NONE, i,
                       gh__audit_fmt(a, "routes[%d].auth.scopes_any", i), who,
                       "route '%s' takes scope '%s'", r->name, w);
}

static void check_limits_and_body(gh_audit *a, const gh_route_conf *r, int i, const char *who)
{
    if (!r->nlimits && r->critical)
        gh__audit_find(a, "GH-LIMIT-001", GH_SEV_HIGH, i, gh__audit_fmt(a, "routes[%d].rate_limit", i),
                       who, "critical route '%s' has no rate_limit", r->name);
    else if (!r->nlimits && gh__route_proxies(r) && gh__route_exposure(a, r) != GH_EXPOSE_LOOPBACK)
        gh__audit_find(a, "GH-LIMIT-002", GH_SEV_NONE, i, gh__audit_fmt(a, "routes[%d].rate_limit", i),
                       who, "route '%s' proxies to '%s' from a %s listener with no rate_limit",
                       r->name, r->upstream->name, gh__exposure_name(gh__route_exposure(a, r)));
    const gh_body_conf *b = r->body;
    unsigned with_body = r->methods & (GH_M_POST | GH_M_PUT | GH_M_PATCH);
    if (gh__route_proxies(r) && with_body && !(b && (b->max_bytes || b->schema)))
        gh__audit_find(a, "GH-BODY-001", raised(r, GH_SEV_MEDIUM), i,
                       gh__audit_fmt(a, "routes[%d].body", i), who,
                       "route '%s' forwards %s bodies up to the global limit (%s), unvalidated",
                       r->name,
                       with_body & GH_M_POST ? "POST" : with_body & GH_M_PUT ? "PUT" : "PATCH",
                       gh__describe_size(a, a->c->limits.max_body_bytes));
    if (gh__route_proxies(r) && r->methods == GH_M_ALL)
        gh__audit_find(a, "GH-ROUTE-002", raised(r, GH_SEV_LOW), i,
                       gh__audit_fmt(a, "routes[%d].match", i), who,
                       "route '%s' sends every method to '%s' (no match.methods)", r->name,
                       r->upstream->name);
}

static bool plaintext_origin(const char *o)
{
    if (strncasecmp(o, "http://", 7) != 0)
        return false;
    static const char *const local[] = {"localhost", "127.0.0.1", "[::1]"};
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(local[i]);
        if (strncasecmp(o + 7, local[i], n) == 0 && (o[7 + n] == '\0' || o[7 + n] == ':'))
            return false;
    }
    return true;
}

static void check_cors(gh_audit *a, const gh_route_conf *r, int i, const char *who)
{
    const gh_cors_conf *cors = r->cors;
    if (!cors)
        return;
    const char *key = gh__audit_fmt(a, "routes[%d].cors.origins", i);
    for (size_t k = 0; k < cors->norigins; k++) {
        if (cors->credentials && strstr(cors->origins[k], "*.")) {
            gh__audit_find(a, "GH-CORS-001", raised(r, GH_SEV_MEDIUM), i, key, who,
                           "route '%s' lets pages of '%s' call it with cookies and credentials",
                           r->name, cors->origins[k]);
            break;
        }
    }
    for (size_t k = 0; k < cors->norigins; k++) {
        if (plaintext_origin(cors->origins[k])) {
            gh__audit_find(a, "GH-CORS-003", raised(r, GH_SEV_MEDIUM), i, key, who,
                           "route '%s' grants CORS to '%s'", r->name, cors->origins[k]);
            break;
        }
    }
    if (cors->any_origin && gh__route_authenticates(r))
        gh__audit_find(a, "GH-CORS-002", raised(r, GH_SEV_LOW), i, key, who,
                       "route '%s' (%s) grants CORS to any origin", r->name, gh__describe_auth(a, r));
}

static void check_token_forwarding(gh_audit *a, const gh_route_conf *r, int i, const char *who)
{
    if (!r->auth_token || !r->forward_authorization || !r->upstream)
        return;
    bool plain_remote = false;
    for (size_t k = 0; k < r->upstream->nendpoints; k++)
        plain_remote |= !r->upstream->endpoints[k].tls && gh__endpoint_remote(&r->upstream->endpoints[k]);
    gh__audit_find(a, "GH-IDP-007", plain_remote ? GH_SEV_MEDIUM : GH_SEV_LOW, i,
                   gh__audit_fmt(a, "routes[%d].forward.authorization", i), who,
                   "route '%s' passes the caller's token to '%s'%s", r->name, r->upstream->name,
                   plain_remote ? " over plain HTTP" : "");
}

/* Shadow mode and client-chosen keys, once per limit that a route uses; critical users raise. */
static void check_limit_definitions(gh_audit *a)
{
    const gh_config *c = a->c;
    for (size_t l = 0; l < c->nrate_limits; l++) {
        const gh_rate_limit_conf *lim = &c->rate_limits[l];
        bool used = false, critical = false;
        for (size_t i = 0; i < c->nroutes; i++)
            for (size_t k = 0; k < c->routes[i].nlimits; k++)
                if (c->routes[i].limits[k] == lim) {
                    used = true;
                    critical |= c->routes[i].critical;
                }
        if (!used)
            continue;
        const char *who = gh__audit_fmt(a, "rate limit %s", lim->name);
        if (lim->shadow)
            gh__audit_find(a, "GH-LIMIT-003", critical ? GH_SEV_HIGH : GH_SEV_MEDIUM, -1,
                           gh__audit_fmt(a, "rate_limits.%s.mode", lim->name), who,
                           "rate limit '%s' counts and refuses nothing%s", lim->name,
                           critical ? " on critical routes" : "");
        if (lim->key == GH_LKEY_HEADER)
            gh__audit_find(a, "GH-LIMIT-005", GH_SEV_NONE, -1,
                           gh__audit_fmt(a, "rate_limits.%s.key", lim->name), who,
                           "rate limit '%s' gives each value of the client's %s header its own "
                           "bucket", lim->name, lim->key_arg);
    }
}

void gh__audit_check_routes(gh_audit *a)
{
    for (size_t n = 0; n < a->c->nroutes; n++) {
        const gh_route_conf *r = &a->c->routes[n];
        int i = (int)n;
        const char *who = gh__audit_fmt(a, "route %s", r->name);
        check_authentication(a, r, i, who);
        check_authorization(a, r, i, who);
        check_limits_and_body(a, r, i, who);
        check_cors(a, r, i, who);
        check_token_forwarding(a, r, i, who);
    }
    check_limit_definitions(a);
}
