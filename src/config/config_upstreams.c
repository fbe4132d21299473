/* upstreams: where routes send requests, how many at once, how long to wait, which idle
 * connections to keep, and the TLS of https:// endpoints. */
#include <stdio.h>
#include <string.h>

#include "config/config_internal.h"

static void load_endpoint(gh_walk *w, yaml_node_t *n, gh_arena *a, gh_endpoint_conf *e)
{
    const char *url;
    n = gh__cfg_endpoint_weight(w, n, e);
    if (!n || !gh__walk_str(w, n, &url))
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

static void load_endpoints(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    gh_upstream_conf *u = call->target;
    size_t count = 0;
    yaml_node_item_t *items = gh__walk_items_within(w, v, 64, "endpoints", &count);
    if (!items)
        return;
    u->endpoints = gh_arena_zalloc(w->arena, count * sizeof(*u->endpoints));
    u->nendpoints = count;
    for (size_t i = 0; i < count; i++) {
        size_t inner = gh__walk_push_index(w, i);
        load_endpoint(w, gh__walk_node(w, items[i]), w->arena, &u->endpoints[i]);
        gh__walk_pop(w, inner);
    }
}

/* Reads tls: when there are https:// endpoints (given or not: their defaults), refuses it
 * otherwise. */
static void load_tls(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    gh_upstream_conf *u = call->target;
    bool any_tls = false;
    for (size_t i = 0; i < u->nendpoints; i++)
        any_tls |= u->endpoints[i].tls;
    if (v && !any_tls)
        gh__walk_error(w, v, "tls applies to https:// endpoints, and this upstream has none");
    else if (any_tls)
        gh__cfg_load_upstream_tls(w, v, call->map, call->ctx, u);
}

static const gh_keyword keepalive_keys[] = {
    /* Unset: as many as may be in flight (below). */
    {"max_idle", GH_KW_UINT, GH_KW_UNSET, GH_KW_AT(gh_upstream_conf, keepalive_max_idle),
     .max = 100000},
    {"idle_timeout", GH_KW_DURATION, GH_KW_AT(gh_upstream_conf, keepalive_idle_timeout_ms),
     .min = 100, .max = 86400000, .def = "60s"},
    GH_KW_END,
};

static const gh_keyword upstream_keys[] = {
    {"endpoints", GH_KW_CUSTOM, GH_KW_REQUIRED, .load = load_endpoints},
    {"max_concurrency", GH_KW_UINT, GH_KW_AT(gh_upstream_conf, max_concurrency), .min = 1,
     .max = 1000000, .def = "1024"},
    {"connect_timeout", GH_KW_DURATION, GH_KW_AT(gh_upstream_conf, connect_timeout_ms), .min = 1,
     .max = 600000, .def = "2s"},
    {"timeout", GH_KW_DURATION, GH_KW_AT(gh_upstream_conf, timeout_ms), .min = 1,
     .max = 86400000, .def = "30s"},
    {"keepalive", GH_KW_MAP, .table = keepalive_keys},
    {"tls", GH_KW_CUSTOM, GH_KW_ALWAYS, .load = load_tls},
    {"outlier", GH_KW_MAP, GH_KW_AT(gh_upstream_conf, outlier), .table = gh__cfg_outlier_keys},
    {"panic_threshold", GH_KW_UINT, GH_KW_AT(gh_upstream_conf, panic_percent), .max = 100,
     .def = "50"},
    {"retry", GH_KW_MAP, GH_KW_AT(gh_upstream_conf, retry), .table = gh__cfg_retry_keys},
    {"host", GH_KW_CUSTOM, GH_KW_AT(gh_upstream_conf, host), .load = gh__cfg_load_host_rule},
    {"balance", GH_KW_MAP, GH_KW_AT(gh_upstream_conf, balance), .table = gh__cfg_balance_keys},
    {"health", GH_KW_CUSTOM, GH_KW_AT(gh_upstream_conf, health), .load = gh__cfg_load_health},
    GH_KW_END,
};

static void load_upstream(gh_walk *w, yaml_node_t *n, gh_config *c, gh_upstream_conf *u)
{
    if (!gh__cfg_apply(w, n, upstream_keys, u, c))
        return;
    /* A pool smaller than the concurrency closes connections a burst is about to need again;
     * idle_timeout reaps what a quiet period leaves. */
    if (u->keepalive_max_idle == UINT32_MAX)
        u->keepalive_max_idle = u->max_concurrency;
    gh__cfg_finish_upstream_resilience(w, n, u);
    gh__cfg_finish_upstream_balance(w, n, u);
}

/* Each endpoint's state, shared by the workers and kept while its URL stays. */
static void attach_states(gh_walk *w, yaml_node_t *n, gh_upstream_conf *u)
{
    u->states = gh_arena_zalloc(w->arena, (u->nendpoints ? u->nendpoints : 1) * sizeof(*u->states));
    for (size_t i = 0; u->states && i < u->nendpoints; i++) {
        u->endpoints[i].state = u->states[i] = gh_endpoint_state_get(u->state, u->endpoints[i].url);
        if (!u->states[i])
            gh__walk_error(w, n, "out of memory");
    }
}

void gh__cfg_load_upstreams(gh_walk *w, yaml_node_t *n, const gh_kw_call *call)
{
    gh_config *c = call->target;
    gh_shared *shared = call->ctx;
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
        if (shared && (u->state = gh_upstream_state_get(&shared->upstreams, u->name)))
            attach_states(w, gh__walk_node(w, p->value), u);
        c->nupstreams++;
    }
}

