/* routes[].rewrite and upstreams.<name>.host: the path and the Host the upstream is sent. The
 * path is checked against the route's match here, so that a rewrite that could not be filled
 * (a {name} the match does not capture, a prefix on a route that matches no prefix) fails
 * `gatehouse check` rather than a request. */
#include <string.h>

#include "config/config_internal.h"
#include "wire/host.h"

void gh__cfg_load_host_rule(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    gh_host_rule *h = (gh_host_rule *)((char *)call->target + call->k->offset);
    const char *s;
    if (!gh__walk_str(w, v, &s))
        return;
    if (strcmp(s, "preserve") == 0) {
        h->mode = GH_UPHOST_PRESERVE;
        return;
    }
    if (strcmp(s, "endpoint") == 0) {
        h->mode = GH_UPHOST_ENDPOINT;
        return;
    }
    /* The value goes into the upstream head as it is: only a host[:port] that parses as the
     * gateway parses clients' (no space, CR, LF or anything else a name cannot hold). */
    for (const char *c = s; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f) {
            gh__walk_error(w, v,
                           "a control character at offset %zu: expected preserve, endpoint "
                           "or a host[:port]",
                           (size_t)(c - s));
            return;
        }
    gh_host parts;
    const char *err = gh_host_parse(s, strlen(s), &parts);
    if (err) {
        gh__walk_error(w, v, "'%s': %s; expected preserve, endpoint or a host[:port]", s, err);
        return;
    }
    h->mode = GH_UPHOST_VALUE;
    h->value = s;
}

/* Whether the match template t captures {name}. */
static bool captures(const char *t, const char *name, size_t name_len)
{
    for (const char *c = strchr(t, '{'); c; c = strchr(c + 1, '{')) {
        const char *close = strchr(c, '}');
        if ((size_t)(close - c - 1) == name_len && memcmp(c + 1, name, name_len) == 0)
            return true;
    }
    return false;
}

/* Every {name} of the rewrite must be one the match template fills. */
static void check_names(gh_walk *w, yaml_node_t *v, const gh_route_conf *r, const char *p)
{
    for (const char *c = strchr(p, '{'); c; c = strchr(c + 1, '{')) {
        const char *close = strchr(c, '}');
        size_t n = (size_t)(close - c - 1);
        if (r->path_kind != GH_PATH_TEMPLATE || !captures(r->path, c + 1, n)) {
            gh__walk_error(w, v, "'%s': {%.*s} is not captured by match.path '%s'", p, (int)n,
                           c + 1, r->path);
            return;
        }
    }
}

/* prefix or path, not both; each only where the match is of its kind. */
static void load_rewrite_path(gh_walk *w, yaml_node_t *path, const gh_kw_call *call)
{
    gh_rewrite_conf *rw = call->target;
    const gh_route_conf *r = call->ctx;
    yaml_node_t *prefix = gh__walk_get(w, call->map, "prefix");
    if (!path && !prefix)
        return;
    gh__walk_pop(w, call->outer);
    if (path && prefix) {
        gh__walk_error(w, call->map, "at most one of prefix and path");
        return;
    }
    gh__walk_push_key(w, path ? "path" : "prefix");
    yaml_node_t *v = path ? path : prefix;
    const char *p;
    if (!gh__walk_str(w, v, &p) || !gh__cfg_path_ok(w, v, p, path != NULL, &rw->refs))
        return;
    if (!r->path) /* the match's own error is reported */
        return;
    if (prefix && r->path_kind != GH_PATH_PREFIX) {
        gh__walk_error(w, v,
                       "rewrite.prefix replaces match.prefix, and this route matches "
                       "match.path: use rewrite.path");
        return;
    }
    if (path && r->path_kind == GH_PATH_PREFIX) {
        gh__walk_error(w, v,
                       "rewrite.path fills match.path's {name}s, and this route matches "
                       "match.prefix: use rewrite.prefix");
        return;
    }
    check_names(w, v, r, p);
    rw->kind = path ? GH_REWRITE_PATH : GH_REWRITE_PREFIX;
    rw->path = p;
    rw->path_len = strlen(p);
}

/* rewrite: {prefix: /v2/ | path: "/internal/users/{id}", host: preserve | endpoint | h[:port]} */
static const gh_keyword rewrite_keys[] = {
    {"path", GH_KW_CUSTOM, GH_KW_ALWAYS, .load = load_rewrite_path},
    {"prefix", GH_KW_CUSTOM}, /* read with path */
    {"host", GH_KW_CUSTOM, GH_KW_AT(gh_rewrite_conf, host), .load = gh__cfg_load_host_rule},
    GH_KW_END,
};

void gh__cfg_load_rewrite(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    gh_route_conf *r = call->target;
    if (gh__walk_get(w, call->map, "respond")) {
        gh__walk_error(w, v, "rewrite applies to a route with an upstream, and this one responds");
        return;
    }
    if (v->type == YAML_MAPPING_NODE && v->data.mapping.pairs.top == v->data.mapping.pairs.start)
        gh__walk_error(w, v, "at least one of prefix, path and host");
    gh__cfg_apply(w, v, rewrite_keys, &r->rewrite, r);
}
