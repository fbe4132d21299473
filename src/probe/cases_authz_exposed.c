/* Authorization, what is exposed without credentials: administrative and internal paths, admin
 * APIs and status pages on the data listeners, and routes bound to other listeners tried on the
 * ones that do not serve them. A 2xx from an upstream (or anything forwarded, in self-test) fails;
 * the gateway's own configured answer (a respond: route) does not. */
#include <stdlib.h>
#include <string.h>

#include "probe/probe_internal.h"
#include "route/route.h"

#define OWASP_BFLA "API5:2023"

/* The configured listener behind t: its own, or live with -c the one whose port is t's. */
static const gh_listener_conf *listener_of(const gh_probe *p, const gh_probe_target *t)
{
    for (size_t i = 0; !t->listener && p->conf && i < p->conf->nlisteners; i++) {
        const char *colon = strrchr(p->conf->listeners[i].address, ':');
        if (colon && atoi(colon + 1) == t->port)
            return &p->conf->listeners[i];
    }
    return t->listener;
}

/* An unauthenticated GET of path on target: refused, or answered by the gateway itself (a
 * respond: route), never served by an upstream. */
static void unauthenticated_get(gh_probe *p, gh_probe_result *r, const gh_probe_target *t,
                                const char *path, const char *what)
{
    size_t len;
    const char *bytes = gh_probe_request(p, "GET", path, t->authority, NULL, NULL, &len);
    gh_probe_exchange x;
    if (gh_probe_send(p, r, t, bytes, len, &(gh_probe_opts){.responses = 1}, &x) != 0)
        return;
    int forwarded = gh_probe_upstream_note(p, r, NULL), status = x.nresponses ? x.r[0].status : 0;
    if (x.connect_failed) {
        gh_probe_error(r, "cannot connect to %s:%d", t->host, t->port);
        return;
    }
    const gh_route_conf *route = NULL;
    if (p->conf) {
        gh_route_match m;
        const char *host = t->authority;
        const gh_listener_conf *l = listener_of(p, t);
        if (gh_route_find(p->conf, l ? l->id : 0, host, strcspn(host, ":"), path,
                          strcspn(path, "?"), GH_M_GET, &m) == GH_R_OK)
            route = m.route;
    }
    bool own_answer = route && !route->upstream;
    if (forwarded > 0 || (status >= 200 && status < 300 && !own_answer)) {
        gh_probe_note(p, r, &x);
        if (route)
            gh_probe_aim(p, r, route);
        gh_probe_fail(r, "GET %s (%s) without credentials on %s:%d was %s (answered %d)", path,
                      what, t->host, t->port,
                      forwarded > 0 ? "forwarded to the upstream" : "served", status);
    } else {
        gh_probe_note(p, r, &x);
    }
}

static void probe_paths(gh_probe *p, gh_probe_result *r, const char *const *paths, size_t n,
                        const char *what)
{
    if (!p->ntargets) {
        gh_probe_skip(r, "no listener to aim at");
        return;
    }
    gh_probe_pass(r, "nothing tried yet");
    for (size_t t = 0; t < p->ntargets && r->verdict == GH_PV_PASS; t++)
        for (size_t i = 0; i < n && r->verdict == GH_PV_PASS; i++)
            unauthenticated_get(p, r, &p->targets[t], paths[i], what);
    if (r->verdict == GH_PV_PASS)
        gh_probe_pass(
            r, "%zu %s paths on %zu listener%s were refused or not found without credentials", n,
            what, p->ntargets, p->ntargets == 1 ? "" : "s");
}

/* Routes bound to some listeners (routes[].listeners), tried on the others without credentials. */
static size_t bound_routes_elsewhere(gh_probe *p, gh_probe_result *r)
{
    size_t tried = 0;
    for (size_t i = 0; i < p->nroutes && r->verdict == GH_PV_PASS; i++) {
        const gh_probe_route *route = &p->routes[i];
        for (size_t t = 0; route->conf && route->conf->nlistener_ids && t < p->ntargets &&
                           r->verdict == GH_PV_PASS;
             t++) {
            const gh_listener_conf *l = listener_of(p, &p->targets[t]);
            if (!l || gh_route_on_listener(route->conf, l->id))
                continue;
            unauthenticated_get(p, r, &p->targets[t], route->path,
                                gh_arena_printf(&p->arena, "route %s, bound to other listeners",
                                                route->conf->name));
            tried++;
        }
    }
    return tried;
}

static void hidden_paths(gh_probe *p, gh_probe_result *r)
{
    static const char *const paths[] = {
        "/admin",        "/admin/",        "/internal",     "/internal/",  "/actuator",
        "/actuator/env", "/debug",         "/debug/pprof/", "/debug/vars", "/metrics",
        "/.env",         "/server-status", "/console",      "/_internal"};
    probe_paths(p, r, paths, sizeof(paths) / sizeof(paths[0]), "administrative or internal");
    const char *common = r->why;
    size_t bound = r->verdict == GH_PV_PASS ? bound_routes_elsewhere(p, r) : 0;
    if (bound && r->verdict == GH_PV_PASS)
        gh_probe_pass(r, "%s; %zu route%s bound to other listeners %s not served here", common,
                      bound, bound == 1 ? "" : "s", bound == 1 ? "was" : "were");
}

static void admin_api(gh_probe *p, gh_probe_result *r)
{
    /* Gatehouse's admin API, Envoy's, nginx's and HAProxy's status pages. */
    static const char *const paths[] = {"/status", "/config",       "/reload",       "/stop",
                                        "/readyz", "/config_dump",  "/clusters",     "/server_info",
                                        "/stats",  "/nginx_status", "/haproxy?stats"};
    probe_paths(p, r, paths, sizeof(paths) / sizeof(paths[0]), "admin API");
}

const gh_probe_case gh_probe_cases_authz_exposed[] = {
    {"AUTHZ-011", "authorization",
     "administrative and internal paths (/admin, /actuator, /.env...) without "
     "credentials",
     OWASP_BFLA, 862, GH_PSEV_HIGH, 0,
     "refused or not found (no 2xx) on every data listener, nothing forwarded; a route bound to "
     "other listeners "
     "(routes[].listeners) not served on this one",
     "Put internal routes on their own listener (routes[].listeners) and give them auth; no auth: "
     "none prefix "
     "route in front of them.",
     hidden_paths},
    {"AUTHZ-012", "authorization",
     "the admin API (/status, /config, /reload) and status pages on data listeners", OWASP_BFLA,
     284, GH_PSEV_HIGH, 0, "refused or not found (no 2xx) on every data listener",
     "Serve the admin API on admin.address only (loopback or a management network, with "
     "admin.token).",
     admin_api},
    {0},
};
