/* upstreams: where routes send requests, how many at once, how long to wait, which idle
 * connections to keep, and the TLS of https:// endpoints. */
#include <arpa/inet.h>
#include <netdb.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "config/config_internal.h"
#include "core/hex.h"

/* An upstream's endpoints after names are resolved: a bit each in a request's tried mask. */
#define GH_UPSTREAM_MAX_ENDPOINTS GH_BALANCE_MAX_ENDPOINTS
/* How long a reload waits for a name that has addresses in force to resolve. */
#define GH_RELOAD_LOOKUP_MS 2000

/* The addresses in force for a name: what the running snapshot's endpoints of url reach. */
typedef struct {
    char text[GH_UPSTREAM_MAX_ENDPOINTS][48];
    size_t n;
} addresses_in_force;

/* A name that does not resolve at a reload keeps the addresses the running snapshot has for
 * it (had), with a warning: an outage of DNS must neither stop a reload of something else nor
 * take the upstream away. Returns how many, or -1 when it had none (a first load: an error). */
static int last_addresses(gh_walk *w, yaml_node_t *n, const addresses_in_force *had,
                          const gh_endpoint_conf *e, gh_sockaddr *addrs, size_t room, int gai)
{
    char host[256], literal[300];
    const char *port;
    if (had->n == 0 || had->n > room ||
        gh_split_hostport(e->authority, host, sizeof(host), &port) != 0)
        return -1;
    size_t count = 0;
    for (size_t i = 0; i < had->n; i++) {
        bool named;
        int err;
        snprintf(literal, sizeof(literal), strchr(had->text[i], ':') ? "[%s]:%s" : "%s:%s",
                 had->text[i], port);
        if (gh_resolve_hostport(literal, &addrs[count], 1, 0, &named, &err) == 1)
            count++;
    }
    gh_sockaddrs_sort(addrs, count);
    if (count)
        gh__walk_warn(w, n, "'%s': %s does not resolve (%s): its %zu last addresses stay", e->url,
                      e->authority, gai_strerror(gai), count);
    return count ? (int)count : -1;
}

/* The endpoints one item of `endpoints` stands for, appended to out (room left): one for an IP
 * literal, one per address of a name. Returns how many (0 after an error). */
