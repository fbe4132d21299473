/* The trust-boundary graph: who connects from where (internet, partners with client
 * certificates, the internal network), through which listener, to which route, passing which
 * controls, to which backend; and the services the gateway itself calls (identity providers,
 * Redis, policy servers). DOT and Mermaid render the same graph. */
#include <openssl/ssl.h>
#include <string.h>

#include "audit/audit_internal.h"
#include "route/route.h"
#include "core/json.h"

typedef struct builder {
    gh_audit *a;
    gh_graph *g;
    size_t node_cap, edge_cap;
} builder;

static void node(builder *b, const char *id, gh_zone zone, bool critical, const char *label)
{
    if (b->g->nnodes < b->node_cap)
        b->g->nodes[b->g->nnodes++] = (gh_graph_node){id, label, zone, critical};
}

static void edge(builder *b, const char *from, const char *to, const char *label, bool critical,
                 bool dashed)
{
    if (b->g->nedges < b->edge_cap)
        b->g->edges[b->g->nedges++] = (gh_graph_edge){from, to, label, critical, dashed};
}

const char *gh__zone_label(gh_zone z)
{
    static const char *const labels[GH_NZONES] = {"internet", "partners", "internal network",
                                                  "gatehouse", "backends", "services the gateway calls"};
    return labels[z];
}

/* The controls a request passes on its way to the route, as an edge label. */
static const char *route_controls(gh_audit *a, const gh_route_conf *r)
{
    const char *parts[3 * GH_MAX_FACTS + 1];
    size_t n = 0;
    parts[n++] = gh__route_authenticates(a, r) ? gh__describe_auth(a, r) : "no authentication";
    for (const gh_stage_fact *f = NULL; (f = gh__route_next(a, r, f, GH_FACT_AUTHORIZE));) {
        if (f->all.n || f->any.n)
            parts[n++] = f->shadow ? "scopes (shadow)" : "scopes";
        if (f->claims.n)
            parts[n++] = f->shadow ? "claims (shadow)" : "claims";
    }
    for (const gh_stage_fact *f = NULL; (f = gh__route_next(a, r, f, GH_FACT_AUTHENTICATE));)
        if (f->named)
            parts[n++] = gh__audit_fmt(a, "named %s", gh__proof_plural(f->proof));
    for (const gh_stage_fact *f = NULL; (f = gh__route_next(a, r, f, GH_FACT_POLICY));)
        parts[n++] = gh__fact_label(a, f);
    if (gh__route_count(a, r, GH_FACT_LIMIT))
        parts[n++] = "rate limit";
    for (const gh_stage_fact *f = NULL; (f = gh__route_next(a, r, f, GH_FACT_BODY));)
        if (f->validates)
            parts[n++] = "schema";
    char buf[512];
    gh_sbuf s = gh_sbuf_make(buf, sizeof(buf));
    for (size_t i = 0; i < n; i++) {
        if (i)
            gh_sbuf_adds(&s, ", ");
        gh_sbuf_adds(&s, parts[i]);
    }
    return gh__audit_fmt(a, "%.*s", (int)s.len, buf);
}

