/* routes: what each route matches, who may call it, what it forwards, and where requests go
 * (an upstream, or an answer the gateway gives itself). */
#include <stdio.h>
#include <string.h>

#include "config/config_internal.h"
#include "wire/host.h"
#include "wire/h1.h"

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

void gh__cfg_kw_methods(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    unsigned methods = v ? gh__cfg_methods(w, v) : GH_M_ALL;
    memcpy((char *)call->target + call->k->offset, &methods, sizeof(methods));
}

bool gh__cfg_path_ok(gh_walk *w, yaml_node_t *v, const char *p, bool templates, size_t *params)
{
    size_t n = 0;
    if (p[0] != '/') {
        gh__walk_error(w, v, "'%s' must start with /", p);
        return false;
    }
    for (const char *c = p; *c; c++) {
        unsigned char ch = (unsigned char)*c;
        if (ch <= 0x20 || ch >= 0x7f || ch == '?' || ch == '#' || ch == '%' || ch == '\\') {
            gh__walk_error(w, v, "'%s' has a character a canonical path cannot hold at offset %zu",
                           p, (size_t)(c - p));
            return false;
        }
        if (ch == '{') {
            const char *close = strchr(c, '}');
            if (!templates || c[-1] != '/' || !close || close == c + 1 ||
                (close[1] != '\0' && close[1] != '/')) {
                gh__walk_error(w, v, "'%s': a {param} must be a whole segment of a path", p);
                return false;
            }
            n++;
            c = close;
        } else if (ch == '}') {
            gh__walk_error(w, v, "'%s': unbalanced }", p);
            return false;
        }
    }
    size_t len = strlen(p);
    bool dot_end = (len >= 2 && strcmp(p + len - 2, "/.") == 0) ||
                   (len >= 3 && strcmp(p + len - 3, "/..") == 0);
    if (strstr(p, "//") || strstr(p, "/./") || strstr(p, "/../") || dot_end) {
        gh__walk_error(w, v, "'%s' is not canonical: requests are matched after normalization", p);
        return false;
    }
    if (params)
        *params = n;
    return true;
}