static size_t load_endpoint(gh_walk *w, yaml_node_t *n, gh_arena *a, gh_upstream_state *state,
                            gh_endpoint_conf *out, size_t room)
{
    gh_endpoint_conf e = {0};
    const char *url;
    n = gh__cfg_endpoint_weight(w, n, &e);
    if (!n || !gh__walk_str(w, n, &url))
        return 0;
    e.url = url;
    e.tls = strncmp(url, "https://", 8) == 0;
    if (strncmp(url, "http://", 7) != 0 && !e.tls) {
        gh__walk_error(w, n, "'%s': endpoints are http://host:port or https://host:port", url);
        return 0;
    }
    const char *auth = url + (e.tls ? 8 : 7);
    size_t len = strcspn(auth, "/?#");
    if (auth[len] != '\0' && strcmp(auth + len, "/") != 0) {
        gh__walk_error(w, n, "'%s': an endpoint has no path; routes decide the path", url);
        return 0;
    }
    e.authority = gh_arena_strndup(a, auth, len);
    gh_sockaddr addrs[GH_UPSTREAM_MAX_ENDPOINTS + 1];
    int gai = 0, count = -1;
    /* A name with addresses in force is not waited for past GH_RELOAD_LOOKUP_MS: a name
     * server that does not answer keeps them, as one that fails does, rather than holding the
     * control thread (SIGTERM included) for the resolver's whole timeout, name after name. */
    addresses_in_force had = {.n = 0};
    if (state)
        had.n = gh_endpoint_state_addresses(state, e.url, had.text, GH_UPSTREAM_MAX_ENDPOINTS);
    uint64_t wait_ms = had.n ? GH_RELOAD_LOOKUP_MS : 0;
    if (e.authority && !strchr(e.authority, '@'))
        count = gh_resolve_hostport(e.authority, addrs, room, wait_ms, &e.named, &gai);
    if (count < 0 && gai)
        count = last_addresses(w, n, &had, &e, addrs, room, gai);
    if (count < 0) {
        if (gai)
            gh__walk_error(w, n, "'%s': %s does not resolve: %s", url, e.authority,
                           gai_strerror(gai));
        else
            gh__walk_error(w, n, "'%s': expected %s://host:port", url, e.tls ? "https" : "http");
        return 0;
    }
    if ((size_t)count > room) {
        gh__walk_error(w, n, "'%s': an upstream has at most %d endpoints, each address of a "
                       "name one of them", url, GH_UPSTREAM_MAX_ENDPOINTS);
        return 0;
    }
    e.host = gh__cfg_host_of(a, e.authority);
    e.label = e.authority;
    e.key = e.url;
    for (int i = 0; i < count; i++) {
        out[i] = e;
        out[i].addr = addrs[i];
        if (!e.named)
            continue;
        char ip[INET6_ADDRSTRLEN] = "";
        const struct sockaddr_storage *ss = &addrs[i].ss;
        const void *raw = ss->ss_family == AF_INET6
                              ? (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr
                              : (const void *)&((const struct sockaddr_in *)ss)->sin_addr;
        inet_ntop(ss->ss_family, raw, ip, sizeof(ip));
        out[i].label = gh_arena_printf(a, "%s@%s", e.authority, ip);
        out[i].key = gh_arena_printf(a, "%s@%s", e.url, ip);
        if (!out[i].label || !out[i].key) {
            gh__walk_error(w, n, "out of memory");
            return 0;
        }
    }
    return (size_t)count;
}

static void load_endpoints(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    gh_upstream_conf *u = call->target;
    size_t items_n = 0, count = 0;
    yaml_node_item_t *items =
        gh__walk_items_within(w, v, GH_UPSTREAM_MAX_ENDPOINTS, "endpoints", &items_n);
    if (!items)
        return;
    gh_endpoint_conf all[GH_UPSTREAM_MAX_ENDPOINTS];
    for (size_t i = 0; i < items_n; i++) {
        size_t inner = gh__walk_push_index(w, i);
        size_t from = count;
        count += load_endpoint(w, gh__walk_node(w, items[i]), w->arena, u->state, all + count,
                               GH_UPSTREAM_MAX_ENDPOINTS - count);
        for (size_t k = from; k < count; k++) {
            all[k].item = (uint32_t)i;
            if (!(all[k].pool_key = gh_arena_printf(w->arena, "%s %s", u->name, all[k].key)))
                gh__walk_error(w, v, "out of memory");
        }
        gh__walk_pop(w, inner);
    }
    u->endpoints = gh_arena_zalloc(w->arena, (count ? count : 1) * sizeof(*u->endpoints));
    if (!u->endpoints) {
        gh__walk_error(w, v, "out of memory");
        return;
    }
    memcpy(u->endpoints, all, count * sizeof(*all));
    u->nendpoints = count;
}

/* Adds a file's bytes to a digest (nothing when it has none or cannot be read: the context was
 * made of it a moment ago, and a file that changed since reloads again). */
static void digest_file(EVP_MD_CTX *md, const char *path)
{
    FILE *f = path ? fopen(path, "rb") : NULL;
    char buf[16384];
    size_t n;
    while (f && (n = fread(buf, 1, sizeof(buf), f)) > 0)
        EVP_DigestUpdate(md, buf, n);
    if (f)
        fclose(f);
    EVP_DigestUpdate(md, "\n", 1); /* a file ends: its bytes cannot slide into the next one's */
}

/* What a pooled connection was verified under: the server name, whether it was verified, and
 * the bytes of the CA, certificate and key files, as 16 hex digits. */
static void tls_identity(const gh_upstream_conf *u, char out[17])
{
    unsigned char md[32];
    unsigned int len = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    memset(md, 0, sizeof(md));
    if (ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1) {
        const char *name = u->server_name ? u->server_name : "";
        EVP_DigestUpdate(ctx, name, strlen(name) + 1);
        EVP_DigestUpdate(ctx, u->insecure ? "1" : "0", 1);
        digest_file(ctx, u->tls_ca_file);
        digest_file(ctx, u->tls_cert_file);
        digest_file(ctx, u->tls_key_file);
        EVP_DigestFinal_ex(ctx, md, &len);
    }
    EVP_MD_CTX_free(ctx);
    gh_hex_encode(md, 8, out);
    out[16] = '\0';
}

/* Reads tls: when there are https:// endpoints (given or not: their defaults), refuses it
 * otherwise. Keep-alive pools outlive snapshots by key; an https:// endpoint's key names the
 * TLS settings too, so that a connection verified under other settings (none, another CA, another
 * name) is never taken from the pool once a reload changed them. */
static void load_tls(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    gh_upstream_conf *u = call->target;
    bool any_tls = false;
    for (size_t i = 0; i < u->nendpoints; i++)
        any_tls |= u->endpoints[i].tls;
    if (v && !any_tls) {
        gh__walk_error(w, v, "tls applies to https:// endpoints, and this upstream has none");
        return;
    }
    if (!any_tls)
        return;
    gh__cfg_load_upstream_tls(w, v, call->map, call->ctx, u);
    char id[17];
    tls_identity(u, id);
    for (size_t i = 0; i < u->nendpoints; i++) {
        gh_endpoint_conf *e = &u->endpoints[i];
        if (e->tls && !(e->pool_key = gh_arena_printf(w->arena, "%s %s tls:%s", u->name, e->key, id)))
            gh__walk_error(w, v ? v : call->map, "out of memory");
    }
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
    {"dns_refresh", GH_KW_DURATION, GH_KW_AT(gh_upstream_conf, dns_refresh_ms), .min = 1000,
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

/* The snapshot's uses of its endpoints' states end with it. */
static void put_states(void *p)
{
    gh_upstream_conf *u = p;
    for (size_t i = 0; i < u->nendpoints; i++)
        if (u->states[i])
            gh_endpoint_state_put(u->state, u->states[i]);
}

static void mark_in_force(const gh_config *c, bool in_force)
{
    for (size_t i = 0; c && i < c->nupstreams; i++)
        for (size_t j = 0; c->upstreams[i].states && j < c->upstreams[i].nendpoints; j++)
            if (c->upstreams[i].states[j])
                gh_endpoint_state_in_force(c->upstreams[i].states[j], in_force);
}

void gh_config_in_force(const gh_config *old, const gh_config *cfg)
{
    mark_in_force(old, false);
    mark_in_force(cfg, true);
    gh__cfg_bans_in_force(cfg);
}

/* Each endpoint's state, shared by the workers and kept while a snapshot names its key. */
static void attach_states(gh_walk *w, yaml_node_t *n, gh_upstream_conf *u)
{
    u->states = gh_arena_zalloc(w->arena, (u->nendpoints ? u->nendpoints : 1) * sizeof(*u->states));
    if (!u->states || gh_arena_defer(w->arena, put_states, u) != 0) {
        gh__walk_error(w, n, "out of memory");
        return;
    }
    for (size_t i = 0; i < u->nendpoints; i++) {
        u->endpoints[i].state = u->states[i] = gh_endpoint_state_get(u->state, u->endpoints[i].key);
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
        if (shared)
            u->state = gh_upstream_state_get(&shared->upstreams, u->name);
        load_upstream(w, gh__walk_node(w, p->value), c, u);
        gh__walk_pop(w, saved);
        if (u->state)
            attach_states(w, gh__walk_node(w, p->value), u);
        c->nupstreams++;
    }
}

