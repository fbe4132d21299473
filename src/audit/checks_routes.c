/* Checks of each route: who may call it (AUTH, AUTHZ) and whose objects it may name (AUTHZ-005),
 * how often (LIMIT), with what body (BODY), which methods (ROUTE-002), from which pages (CORS)
 * and whether it fails on purpose (FAULT). */
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
    if (!gh__route_authenticates(a, r)) {
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
    const gh_stage_fact *key = gh__route_proof(a, r, GH_PROOF_KEY);
    if (key && gh__route_count(a, r, GH_FACT_AUTHENTICATE) == 1)
        gh__audit_find(a, "GH-AUTH-002", raised(r, GH_SEV_MEDIUM), i,
                       gh__audit_fmt(a, "routes[%d].%s", i, key->at), who,
                       "route '%s' is authenticated by API key '%s' alone", r->name, key->name);
    const gh_stage_fact *cert = gh__route_proof(a, r, GH_PROOF_CERTIFICATE);
    if (cert && !cert->named)
        gh__audit_find(a, "GH-AUTH-003", raised(r, GH_SEV_LOW), i,
                       gh__audit_fmt(a, "routes[%d].%s", i, cert->at), who,
                       "route '%s' accepts any certificate its listener's client_ca signed",
                       r->name);
}

/* The first name of the list with a '*' in it, or NULL. */
static const char *wildcard(gh_fact_names scopes)
{
    for (size_t i = 0; i < scopes.n; i++)
        if (strchr(scopes.at[i], '*'))
            return scopes.at[i];
    return NULL;
}

static void check_wildcard_scopes(gh_audit *a, const gh_route_conf *r, int i, const char *who)
{
    const char *w;
    for (const gh_stage_fact *f = NULL; (f = gh__route_next(a, r, f, GH_FACT_AUTHORIZE));) {
        if ((w = wildcard(f->all))) {
            gh__audit_find(a, "GH-AUTHZ-003", GH_SEV_NONE, i,
                           gh__audit_fmt(a, "routes[%d].auth.scopes", i), who,
                           "route '%s' asks for scope '%s'", r->name, w);
            return;
        }
        if ((w = wildcard(f->any))) {
            gh__audit_find(a, "GH-AUTHZ-003", GH_SEV_NONE, i,
                           gh__audit_fmt(a, "routes[%d].auth.scopes_any", i), who,
                           "route '%s' takes scope '%s'", r->name, w);
            return;
        }
    }
}

static void check_authorization(gh_audit *a, const gh_route_conf *r, int i, const char *who)
{
    bool shadow = gh__route_authz_shadow(a, r);
    if (r->critical && gh__route_authenticates(a, r) && !gh__route_authorizes(a, r))
        gh__audit_find(a, "GH-AUTHZ-001", GH_SEV_HIGH, i, gh__audit_fmt(a, "routes[%d].auth", i), who,
                       "critical route '%s' (%s) lets every authenticated caller in: %s",
                       r->name, gh__describe_auth(a, r),
                       shadow ? "its scopes, claims and policy are in shadow mode"
                              : "no scopes, claims, policy or certificate identities");
    if (shadow)
        gh__audit_find(a, "GH-AUTHZ-002", raised(r, GH_SEV_MEDIUM), i,
                       gh__audit_fmt(a, "routes[%d].auth.mode", i), who,
                       "route '%s' logs its scope, claim and policy refusals and refuses nothing",
                       r->name);
    check_wildcard_scopes(a, r, i, who);
}

