/* upstreams: and routes: sections, and the check for routes that can never match. */
#include <stdio.h>
#include <string.h>

#include "config/config_internal.h"
#include "wire/host.h"
#include "wire/h1.h"
#include "route/route.h"

/* Names appear in logs and metric labels: a small alphabet keeps both unambiguous. */
bool gh__cfg_name_ok(const char *name)
{
    bool ok = name[0] != '\0' && strlen(name) <= 64;
    for (const char *ch = name; *ch; ch++)
        ok &= (*ch >= 'a' && *ch <= 'z') || (*ch >= 'A' && *ch <= 'Z') ||
              (*ch >= '0' && *ch <= '9') || *ch == '-' || *ch == '_' || *ch == '.';
    return ok;
}

uint64_t gh__cfg_listener_id(const char *name)
{
    uint64_t h = 14695981039346656037ull;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return h ? h : 1; /* 0 is "no listener" */
}

/* The listener called name (its name, or its address as written), or NULL after reporting at n
 * (with the closest name). */
static const gh_listener_conf *listener_named(gh_walk *w, yaml_node_t *n, const gh_config *c,
                                              const char *name)
{
    const char *near = NULL;
    size_t best = 3;
    for (size_t k = 0; k < c->nlisteners; k++) {
        const char *lname = c->listeners[k].name;
        if (!lname)
            continue;
        if (strcmp(lname, name) == 0 ||
            (c->listeners[k].address && strcmp(c->listeners[k].address, name) == 0))
            return &c->listeners[k];
        size_t d = gh_edit_distance(lname, name, 2);
        if (d < best) {
            best = d;
            near = lname;
        }
    }
    if (near)
        gh__walk_error(w, n, "no listener is named '%s'; did you mean '%s'?", name, near);
    else
        gh__walk_error(w, n, "no listener is named '%s' (a listener's name, or its address as written)",
                       name);
    return NULL;
}

void gh__cfg_load_route_listeners(gh_walk *w, yaml_node_t *n, gh_config *c, gh_route_conf *r)
{
    size_t count = 0;
    yaml_node_item_t *items = gh__walk_items(w, n, &count);
    if (!items)
        return;
    if (count == 0 || count > 16) {
        gh__walk_error(w, n, "between 1 and 16 listeners (leave listeners out to serve the route "
                             "on all)");
        return;
    }
    uint64_t *ids = gh_arena_zalloc(&c->arena, count * sizeof(*ids));
    for (size_t i = 0; ids && i < count; i++) {
        yaml_node_t *item = gh__walk_node(w, items[i]);
        const char *name;
        size_t at = gh__walk_push_index(w, i);
        const gh_listener_conf *l = gh__walk_str(w, item, &name) ? listener_named(w, item, c, name) : NULL;
        if (l)
            ids[r->nlistener_ids++] = l->id;
        gh__walk_pop(w, at);
    }
    r->listener_ids = ids;
}

static const char *const method_names[] = {"GET",   "HEAD",   "POST",    "PUT",
                                           "PATCH", "DELETE", "OPTIONS", NULL};

unsigned gh__cfg_methods(gh_walk *w, yaml_node_t *v)
{
    size_t count;
    unsigned methods = 0;
    yaml_node_item_t *items = gh__walk_items(w, v, &count);
    for (size_t i = 0; items && i < count; i++) {
        size_t inner = gh__walk_push_index(w, i);
        yaml_node_t *item = gh__walk_node(w, items[i]);
        const char *name = item && item->type == YAML_SCALAR_NODE ? (const char *)item->data.scalar.value : "";
        int m = strcmp(name, "TRACE") == 0 || strcmp(name, "CONNECT") == 0 ? -1 : 0;
        if (m < 0)
            gh__walk_error(w, item, "%s is never accepted: TRACE reflects requests (credentials "
                                    "included) and CONNECT opens tunnels", name);
        else if ((m = gh__walk_enum(w, item, method_names)) >= 0)
            methods |= 1u << m;
        gh__walk_pop(w, inner);
    }
    if (items && count == 0)
        gh__walk_error(w, v, "at least one method (omit methods to allow all)");
    if (methods & GH_M_GET)
        methods |= GH_M_HEAD;
    return methods;
}

