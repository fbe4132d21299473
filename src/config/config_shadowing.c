/* Routes that can never match: an earlier route takes every request they would. And the
 * listeners a route is served on. */
#include <string.h>
#include <strings.h>

#include "config/config_internal.h"
#include "route/route.h"

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

void gh__cfg_load_route_listeners(gh_walk *w, yaml_node_t *n, const gh_kw_call *call)
{
    gh_route_conf *r = call->target;
    const gh_config *c = call->ctx;
    size_t count = 0;
    yaml_node_item_t *items = gh__walk_items_within(
        w, n, 16, "listeners (leave listeners out to serve the route on all)", &count);
    if (!items)
        return;
    uint64_t *ids = gh_arena_zalloc(w->arena, count * sizeof(*ids));
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