/* "name\nGET POST /path (prefix)\ncritical: money pii" ("\n": the labels' line break). */
static const char *route_label(gh_audit *a, const gh_route_conf *r)
{
    static const char *const names[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
    char buf[512];
    gh_sbuf b = gh_sbuf_make(buf, sizeof(buf));
    gh_sbuf_adds(&b, r->name);
    gh_sbuf_adds(&b, "\\n");
    if (r->methods == GH_M_ALL)
        gh_sbuf_adds(&b, "any method ");
    for (unsigned i = 0; i < 7 && r->methods != GH_M_ALL; i++)
        if ((r->methods & (1u << i)) && !(i == 1 && (r->methods & GH_M_GET))) { /* HEAD with GET */
            gh_sbuf_adds(&b, names[i]);
            gh_sbuf_adds(&b, " ");
        }
    gh_sbuf_adds(&b, r->path);
    if (r->path_kind == GH_PATH_PREFIX)
        gh_sbuf_adds(&b, " (prefix)");
    if (r->critical)
        gh_sbuf_adds(&b, r->ntags ? "\\ncritical:" : "\\ncritical");
    for (size_t i = 0; r->critical && i < r->ntags; i++) {
        gh_sbuf_adds(&b, " ");
        gh_sbuf_adds(&b, r->tags[i]);
    }
    return gh__audit_fmt(a, "%.*s", (int)b.len, buf);
}

static void add_clients(builder *b)
{
    gh_audit *a = b->a;
    bool zone_used[GH_NZONES] = {0};
    for (size_t i = 0; i < a->c->nlisteners; i++) {
        const gh_listener_conf *l = &a->c->listeners[i];
        gh_exposure e = gh__audit_exposure(&l->addr);
        zone_used[e == GH_EXPOSE_PUBLIC ? GH_ZONE_INTERNET : GH_ZONE_INTERNAL] = true;
        zone_used[GH_ZONE_PARTNER] |= l->client_auth != 0;
    }
    if (zone_used[GH_ZONE_INTERNET])
        node(b, "clients_internet", GH_ZONE_INTERNET, false, "Internet clients");
    if (zone_used[GH_ZONE_PARTNER])
        node(b, "clients_partner", GH_ZONE_PARTNER, false, "Partners with client certificates");
    if (zone_used[GH_ZONE_INTERNAL])
        node(b, "clients_internal", GH_ZONE_INTERNAL, false, "Internal clients");
    bool serves_unbound = false;
    for (size_t i = 0; i < a->c->nroutes; i++)
        serves_unbound |= a->c->routes[i].nlistener_ids == 0;
    for (size_t i = 0; i < a->c->nlisteners; i++) {
        const gh_listener_conf *l = &a->c->listeners[i];
        gh_exposure e = gh__audit_exposure(&l->addr);
        const char *id = gh__audit_fmt(a, "listener_%zu", i);
        node(b, id, GH_ZONE_GATEWAY, false, gh__describe_listener(a, l));
        const char *how = l->tls ? "TLS" : "plain HTTP";
        if (l->client_auth != 2)
            edge(b, e == GH_EXPOSE_PUBLIC ? "clients_internet" : "clients_internal", id, how, false,
                 !l->tls);
        if (l->client_auth)
            edge(b, "clients_partner", id, "mTLS", false, false);
        if (serves_unbound) /* routes bound to listeners hang off them directly */
            edge(b, id, "gateway", "", false, false);
    }
}

static void add_services(builder *b)
{
    gh_audit *a = b->a;
    const gh_config *c = a->c;
    for (size_t i = 0; i < c->njwt_providers; i++) {
        const gh_jwt_provider *p = &c->jwt_providers[i];
        if (!p->jwks_uri && !p->discovery_url)
            continue; /* keys in the file: nothing is fetched */
        const char *id = gh__audit_fmt(a, "idp_%zu", i);
        node(b, id, GH_ZONE_SERVICES, false,
             gh__audit_fmt(a, "identity provider %s\\n%s", p->name, p->jwks_uri ? p->jwks_uri : p->issuer));
        edge(b, "gateway", id, p->discovery_url ? "OIDC discovery, JWKS" : "JWKS", false, true);
    }
    for (size_t i = 0; i < c->nintrospection_providers; i++) {
        const gh_jwt_provider *p = &c->introspection_providers[i];
        const char *id = gh__audit_fmt(a, "introspection_%zu", i);
        node(b, id, GH_ZONE_SERVICES, false,
             gh__audit_fmt(a, "introspection %s\\n%s", p->name, p->introspect->url));
        edge(b, "gateway", id, "token introspection", false, true);
    }
    for (size_t i = 0; i < c->npolicies; i++) {
        const char *id = gh__audit_fmt(a, "policy_%zu", i);
        node(b, id, GH_ZONE_SERVICES, false,
             gh__audit_fmt(a, "policy %s\\n%s", c->policies[i].name, c->policies[i].url));
        edge(b, "gateway", id, c->policies[i].on_error_allow ? "decisions (fails open)" : "decisions",
             false, true);
    }
    if (c->redis) {
        node(b, "redis", GH_ZONE_SERVICES, false, gh__audit_fmt(a, "Redis\\n%s", c->redis->address));
        edge(b, "gateway", "redis", c->redis->tls ? "shared limits, TLS" : "shared limits, plain TCP",
             false, true);
    }
}

void gh__audit_graph(gh_audit *a, gh_graph *g)
{
    const gh_config *c = a->c;
    builder b = {.a = a, .g = g};
    b.node_cap = 4 + c->nlisteners + c->nroutes + c->nupstreams + c->njwt_providers +
                 c->nintrospection_providers + c->npolicies + 1;
    b.edge_cap = 3 * c->nlisteners + (1 + c->nlisteners) * c->nroutes + c->njwt_providers +
                 c->nintrospection_providers + c->npolicies + 1;
    *g = (gh_graph){.nodes = gh_arena_zalloc(&a->arena, b.node_cap * sizeof(gh_graph_node)),
                    .edges = gh_arena_zalloc(&a->arena, b.edge_cap * sizeof(gh_graph_edge))};
    if (!g->nodes || !g->edges) {
        b.node_cap = b.edge_cap = 0;
        return;
    }
    add_clients(&b);
    node(&b, "gateway", GH_ZONE_GATEWAY, false, "gatehouse");
    for (size_t i = 0; i < c->nupstreams; i++)
        node(&b, gh__audit_fmt(a, "upstream_%zu", i), GH_ZONE_BACKENDS,
             false, gh__audit_fmt(a, "%s\\n%s%s", c->upstreams[i].name, c->upstreams[i].endpoints[0].url,
                                  c->upstreams[i].nendpoints > 1 ? ", ..." : ""));
    for (size_t i = 0; i < c->nroutes; i++) {
        const gh_route_conf *r = &c->routes[i];
        const char *id = gh__audit_fmt(a, "route_%zu", i);
        node(&b, id, GH_ZONE_GATEWAY, r->critical, route_label(a, r));
        const char *controls = route_controls(a, r);
        if (!r->nlistener_ids)
            edge(&b, "gateway", id, controls, r->critical, false);
        for (size_t k = 0; r->nlistener_ids && k < c->nlisteners; k++)
            if (gh_route_on_listener(r, c->listeners[k].id))
                edge(&b, gh__audit_fmt(a, "listener_%zu", k), id, controls, r->critical, false);
        if (!r->upstream)
            continue;
        size_t u = (size_t)(r->upstream - c->upstreams);
        const char *how = gh__describe_upstream(a, r->upstream);
        const char *paren = strchr(how, '(');
        edge(&b, id, gh__audit_fmt(a, "upstream_%zu", u),
             paren ? gh__audit_fmt(a, "%.*s", (int)(strlen(paren) - 2), paren + 1) : how,
             r->critical, false);
    }
    add_services(&b);
}