/* A path: "/exact", or a template whose {param} are whole segments. */
static void load_path(gh_walk *w, yaml_node_t *v, gh_route_conf *r, bool prefix)
{
    const char *p;
    size_t params;
    if (!gh__walk_str(w, v, &p))
        return;
    r->path = p;
    r->path_len = strlen(p);
    r->path_kind = prefix ? GH_PATH_PREFIX : GH_PATH_EXACT;
    if (!gh__cfg_path_ok(w, v, p, !prefix, &params))
        return;
    if (params)
        r->path_kind = GH_PATH_TEMPLATE;
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

static void load_match_host(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    const char *h;
    if (gh__walk_str(w, v, &h))
        load_host(w, v, h, call->target);
}

/* path or prefix, exactly one: reported at match itself. */
static void load_match_path(gh_walk *w, yaml_node_t *path, const gh_kw_call *call)
{
    yaml_node_t *prefix = gh__walk_get(w, call->map, "prefix");
    gh__walk_pop(w, call->outer);
    if (!!path == !!prefix)
        gh__walk_error(w, call->map, "exactly one of path and prefix");
    gh__walk_push_key(w, path ? "path" : "prefix");
    if (path || prefix)
        load_path(w, path ? path : prefix, call->target, prefix != NULL);
}

static const gh_keyword match_keys[] = {
    {"host", GH_KW_CUSTOM, .load = load_match_host},
    {"path", GH_KW_CUSTOM, GH_KW_ALWAYS, .load = load_match_path},
    {"prefix", GH_KW_CUSTOM}, /* read with path */
    {"case_insensitive", GH_KW_BOOL, GH_KW_AT(gh_route_conf, path_nocase)},
    {"methods", GH_KW_CUSTOM, GH_KW_ALWAYS, GH_KW_AT(gh_route_conf, methods),
     .load = gh__cfg_kw_methods},
    GH_KW_END,
};

static void load_respond_body(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    gh_route_conf *r = call->target;
    if (!gh__walk_str(w, v, &r->respond_body))
        return;
    r->respond_body_len = strlen(r->respond_body);
    if (r->respond_body_len && (r->respond_status == 204 || r->respond_status == 304))
        gh__walk_error(w, v, "a 204 or 304 response has no body");
}

static void load_respond_headers(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    gh_route_conf *r = call->target;
    gh_arena *a = w->arena;
    if (v->type != YAML_MAPPING_NODE) {
        gh__walk_error(w, v, "expected a mapping of header names to values");
        return;
    }
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

static const gh_keyword respond_keys[] = {
    {"status", GH_KW_UINT, GH_KW_AT(gh_route_conf, respond_status), .min = 200, .max = 599,
     .def = "200"},
    {"body", GH_KW_CUSTOM, .def = "", .load = load_respond_body},
    {"headers", GH_KW_CUSTOM, .load = load_respond_headers},
    GH_KW_END,
};

/* upstream or respond, exactly one: reported at the route itself. */
static void load_action(gh_walk *w, yaml_node_t *up, const gh_kw_call *call)
{
    gh_route_conf *r = call->target;
    const gh_config *c = call->ctx;
    yaml_node_t *respond = gh__walk_get(w, call->map, "respond");
    gh__walk_pop(w, call->outer);
    if (!!up == !!respond) {
        gh__walk_error(w, call->map, "exactly one of upstream and respond");
        return;
    }
    gh__walk_push_key(w, up ? "upstream" : "respond");
    const char *name;
    if (respond) {
        gh__cfg_apply(w, respond, respond_keys, r, NULL);
    } else if (gh__walk_str(w, up, &name)) {
        for (size_t i = 0; i < c->nupstreams; i++)
            if (strcmp(c->upstreams[i].name, name) == 0)
                r->upstream = &c->upstreams[i];
        if (!r->upstream)
            gh__walk_error(w, up, "no upstream named '%s'", name);
    }
}

bool gh__cfg_header_name_ok(const char *name)
{
    bool ok = name[0] != '\0';
    for (const char *ch = name; *ch; ch++)
        ok &= gh_h1_is_tchar((unsigned char)*ch);
    return ok;
}

bool gh__cfg_plain_header_ok(const char *name)
{
    return gh__cfg_header_name_ok(name) && strcasecmp(name, "authorization") != 0 &&
           strcasecmp(name, "cookie") != 0;
}

static void load_api_key_client(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    gh_route_conf *r = call->target;
    if (gh__walk_str(w, v, &r->forward_api_client) && !gh__cfg_header_name_ok(r->forward_api_client))
        gh__walk_error(w, v, "'%s' is not a header name", r->forward_api_client);
    else if (!r->auth_api_key)
        gh__walk_error(w, v, "only on a route with auth: {api_key: …}");
}

static void load_forward_claims(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    gh_route_conf *r = call->target;
    if (v->type != YAML_MAPPING_NODE) {
        gh__walk_error(w, v, "expected a mapping of claim names to header names");
        return;
    }
    size_t count = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
    r->forward_claims = gh_arena_zalloc(w->arena, (count ? count : 1) * sizeof(gh_forward_claim));
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

static const char *const keep_drop[] = {"keep", "drop", NULL};

/* forward: {claims: {claim: Header-Name}, authorization: keep | drop,
 *           api_key_client: Header-Name, client_cert: true | false}. */
static const gh_keyword forward_keys[] = {
    {"api_key_client", GH_KW_CUSTOM, .load = load_api_key_client},
    {"client_cert", GH_KW_BOOL, GH_KW_AT(gh_route_conf, forward_client_cert)},
    {"authorization", GH_KW_ENUM, GH_KW_NEGATE, GH_KW_AT(gh_route_conf, forward_authorization),
     .choices = keep_drop, .def = "keep"},
    {"claims", GH_KW_CUSTOM, .load = load_forward_claims},
    GH_KW_END,
};

static const gh_keyword route_keys[] = {
    {"name", GH_KW_STRING, GH_KW_REQUIRED, GH_KW_AT(gh_route_conf, name),
     .required = "required: routes are named in logs and metrics", .valid = gh__cfg_name_ok,
     .invalid = "names use letters, digits, '-', '_' and '.', at most 64"},
    {"match", GH_KW_MAP, GH_KW_REQUIRED, .table = match_keys},
    {"listeners", GH_KW_CUSTOM, .load = gh__cfg_load_route_listeners},
    {"auth", GH_KW_CUSTOM, GH_KW_REQUIRED, .load = gh__cfg_load_auth,
     .required = "required: write 'auth: none' for a public route"},
    {"rate_limit", GH_KW_CUSTOM, .load = gh__cfg_load_route_limits},
    {"forward", GH_KW_MAP, .table = forward_keys},
    {"headers", GH_KW_CUSTOM, .load = gh__cfg_load_route_headers},
    {"cors", GH_KW_CUSTOM, .load = gh__cfg_load_cors},
    {"body", GH_KW_CUSTOM, .load = gh__cfg_load_body},
    {"upstream", GH_KW_CUSTOM, GH_KW_ALWAYS, .load = load_action},
    {"respond", GH_KW_CUSTOM}, /* read with upstream */
    {"websocket", GH_KW_CUSTOM, .load = gh__cfg_load_websocket}, /* after upstream, which it needs */
    {"retry", GH_KW_CUSTOM, GH_KW_ALWAYS, .load = gh__cfg_load_route_retry},
    {"rewrite", GH_KW_CUSTOM, .load = gh__cfg_load_rewrite}, /* after match and upstream */
    {"tags", GH_KW_CUSTOM, .load = gh__cfg_load_tags},
    {"critical", GH_KW_CUSTOM, .load = gh__cfg_load_critical},
    {"audit", GH_KW_MAP, GH_KW_AT(gh_route_conf, audit), .table = gh__cfg_audit_keys},
    GH_KW_END,
};

/* A key a module above brings to routes: its mapping read with its table into memory the
 * route keeps. */
static void load_ext(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    gh_route_conf *r = call->target;
    const gh_route_keys *keys = call->k->arg;
    if (r->next == GH_MAX_STAGES) { /* the registry's assertion keeps stage keys fewer */
        gh__walk_error(w, v, "a route may carry at most %d stage keys", GH_MAX_STAGES);
        return;
    }
    void *conf = gh_arena_zalloc(w->arena, keys->size ? keys->size : 1);
    if (!conf) {
        gh__walk_error(w, v, "out of memory");
        return;
    }
    size_t errors = w->diag->errors;
    if (!gh__cfg_apply(w, v, keys->table, conf, call->ctx))
        return;
    /* Judged only when every key read well: a key in error says why already. */
    const char *wrong = keys->finish && w->diag->errors == errors ? keys->finish(conf) : NULL;
    if (wrong)
        gh__walk_error(w, v, "%s", wrong);
    r->ext[r->next++] = (struct gh_route_ext){keys, conf};
}

const void *gh_route_ext(const gh_route_conf *r, const gh_route_keys *keys)
{
    for (size_t i = 0; i < r->next; i++)
        if (r->ext[i].keys == keys)
            return r->ext[i].conf;
    return NULL;
}

/* One route: its own keys, and those modules above bring (ext, the table of them). */
static void load_route(gh_walk *w, yaml_node_t *item, gh_route_conf *r, gh_config *c,
                       const gh_keyword *ext)
{
    gh__cfg_defaults(w, route_keys, r);
    if (!gh__cfg_known(w, item, (const gh_keyword *const[]){route_keys, ext, NULL}))
        return;
    gh__cfg_fill(w, item, route_keys, r, c);
    gh__cfg_fill(w, item, ext, r, c);
}

/* The table of the keys modules above bring to routes (in the snapshot's arena). */
static const gh_keyword *ext_table(gh_config *c)
{
    size_t n = 0;
    while (c->route_keys && c->route_keys[n])
        n++;
    gh_keyword *t = gh_arena_zalloc(&c->arena, (n + 1) * sizeof(*t));
    for (size_t i = 0; t && i < n; i++)
        t[i] = (gh_keyword){.name = c->route_keys[i]->name, .kind = GH_KW_CUSTOM,
                            .load = load_ext, .arg = c->route_keys[i]};
    return t;
}

void gh__cfg_load_routes(gh_walk *w, yaml_node_t *n, const gh_kw_call *call)
{
    gh_config *c = call->target;
    size_t count;
    yaml_node_item_t *items = gh__walk_items(w, n, &count);
    if (!items)
        return;
    if (count == 0) {
        gh__walk_error(w, n, "at least one route");
        return;
    }
    c->routes = gh_arena_zalloc(&c->arena, count * sizeof(*c->routes));
    const gh_keyword *ext = ext_table(c);
    if (!c->routes || !ext) {
        gh__walk_error(w, n, "out of memory");
        return;
    }
    c->nroutes = count;
    for (size_t i = 0; i < count; i++) {
        size_t saved = gh__walk_push_index(w, i);
        yaml_node_t *item = gh__walk_node(w, items[i]);
        load_route(w, item, &c->routes[i], c, ext);
        for (size_t j = 0; j < i && c->routes[i].name; j++)
            if (c->routes[j].name && strcmp(c->routes[j].name, c->routes[i].name) == 0)
                gh__walk_error(w, item, "route name '%s' is also routes[%zu]", c->routes[i].name,
                               j);
        gh__walk_pop(w, saved);
    }
    gh__cfg_collect_owned_headers(c);
}