static void load_endpoint(gh_walk *w, yaml_node_t *n, gh_arena *a, gh_endpoint_conf *e)
{
    const char *url;
    if (!gh__walk_str(w, n, &url))
        return;
    e->url = url;
    e->tls = strncmp(url, "https://", 8) == 0;
    if (strncmp(url, "http://", 7) != 0 && !e->tls) {
        gh__walk_error(w, n, "'%s': endpoints are http://host:port or https://host:port", url);
        return;
    }
    const char *auth = url + (e->tls ? 8 : 7);
    size_t len = strcspn(auth, "/?#");
    if (auth[len] != '\0' && strcmp(auth + len, "/") != 0) {
        gh__walk_error(w, n, "'%s': an endpoint has no path; routes decide the path", url);
        return;
    }
    e->authority = gh_arena_strndup(a, auth, len);
    if (!e->authority || strchr(e->authority, '@') ||
        gh_parse_hostport(e->authority, &e->addr) != 0) {
        gh__walk_error(w, n, "'%s': expected %s://host:port with a resolvable host", url,
                       e->tls ? "https" : "http");
        return;
    }
    e->host = gh__cfg_host_of(a, e->authority);
}

static void load_upstream(gh_walk *w, yaml_node_t *n, gh_config *c, gh_upstream_conf *u)
{
    static const char *const keys[] = {"endpoints", "max_concurrency", "connect_timeout",
                                       "timeout",   "keepalive",       "tls",
                                       NULL};
    u->max_concurrency = 1024;
    u->connect_timeout_ms = 2000;
    u->timeout_ms = 30000;
    u->keepalive_max_idle = UINT32_MAX; /* unset: as many as may be in flight (below) */
    u->keepalive_idle_timeout_ms = 60000;
    if (!gh__walk_keys(w, n, keys))
        return;
    yaml_node_t *v;
    uint64_t x;
    size_t saved = gh__walk_push_key(w, "endpoints");
    size_t count = 0;
    yaml_node_item_t *items = NULL;
    if (!(v = gh__walk_get(w, n, "endpoints")))
        gh__walk_error(w, n, "required");
    else if ((items = gh__walk_items(w, v, &count)) && (count == 0 || count > 64))
        gh__walk_error(w, v, "between 1 and 64 endpoints");
    if (items && count && count <= 64) {
        u->endpoints = gh_arena_zalloc(&c->arena, count * sizeof(*u->endpoints));
        u->nendpoints = count;
        for (size_t i = 0; i < count; i++) {
            size_t inner = gh__walk_push_index(w, i);
            load_endpoint(w, gh__walk_node(w, items[i]), &c->arena, &u->endpoints[i]);
            gh__walk_pop(w, inner);
        }
    }
    gh__walk_pop(w, saved);
#define GH_FIELD(map, key, parse, min, max, field)                                                 \
    if ((v = gh__walk_get(w, map, key))) {                                                         \
        saved = gh__walk_push_key(w, key);                                                         \
        if (parse(w, v, min, max, &x))                                                             \
            field = x;                                                                             \
        gh__walk_pop(w, saved);                                                                    \
    }
    GH_FIELD(n, "max_concurrency", gh__walk_uint, 1, 1000000, u->max_concurrency)
    GH_FIELD(n, "connect_timeout", gh__walk_duration_ms, 1, 600000, u->connect_timeout_ms)
    GH_FIELD(n, "timeout", gh__walk_duration_ms, 1, 86400000, u->timeout_ms)
    yaml_node_t *ka_node = gh__walk_get(w, n, "keepalive");
    if (ka_node) {
        static const char *const ka_keys[] = {"max_idle", "idle_timeout", NULL};
        size_t ka = gh__walk_push_key(w, "keepalive");
        if (gh__walk_keys(w, ka_node, ka_keys)) {
            GH_FIELD(ka_node, "max_idle", gh__walk_uint, 0, 100000, u->keepalive_max_idle)
            GH_FIELD(ka_node, "idle_timeout", gh__walk_duration_ms, 100, 86400000,
                     u->keepalive_idle_timeout_ms)
        }
        gh__walk_pop(w, ka);
    }
#undef GH_FIELD
    /* A pool smaller than the concurrency closes connections a burst is about to need again;
     * idle_timeout reaps what a quiet period leaves. */
    if (u->keepalive_max_idle == UINT32_MAX)
        u->keepalive_max_idle = u->max_concurrency;
    bool any_tls = false;
    for (size_t i = 0; i < u->nendpoints; i++)
        any_tls |= u->endpoints[i].tls;
    yaml_node_t *tls = gh__walk_get(w, n, "tls");
    saved = gh__walk_push_key(w, "tls");
    if (tls && !any_tls)
        gh__walk_error(w, tls, "tls applies to https:// endpoints, and this upstream has none");
    else if (any_tls)
        gh__cfg_load_upstream_tls(w, tls, n, c, u);
    gh__walk_pop(w, saved);
}

