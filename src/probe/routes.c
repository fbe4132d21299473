/* What the cases aim at: for each route of the configuration a concrete request that matches
 * it (a path with its parameters filled, a Host, a method), and the listener that serves it.
 * Live without a configuration, the paths the operator named stand for routes of their own. */
#include <string.h>

#include "probe/probe_internal.h"

#define PARAM_VALUE "probe-a" /* what a path's {name} becomes; gh_probe_claims binds the same */

static const char *method_of(gh_probe *p, unsigned methods, bool *safe)
{
    static const struct {
        unsigned bit;
        const char *name;
    } order[] = {{GH_M_GET, "GET"},     {GH_M_HEAD, "HEAD"},     {GH_M_POST, "POST"},
                 {GH_M_PUT, "PUT"},     {GH_M_PATCH, "PATCH"},   {GH_M_DELETE, "DELETE"},
                 {GH_M_OPTIONS, "OPTIONS"}};
    (void)p;
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
        if (methods & order[i].bit) {
            *safe = order[i].bit & (GH_M_GET | GH_M_HEAD | GH_M_OPTIONS);
            return order[i].name;
        }
    *safe = true;
    return "GET";
}

/* A path the route matches: the exact path, a child of the prefix, the template filled. */
static const char *path_of(gh_probe *p, const gh_route_conf *r)
{
    if (r->path_kind == GH_PATH_EXACT)
        return r->path;
    if (r->path_kind == GH_PATH_PREFIX) {
        size_t n = strlen(r->path);
        return gh_arena_printf(&p->arena, "%s%sprobe", r->path, n && r->path[n - 1] == '/' ? "" : "/");
    }
    const char *s = r->path, *out = "";
    while (*s) {
        const char *open = strchr(s, '{'), *close = open ? strchr(open, '}') : NULL;
        if (!open || !close) {
            out = gh_arena_printf(&p->arena, "%s%s", out, s);
            break;
        }
        out = gh_arena_printf(&p->arena, "%s%.*s" PARAM_VALUE, out, (int)(open - s), s);
        s = close + 1;
    }
    return out;
}

static bool serves(const gh_route_conf *r, const gh_probe_target *t)
{
    if (!t->listener || r->nlistener_ids == 0)
        return true;
    for (size_t k = 0; k < r->nlistener_ids; k++)
        if (r->listener_ids[k] == t->listener->id)
            return true;
    return false;
}

/* The target of the first listener that serves the route (every listener when it names none),
 * or of the first TLS one. */
static const gh_probe_target *target_of(gh_probe *p, const gh_route_conf *r, bool tls)
{
    for (size_t i = 0; i < p->ntargets; i++)
        if ((!tls || p->targets[i].tls) && serves(r, &p->targets[i]))
            return &p->targets[i];
    return tls || !p->ntargets ? NULL : &p->targets[0];
}

static const char *host_of(gh_probe *p, const gh_route_conf *r, const gh_probe_target *t)
{
    if (!r->host)
        return t->authority;
    if (r->host_wildcard) /* host holds ".example.com" */
        return gh_arena_printf(&p->arena, "probe%s", r->host);
    return r->host;
}

void gh_probe_routes_build(gh_probe *p)
{
    size_t n = p->conf ? p->conf->nroutes : p->npaths;
    p->routes = n ? gh_arena_alloc(&p->arena, n * sizeof(*p->routes)) : NULL;
    p->nroutes = 0;
    for (size_t i = 0; i < n && p->ntargets; i++) {
        gh_probe_route *pr = &p->routes[p->nroutes];
        *pr = (gh_probe_route){0};
        if (!p->conf) {
            pr->target = &p->targets[0];
            pr->tls_target = pr->target->tls ? pr->target : NULL;
            pr->path = p->paths[i];
            pr->host = pr->target->authority;
            pr->method = "GET";
            pr->safe = true;
            pr->proxied = true;
            p->nroutes++;
            continue;
        }
        const gh_route_conf *r = &p->conf->routes[i];
        pr->conf = r;
        pr->target = target_of(p, r, false);
        pr->tls_target = target_of(p, r, true);
        pr->path = path_of(p, r);
        pr->host = host_of(p, r, pr->target);
        pr->method = method_of(p, r->methods, &pr->safe);
        pr->body_method = r->methods & GH_M_POST    ? "POST"
                          : r->methods & GH_M_PUT   ? "PUT"
                          : r->methods & GH_M_PATCH ? "PATCH"
                                                    : NULL;
        pr->proxied = r->upstream != NULL;
        p->nroutes++;
    }
}

const gh_probe_route *gh_probe_route_writing(gh_probe *p, const gh_probe_route *route)
{
    if (route->method == route->body_method)
        return route;
    gh_probe_route *copy = gh_arena_alloc(&p->arena, sizeof(*copy));
    *copy = *route;
    copy->method = route->body_method;
    copy->safe = false;
    copy->baseline = 0;
    return copy;
}

const gh_probe_route *gh_probe_route_of(gh_probe *p, const gh_route_conf *conf)
{
    for (size_t i = 0; i < p->nroutes; i++)
        if (p->routes[i].conf == conf)
            return &p->routes[i];
    return NULL;
}

const gh_probe_route *gh_probe_find_route(gh_probe *p,
                                          bool (*want)(gh_probe *p, const gh_probe_route *r))
{
    for (size_t i = 0; i < p->nroutes; i++)
        if (want(p, &p->routes[i]))
            return &p->routes[i];
    return NULL;
}