static void check_limits_and_body(gh_audit *a, const gh_route_conf *r, int i, const char *who)
{
    bool limited = gh__route_count(a, r, GH_FACT_LIMIT) > 0;
    if (!limited && r->critical)
        gh__audit_find(a, "GH-LIMIT-001", GH_SEV_HIGH, i, gh__audit_fmt(a, "routes[%d].rate_limit", i),
                       who, "critical route '%s' has no rate_limit", r->name);
    else if (!limited && gh__route_proxies(r) && gh__route_exposure(a, r) != GH_EXPOSE_LOOPBACK)
        gh__audit_find(a, "GH-LIMIT-002", GH_SEV_NONE, i, gh__audit_fmt(a, "routes[%d].rate_limit", i),
                       who, "route '%s' proxies to '%s' from a %s listener with no rate_limit",
                       r->name, r->upstream->name, gh__exposure_name(gh__route_exposure(a, r)));
    unsigned with_body = r->methods & (GH_M_POST | GH_M_PUT | GH_M_PATCH);
    if (gh__route_proxies(r) && with_body && !gh__route_bounds_body(a, r))
        gh__audit_find(a, "GH-BODY-001", raised(r, GH_SEV_MEDIUM), i,
                       gh__audit_fmt(a, "routes[%d].body", i), who,
                       "route '%s' forwards %s bodies up to the global limit (%s), unvalidated",
                       r->name,
                       with_body & GH_M_POST ? "POST" : with_body & GH_M_PUT ? "PUT" : "PATCH",
                       gh__describe_size(a, a->c->limits.max_body_bytes));
    const gh_stage_fact *body = gh__route_next(a, r, NULL, GH_FACT_BODY);
    if (gh__route_proxies(r) && with_body && body && body->validates && body->open_object)
        gh__audit_find(a, "GH-BODY-002", raised(r, GH_SEV_MEDIUM), i,
                       gh__audit_fmt(a, "routes[%d].body.schema", i), who,
                       "route '%s' takes %s bodies whose top-level object may carry properties "
                       "its schema does not name", r->name,
                       with_body & GH_M_POST ? "POST" : with_body & GH_M_PUT ? "PUT" : "PATCH");
    if (gh__route_proxies(r) && r->methods == GH_M_ALL)
        gh__audit_find(a, "GH-ROUTE-002", raised(r, GH_SEV_LOW), i,
                       gh__audit_fmt(a, "routes[%d].match", i), who,
                       "route '%s' sends every method to '%s' (no match.methods)", r->name,
                       r->upstream->name);
}

/* Words that name whose objects a request is about: a path parameter of one of these names (or
 * an id right after such a collection: /users/{id}) can be tied to the caller's token. */
static bool owner_word(const char *w, size_t n)
{
    static const char *const owners[] = {"tenant", "account", "user", "org", "organization",
                                         "organisation", "customer", "owner", "member", "team",
                                         "workspace", "project", "company"};
    for (size_t i = 0; i < sizeof(owners) / sizeof(owners[0]); i++)
        if (strlen(owners[i]) == n && strncasecmp(owners[i], w, n) == 0)
            return true;
    return false;
}

/* Whether the parameter at name[0..n), following the literal segment prev[0..pn), names an
 * owner: "tenant", "tenant_id", "userId", or "id" after "users". */
static bool owner_parameter(const char *name, size_t n, const char *prev, size_t pn)
{
    char word[64];
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < sizeof(word); i++)
        if (name[i] != '_' && name[i] != '-')
            word[k++] = name[i];
    if (k >= 2 && strncasecmp(word + k - 2, "id", 2) == 0)
        k -= 2;
    if (k == 0) /* a bare id: the collection before it says whose */
        return pn > 1 &&
               (owner_word(prev, pn) || (prev[pn - 1] == 's' && owner_word(prev, pn - 1)));
    return owner_word(word, k);
}

static bool bound(const gh_audit *a, const gh_route_conf *r, const char *name, size_t n)
{
    for (const gh_stage_fact *f = NULL; (f = gh__route_next(a, r, f, GH_FACT_AUTHORIZE));)
        for (size_t i = 0; i < f->bound.n; i++)
            if (strlen(f->bound.at[i]) == n && strncmp(f->bound.at[i], name, n) == 0)
                return true;
    return false;
}

/* A token route whose path names an owner (a tenant, an account, a user) that no claim rule ties
 * to the token: any caller can name anyone's objects. A policy may decide per object, and named
 * callers are services, not users: both are left alone. */