void gh__cfg_load_upstreams(gh_walk *w, yaml_node_t *n, gh_config *c, gh_upstream_registry *reg)
{
    if (!n || n->type != YAML_MAPPING_NODE) {
        gh__walk_error(w, n, "expected a mapping of upstream names");
        return;
    }
    size_t count = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    c->upstreams = gh_arena_zalloc(&c->arena, (count ? count : 1) * sizeof(*c->upstreams));
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        gh_upstream_conf *u = &c->upstreams[c->nupstreams];
        yaml_node_t *kn = gh__walk_node(w, p->key);
        if (!gh__walk_str(w, kn, &u->name))
            continue;
        if (!gh__cfg_name_ok(u->name))
            gh__walk_error(w, kn,
                           "upstream names use letters, digits, '-', '_' and '.', at most 64");
        for (size_t j = 0; j < c->nupstreams; j++)
            if (strcmp(c->upstreams[j].name, u->name) == 0)
                gh__walk_error(w, gh__walk_node(w, p->key), "duplicate upstream '%s'", u->name);
        size_t saved = gh__walk_push_key(w, u->name);
        load_upstream(w, gh__walk_node(w, p->value), c, u);
        gh__walk_pop(w, saved);
        if (reg)
            u->state = gh_upstream_state_get(reg, u->name);
        c->nupstreams++;
    }
}

/* A path: "/exact", or a template whose {param} are whole segments. */
static void load_path(gh_walk *w, yaml_node_t *v, gh_route_conf *r, bool prefix)
{
    const char *p;
    if (!gh__walk_str(w, v, &p))
        return;
    r->path = p;
    r->path_len = strlen(p);
    r->path_kind = prefix ? GH_PATH_PREFIX : GH_PATH_EXACT;
    if (p[0] != '/') {
        gh__walk_error(w, v, "'%s' must start with /", p);
        return;
    }
    for (const char *c = p; *c; c++) {
        unsigned char ch = (unsigned char)*c;
        if (ch <= 0x20 || ch >= 0x7f || ch == '?' || ch == '#' || ch == '%' || ch == '\\') {
            gh__walk_error(w, v, "'%s' has a character a canonical path cannot hold at offset %zu",
                           p, (size_t)(c - p));
            return;
        }
        if (ch == '{') {
            const char *close = strchr(c, '}');
            if (prefix || c[-1] != '/' || !close || close == c + 1 ||
                (close[1] != '\0' && close[1] != '/')) {
                gh__walk_error(w, v, "'%s': a {param} must be a whole segment of a path", p);
                return;
            }
            r->path_kind = GH_PATH_TEMPLATE;
            c = close;
        } else if (ch == '}') {
            gh__walk_error(w, v, "'%s': unbalanced }", p);
            return;
        }
    }
    if (strstr(p, "//") || strstr(p, "/./") || strstr(p, "/../"))
        gh__walk_error(w, v, "'%s' is not canonical: requests are matched after normalization", p);
    if (prefix && r->path_len > 1 && p[r->path_len - 1] == '/')
        r->path_len--; /* segment-aware: "/admin/" and "/admin" mean the same prefix */
}

/* match.host in the canonical form requests are matched in (wire/host.h): lower case, no
 * trailing dot, no port; "*.example.com" keeps ".example.com" as the suffix. */
static void load_host(gh_walk *w, yaml_node_t *v, const char *h, gh_route_conf *r)
{
    bool wildcard = h[0] == '*';
    if (wildcard && (h[1] != '.' || h[2] == '\0' || strchr(h + 1, '*'))) {
        gh__walk_error(w, v, "a wildcard host is written *.example.com");
        return;
    }
    const char *name = wildcard ? h + 2 : h;
    gh_host parts;
    const char *err = gh_host_parse(name, strlen(name), &parts);
    if (!err && parts.port >= 0)
        err = "a port: routes match the host name whatever the port";
    if (err) {
        gh__walk_error(w, v, "'%s': %s", h, err);
        return;
    }
    char *canon = gh_arena_alloc(w->arena, GH_HOST_CANON_MAX + 2);
    if (!canon)
        return;
    size_t off = wildcard ? 1 : 0;
    canon[0] = '.';
    canon[off + gh_host_canon(name, &parts, canon + off)] = '\0';
    r->host = canon;
    r->host_wildcard = wildcard;
}

static void load_match(gh_walk *w, yaml_node_t *n, gh_route_conf *r)
{
    static const char *const keys[] = {"host", "path", "prefix", "methods", "case_insensitive", NULL};
    static const char *const no_yes[] = {"false", "true", NULL};
    if (!gh__walk_keys(w, n, keys))
        return;
    yaml_node_t *v, *path = gh__walk_get(w, n, "path"), *prefix = gh__walk_get(w, n, "prefix");
    size_t saved;
    if ((v = gh__walk_get(w, n, "host"))) {
        saved = gh__walk_push_key(w, "host");
        const char *h;
        if (gh__walk_str(w, v, &h))
            load_host(w, v, h, r);
        gh__walk_pop(w, saved);
    }
    if (!!path == !!prefix)
        gh__walk_error(w, n, "exactly one of path and prefix");
    saved = gh__walk_push_key(w, path ? "path" : "prefix");
    if (path || prefix)
        load_path(w, path ? path : prefix, r, prefix != NULL);
    gh__walk_pop(w, saved);
    if ((v = gh__walk_get(w, n, "case_insensitive"))) {
        saved = gh__walk_push_key(w, "case_insensitive");
        r->path_nocase = gh__walk_enum(w, v, no_yes) == 1;
        gh__walk_pop(w, saved);
    }
    r->methods = GH_M_ALL;
    if ((v = gh__walk_get(w, n, "methods"))) {
        saved = gh__walk_push_key(w, "methods");
        r->methods = gh__cfg_methods(w, v);
        gh__walk_pop(w, saved);
    }
}