static void check_object_ownership(gh_audit *a, const gh_route_conf *r, int i, const char *who)
{
    if (!gh__route_proxies(r) || r->path_kind != GH_PATH_TEMPLATE ||
        !gh__route_proof(a, r, GH_PROOF_TOKEN) || gh__route_count(a, r, GH_FACT_POLICY))
        return;
    for (const gh_stage_fact *f = NULL; (f = gh__route_next(a, r, f, GH_FACT_AUTHENTICATE));)
        if (f->narrows)
            return;
    const char *prev = "", *seg = r->path;
    size_t pn = 0;
    while (*seg == '/') {
        const char *start = seg + 1, *end = strchr(start, '/');
        size_t len = end ? (size_t)(end - start) : strlen(start);
        if (len > 2 && start[0] == '{' && start[len - 1] == '}') {
            const char *name = start + 1;
            size_t n = len - 2;
            if (owner_parameter(name, n, prev, pn) && !bound(a, r, name, n)) {
                gh__audit_find(a, "GH-AUTHZ-005", raised(r, GH_SEV_MEDIUM), i,
                               gh__audit_fmt(a, "routes[%d].auth", i), who,
                               "route '%s' (%s) takes {%.*s} from the path, and no claim rule "
                               "ties it to the token (auth.claims: {CLAIM: \"{path.%.*s}\"})",
                               r->name, gh__describe_auth(a, r), (int)n, name, (int)n, name);
                return;
            }
        }
        prev = start;
        pn = len;
        seg = start + len;
    }
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
    if (cors->any_origin && gh__route_authenticates(a, r))
        gh__audit_find(a, "GH-CORS-002", raised(r, GH_SEV_LOW), i, key, who,
                       "route '%s' (%s) grants CORS to any origin", r->name, gh__describe_auth(a, r));
}

/* Sessions open to every page on a route that knows its callers: the gateway's Origin check,
 * the only defence against cross-site WebSocket hijacking, is off. */
static void check_websocket(gh_audit *a, const gh_route_conf *r, int i, const char *who)
{
    if (!r->websocket || !r->websocket->any_origin || !gh__route_authenticates(a, r))
        return;
    gh__audit_find(a, "GH-WS-001", raised(r, GH_SEV_MEDIUM), i,
                   gh__audit_fmt(a, "routes[%d].websocket.origins", i), who,
                   "route '%s' (%s) accepts WebSocket handshakes from any page", r->name,
                   gh__describe_auth(a, r));
}

static void check_token_forwarding(gh_audit *a, const gh_route_conf *r, int i, const char *who)
{
    if (!gh__route_proof(a, r, GH_PROOF_TOKEN) || !r->forward_authorization || !r->upstream)
        return;
    bool plain_remote = false;
    for (size_t k = 0; k < r->upstream->nendpoints; k++)
        plain_remote |= !r->upstream->endpoints[k].tls && gh__endpoint_remote(&r->upstream->endpoints[k]);
    gh__audit_find(a, "GH-IDP-007", plain_remote ? GH_SEV_MEDIUM : GH_SEV_LOW, i,
                   gh__audit_fmt(a, "routes[%d].forward.authorization", i), who,
                   "route '%s' passes the caller's token to '%s'%s", r->name, r->upstream->name,
                   plain_remote ? " over plain HTTP" : "");
}

/* Every fault is reported: on every request, or (one level lower) on those carrying a header. */
static void check_faults(gh_audit *a, const gh_route_conf *r, int i, const char *who)
{
    for (const gh_stage_fact *f = NULL; (f = gh__route_next(a, r, f, GH_FACT_FAULT));) {
        bool gated = f->all.n > 0;
        gh__audit_find(a, "GH-FAULT-001", raised(r, gated ? GH_SEV_LOW : GH_SEV_MEDIUM), i,
                       gh__audit_fmt(a, "routes[%d].%s", i, f->at), who,
                       "route '%s' injects faults: %s%s%s", r->name, f->detail,
                       gated ? " that carry " : "", gated ? f->all.at[0] : "");
    }
}

/* Shadow mode and client-chosen keys, once per limit that a route uses; critical users raise. */
static void check_limit_definitions(gh_audit *a)
{
    const gh_config *c = a->c;
    for (size_t l = 0; l < c->nrate_limits; l++) {
        const gh_rate_limit_conf *lim = &c->rate_limits[l];
        bool used = false, critical = false;
        for (size_t i = 0; i < c->nroutes; i++)
            if (gh__route_uses(a, &c->routes[i], GH_FACT_LIMIT, lim->name)) {
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
        check_object_ownership(a, r, i, who);
        check_limits_and_body(a, r, i, who);
        check_cors(a, r, i, who);
        check_websocket(a, r, i, who);
        check_token_forwarding(a, r, i, who);
        check_faults(a, r, i, who);
    }
    check_limit_definitions(a);
}