static void load_respond(gh_walk *w, yaml_node_t *n, gh_arena *a, gh_route_conf *r)
{
    static const char *const keys[] = {"status", "headers", "body", NULL};
    r->respond_status = 200;
    r->respond_body = "";
    if (!gh__walk_keys(w, n, keys))
        return;
    yaml_node_t *v;
    size_t saved;
    uint64_t status;
    if ((v = gh__walk_get(w, n, "status"))) {
        saved = gh__walk_push_key(w, "status");
        if (gh__walk_uint(w, v, 200, 599, &status))
            r->respond_status = (int)status;
        gh__walk_pop(w, saved);
    }
    if ((v = gh__walk_get(w, n, "body"))) {
        saved = gh__walk_push_key(w, "body");
        gh__walk_str(w, v, &r->respond_body);
        gh__walk_pop(w, saved);
    }
    r->respond_body_len = strlen(r->respond_body);
    if (r->respond_body_len && (r->respond_status == 204 || r->respond_status == 304)) {
        saved = gh__walk_push_key(w, "body");
        gh__walk_error(w, gh__walk_get(w, n, "body"), "a 204 or 304 response has no body");
        gh__walk_pop(w, saved);
    }
    if (!(v = gh__walk_get(w, n, "headers")))
        return;
    saved = gh__walk_push_key(w, "headers");
    if (v->type != YAML_MAPPING_NODE) {
        gh__walk_error(w, v, "expected a mapping of header names to values");
    } else {
        size_t count = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
        r->respond_headers = gh_arena_zalloc(a, (count ? count : 1) * sizeof(gh_header_conf));
        for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top;
             p++) {
            gh_header_conf *h = &r->respond_headers[r->nrespond_headers];
            yaml_node_t *kn = gh__walk_node(w, p->key), *vn = gh__walk_node(w, p->value);
            if (!gh__walk_str(w, kn, &h->name) || !gh__walk_str(w, vn, &h->value))
                continue;
            bool ok = h->name[0] != '\0';
            for (const char *c = h->name; *c; c++)
                ok &= gh_h1_is_tchar((unsigned char)*c);
            for (const char *c = h->value; *c; c++)
                ok &= (unsigned char)*c >= 0x20 && *c != 0x7f;
            if (!ok)
                gh__walk_error(w, kn, "'%s' is not a valid header field", h->name);
            if (strcasecmp(h->name, "content-length") == 0 ||
                strcasecmp(h->name, "transfer-encoding") == 0 ||
                strcasecmp(h->name, "connection") == 0)
                gh__walk_error(w, kn, "'%s' is set by the gateway", h->name);
            r->nrespond_headers++;
        }
    }
    gh__walk_pop(w, saved);
}

static void load_action(gh_walk *w, yaml_node_t *n, gh_config *c, gh_route_conf *r)
{
    yaml_node_t *up = gh__walk_get(w, n, "upstream"), *respond = gh__walk_get(w, n, "respond");
    if (!!up == !!respond) {
        gh__walk_error(w, n, "exactly one of upstream and respond");
        return;
    }
    size_t saved = gh__walk_push_key(w, up ? "upstream" : "respond");
    const char *name;
    if (respond) {
        load_respond(w, respond, &c->arena, r);
    } else if (gh__walk_str(w, up, &name)) {
        for (size_t i = 0; i < c->nupstreams; i++)
            if (strcmp(c->upstreams[i].name, name) == 0)
                r->upstream = &c->upstreams[i];
        if (!r->upstream)
            gh__walk_error(w, up, "no upstream named '%s'", name);
    }
    gh__walk_pop(w, saved);
}

/* The provider named by the scalar n in list (of count, each elem bytes apart, its name
 * first), or NULL after reporting. */
static const void *provider_named(gh_walk *w, yaml_node_t *n, const void *list, size_t count,
                                  size_t elem, const char *section)
{
    const char *name;
    if (!gh__walk_str(w, n, &name))
        return NULL;
    for (size_t i = 0; i < count; i++) {
        const void *p = (const char *)list + i * elem;
        if (strcmp(*(const char *const *)p, name) == 0)
            return p;
    }
    gh__walk_error(w, n, "no provider identity.%s.%s", section, name);
    return NULL;
}

/* The authentication stages of a route, in order: the client certificate, its bearer token,
 * then its API key. */
static void load_authentication(gh_walk *w, yaml_node_t *v, gh_config *c, gh_route_conf *r,
                                yaml_node_t *jwt, yaml_node_t *intro, yaml_node_t *key)
{
    if (jwt && intro) {
        gh__walk_error(w, v, "one bearer token per request: jwt or introspection, not both");
        return;
    }
    size_t saved;
    yaml_node_t *mtls = gh__walk_get(w, v, "mtls");
    if (mtls) { /* the connection's certificate first: the cheapest check */
        saved = gh__walk_push_key(w, "mtls");
        r->auth_mtls = gh__cfg_load_mtls_rule(w, mtls, c);
        gh__walk_pop(w, saved);
    }
    if (intro) {
        saved = gh__walk_push_key(w, "introspection");
        r->auth_token = provider_named(w, intro, c->introspection_providers,
                                       c->nintrospection_providers, sizeof(gh_jwt_provider),
                                       "introspection");
        gh__walk_pop(w, saved);
    }
    if (jwt) {
        saved = gh__walk_push_key(w, "jwt");
        r->auth_token = provider_named(w, jwt, c->jwt_providers, c->njwt_providers,
                                     sizeof(gh_jwt_provider), "jwt");
        gh__walk_pop(w, saved);
    }
    yaml_node_t *hmac = gh__walk_get(w, v, "hmac");
    if (hmac) { /* the body is read whole first: the signature covers it */
        saved = gh__walk_push_key(w, "hmac");
        r->auth_hmac = provider_named(w, hmac, c->hmac_providers, c->nhmac_providers,
                                      sizeof(gh_hmac_provider), "hmac");
        gh__walk_pop(w, saved);
    }
    if (key) {
        saved = gh__walk_push_key(w, "api_key");
        r->auth_api_key = provider_named(w, key, c->api_key_providers, c->napi_key_providers,
                                         sizeof(gh_api_key_provider), "api_keys");
        gh__walk_pop(w, saved);
    }
}

/* auth: none, or {jwt: provider} or {introspection: provider}, and/or {api_key: provider}
 * (all given must pass), then the authorization rules. */
static void load_auth(gh_walk *w, yaml_node_t *v, gh_config *c, gh_route_conf *r)
{
    if (v->type == YAML_SCALAR_NODE && strcmp((char *)v->data.scalar.value, "none") == 0)
        return;
    static const char *const keys[] = {"jwt",    "introspection", "api_key", "mtls", "hmac",
                                       "scopes", "scopes_any",    "claims",  "policy", "mode",
                                       NULL};
    if (v->type != YAML_MAPPING_NODE) {
        gh__walk_error(w, v, "expected 'none' or {jwt: PROVIDER, api_key: PROVIDER}");
        return;
    }
    if (!gh__walk_keys(w, v, keys))
        return;
    yaml_node_t *jwt = gh__walk_get(w, v, "jwt"), *key = gh__walk_get(w, v, "api_key");
    yaml_node_t *intro = gh__walk_get(w, v, "introspection");
    if (!jwt && !key && !intro && !gh__walk_get(w, v, "mtls") && !gh__walk_get(w, v, "hmac")) {
        gh__walk_error(w, v, "an authentication method is required: jwt, introspection, api_key, mtls, hmac");
        return;
    }
    load_authentication(w, v, c, r, jwt, intro, key);
    gh__cfg_load_authz(w, v, c, r);
}



bool gh__cfg_header_name_ok(const char *name)
{
    bool ok = name[0] != '\0';
    for (const char *ch = name; *ch; ch++)
        ok &= gh_h1_is_tchar((unsigned char)*ch);
    return ok;
}

/* forward: {claims: {claim: Header-Name}, authorization: keep | drop,
 *           api_key_client: Header-Name, client_cert: true | false}. */
static void load_forward(gh_walk *w, yaml_node_t *n, gh_config *c, gh_route_conf *r)
{
    static const char *const keys[] = {"claims", "authorization", "api_key_client", "client_cert", NULL},
                             *const modes[] = {"keep", "drop", NULL};
    if (!gh__walk_keys(w, n, keys))
        return;
    yaml_node_t *v;
    size_t saved;
    if ((v = gh__walk_get(w, n, "api_key_client"))) {
        saved = gh__walk_push_key(w, "api_key_client");
        if (gh__walk_str(w, v, &r->forward_api_client) && !gh__cfg_header_name_ok(r->forward_api_client))
            gh__walk_error(w, v, "'%s' is not a header name", r->forward_api_client);
        else if (!r->auth_api_key)
            gh__walk_error(w, v, "only on a route with auth: {api_key: …}");
        gh__walk_pop(w, saved);
    }
    if ((v = gh__walk_get(w, n, "client_cert"))) {
        static const char *const yes_no[] = {"false", "true", NULL};
        saved = gh__walk_push_key(w, "client_cert");
        r->forward_client_cert = gh__walk_enum(w, v, yes_no) == 1;
        gh__walk_pop(w, saved);
    }
    if ((v = gh__walk_get(w, n, "authorization"))) {
        saved = gh__walk_push_key(w, "authorization");
        r->forward_authorization = gh__walk_enum(w, v, modes) != 1;
        gh__walk_pop(w, saved);
    }
    if (!(v = gh__walk_get(w, n, "claims")))
        return;
    saved = gh__walk_push_key(w, "claims");
    if (v->type != YAML_MAPPING_NODE) {
        gh__walk_error(w, v, "expected a mapping of claim names to header names");
    } else {
        size_t count = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
        r->forward_claims = gh_arena_zalloc(&c->arena, (count ? count : 1) * sizeof(gh_forward_claim));
        for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
            gh_forward_claim *f = &r->forward_claims[r->nforward_claims];
            yaml_node_t *vn = gh__walk_node(w, p->value);
            if (!gh__walk_str(w, gh__walk_node(w, p->key), &f->claim) || !gh__walk_str(w, vn, &f->header))
                continue;
            if (!gh__cfg_header_name_ok(f->header))
                gh__walk_error(w, vn, "'%s' is not a header name", f->header);
            r->nforward_claims++;
        }
    }
    gh__walk_pop(w, saved);
}

static void load_route(gh_walk *w, yaml_node_t *n, gh_config *c, gh_route_conf *r)
{
    static const char *const keys[] = {"name",    "match",   "auth",    "forward", "rate_limit",
                                       "upstream", "respond", "headers", "cors",    "body",
                                       "tags",     "critical", "audit",  "listeners",
                                       NULL};
    if (!gh__walk_keys(w, n, keys))
        return;
    yaml_node_t *v;
    size_t saved = gh__walk_push_key(w, "name");
    if (!(v = gh__walk_get(w, n, "name"))) {
        gh__walk_error(w, n, "required: routes are named in logs and metrics");
    } else if (gh__walk_str(w, v, &r->name) && !gh__cfg_name_ok(r->name)) {
        gh__walk_error(w, v, "names use letters, digits, '-', '_' and '.', at most 64");
    }
    gh__walk_pop(w, saved);
    saved = gh__walk_push_key(w, "match");
    if (!(v = gh__walk_get(w, n, "match")))
        gh__walk_error(w, n, "required");
    else
        load_match(w, v, r);
    gh__walk_pop(w, saved);
    GH_CFG_FIELD(w, n, "listeners", false, gh__cfg_load_route_listeners(w, v, c, r))
    saved = gh__walk_push_key(w, "auth");
    if (!(v = gh__walk_get(w, n, "auth")))
        gh__walk_error(w, n, "required: write 'auth: none' for a public route");
    else
        load_auth(w, v, c, r);
    gh__walk_pop(w, saved);
    GH_CFG_FIELD(w, n, "rate_limit", false, gh__cfg_load_route_limits(w, v, c, r))
    r->forward_authorization = true;
    GH_CFG_FIELD(w, n, "forward", false, load_forward(w, v, c, r))
    GH_CFG_FIELD(w, n, "headers", false, gh__cfg_load_headers(w, v, c, &r->headers, false))
    GH_CFG_FIELD(w, n, "cors", false, gh__cfg_load_cors(w, v, c, r))
    GH_CFG_FIELD(w, n, "body", false, gh__cfg_load_body(w, v, c, r))
    load_action(w, n, c, r);
    gh__cfg_load_route_meta(w, n, c, r);
}

void gh__cfg_load_routes(gh_walk *w, yaml_node_t *n, gh_config *c)
{
    size_t count;
    yaml_node_item_t *items = gh__walk_items(w, n, &count);
    if (!items)
        return;
    if (count == 0) {
        gh__walk_error(w, n, "at least one route");
        return;
    }
    c->routes = gh_arena_zalloc(&c->arena, count * sizeof(*c->routes));
    c->nroutes = count;
    for (size_t i = 0; i < count; i++) {
        size_t saved = gh__walk_push_index(w, i);
        yaml_node_t *item = gh__walk_node(w, items[i]);
        load_route(w, item, c, &c->routes[i]);
        for (size_t j = 0; j < i && c->routes[i].name; j++)
            if (c->routes[j].name && strcmp(c->routes[j].name, c->routes[i].name) == 0)
                gh__walk_error(w, item, "route name '%s' is also routes[%zu]", c->routes[i].name,
                               j);
        gh__walk_pop(w, saved);
    }
    gh__cfg_collect_owned_headers(c);
}

static bool host_covers(const gh_route_conf *a, const gh_route_conf *b)
{
    if (!a->host)
        return true;
    if (!b->host)
        return false;
    if (!a->host_wildcard)
        return !b->host_wildcard && strcasecmp(a->host, b->host) == 0;
    size_t al = strlen(a->host), bl = strlen(b->host);
    return bl >= al && strcasecmp(b->host + bl - al, a->host) == 0;
}

/* a is served wherever b is. */
static bool listeners_cover(const gh_route_conf *a, const gh_route_conf *b)
{
    if (!b->nlistener_ids)
        return !a->nlistener_ids;
    for (size_t i = 0; i < b->nlistener_ids; i++)
        if (!gh_route_on_listener(a, b->listener_ids[i]))
            return false;
    return true;
}

static bool path_covers(const gh_route_conf *a, const gh_route_conf *b)
{
    if (a->path_kind == GH_PATH_EXACT)
        return b->path_kind == GH_PATH_EXACT && strcmp(a->path, b->path) == 0;
    if (a->path_kind != GH_PATH_PREFIX)
        return false;
    if (a->path_len == 1)
        return true;
    return strncmp(a->path, b->path, a->path_len) == 0 &&
           (b->path[a->path_len] == '\0' || b->path[a->path_len] == '/');
}

void gh__cfg_check_shadowing(gh_walk *w, yaml_node_t *routes, const gh_config *c)
{
    yaml_node_item_t *items = routes->data.sequence.items.start;
    for (size_t j = 1; j < c->nroutes; j++) {
        const gh_route_conf *b = &c->routes[j];
        for (size_t i = 0; i < j; i++) {
            const gh_route_conf *a = &c->routes[i];
            if ((a->methods & b->methods) == b->methods && listeners_cover(a, b) &&
                host_covers(a, b) && path_covers(a, b)) {
                size_t saved = gh__walk_push_index(w, j);
                gh__walk_warn(w, gh__walk_node(w, items[j]),
                              "route '%s' can never match: routes[%zu] ('%s') takes every request "
                              "it would",
                              b->name, i, a->name);
                gh__walk_pop(w, saved);
                break;
            }
        }
    }
}
