/* rate_limits: section, and the rate_limit: of a route. A limit is a key (whose requests are
 * counted), a rate with a burst, an optional quota per UTC calendar window, a mode and which
 * headers to send. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"
#include "wire/h1.h"

/* "100", "10k", "1m": a count with an optional thousand or million suffix. */
static bool parse_count(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0, mult = 1;
    if (len && (s[len - 1] == 'k' || s[len - 1] == 'm')) {
        mult = s[len - 1] == 'k' ? 1000 : 1000000;
        len--;
    }
    if (len == 0 || len > 12)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v * mult;
    return *out > 0;
}

/* "100/s", "600/m", "10000/h" (rate) or "10000/day", "1m/month" (quota). Returns the period's
 * index in units, or -1 after reporting. */
static int parse_per(gh_walk *w, yaml_node_t *n, const char *const *units, uint64_t *count)
{
    const char *s;
    if (!gh__walk_str(w, n, &s))
        return -1;
    const char *slash = strchr(s, '/');
    if (slash && parse_count(s, (size_t)(slash - s), count))
        for (int i = 0; units[i]; i++)
            if (strcmp(slash + 1, units[i]) == 0)
                return i;
    gh__walk_error(w, n, "'%s': expected COUNT/%s%s%s%s%s (COUNT may end in k or m)", s, units[0],
                   units[1] ? ", COUNT/" : "", units[1] ? units[1] : "",
                   units[1] && units[2] ? ", COUNT/" : "", units[1] && units[2] ? units[2] : "");
    return -1;
}

static void load_key(gh_walk *w, yaml_node_t *n, const gh_kw_call *call)
{
    gh_rate_limit_conf *l = call->target;
    const char *s;
    if (!gh__walk_str(w, n, &s))
        return;
    if (strcmp(s, "api_key") == 0) {
        l->key = GH_LKEY_API_KEY;
    } else if (strcmp(s, "client_ip") == 0) {
        l->key = GH_LKEY_CLIENT_IP;
    } else if (strcmp(s, "route") == 0) {
        l->key = GH_LKEY_ROUTE;
    } else if (strncmp(s, "jwt.", 4) == 0 && s[4]) {
        l->key = GH_LKEY_CLAIM;
        l->key_arg = s + 4;
    } else if (strncmp(s, "header.", 7) == 0 && s[7]) {
        l->key = GH_LKEY_HEADER;
        l->key_arg = s + 7;
        for (const char *c = l->key_arg; *c; c++)
            if (!gh_h1_is_tchar((unsigned char)*c))
                gh__walk_error(w, n, "'%s' is not a header name", l->key_arg);
    } else {
        gh__walk_error(w, n, "'%s': use jwt.sub, jwt.<claim>, api_key, client_ip, header.<Name> "
                             "or route", s);
    }
}

/* ipv4_prefix, ipv6_prefix: how many leading bits of a client address name its bucket. */
static bool by_address(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    const gh_rate_limit_conf *l = call->target;
    if (l->key != GH_LKEY_CLIENT_IP)
        gh__walk_error(w, v, "only a limit with key: client_ip counts by address prefix");
    return l->key == GH_LKEY_CLIENT_IP;
}

static const char *const rate_units[] = {"s", "m", "h", NULL};
static const char *const quota_units[] = {"day", "month", NULL};

static void load_rate(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    static const uint64_t periods[] = {1, 60, 3600};
    gh_rate_limit_conf *l = call->target;
    int unit = parse_per(w, v, rate_units, &l->count);
    if (unit >= 0)
        l->period_s = periods[unit];
}

static void load_quota(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    gh_rate_limit_conf *l = call->target;
    int unit = parse_per(w, v, quota_units, &l->rule.quota);
    l->quota_window = unit == 0 ? GH_QUOTA_DAY : unit == 1 ? GH_QUOTA_MONTH : GH_QUOTA_NONE;
}

/* store: redis needs stores.redis (reported at the limit). */
static void load_store(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    static const char *const stores[] = {"local", "redis", NULL};
    gh_rate_limit_conf *l = call->target;
    const gh_config *c = call->ctx;
    l->redis = gh__walk_enum(w, v, stores) == 1;
    gh__walk_pop(w, call->outer);
    if (l->redis && !c->redis)
        gh__walk_error(w, call->map, "store: redis needs stores.redis");
}

static const char *const modes[] = {"enforce", "shadow", NULL};
static const char *const header_modes[] = {"on_limit", "always", "never", NULL};

static const gh_keyword limit_keys[] = {
    {"key", GH_KW_CUSTOM, GH_KW_REQUIRED, .load = load_key},
    {"rate", GH_KW_CUSTOM, GH_KW_REQUIRED, .load = load_rate},
    /* By default, the rate's count. */
    {"burst", GH_KW_UINT, GH_KW_AT(gh_rate_limit_conf, rule.burst), .min = 1, .max = 10000000},
    {"quota", GH_KW_CUSTOM, .load = load_quota},
    {"store", GH_KW_CUSTOM, .load = load_store},
    {"mode", GH_KW_ENUM, GH_KW_AT(gh_rate_limit_conf, shadow), .choices = modes},
    {"headers", GH_KW_ENUM, GH_KW_AT(gh_rate_limit_conf, headers), .choices = header_modes},
    {"max_keys", GH_KW_UINT, GH_KW_AT(gh_rate_limit_conf, max_keys), .min = 1, .max = 100000000,
     .def = "100000"},
    /* One client holds a whole IPv6 /64 (RFC 4291 2.5.4, what ISPs hand out): counting /128s
     * would give it 2^64 buckets. */
    {"ipv4_prefix", GH_KW_UINT, GH_KW_AT(gh_rate_limit_conf, ipv4_prefix), .min = 8, .max = 32,
     .def = "32", .guard = by_address},
    {"ipv6_prefix", GH_KW_UINT, GH_KW_AT(gh_rate_limit_conf, ipv6_prefix), .min = 16, .max = 128,
     .def = "64", .guard = by_address},
    GH_KW_END,
};

/* What limits are read with: the snapshot (stores) and where their tables live. */
typedef struct limits_site {
    gh_config *c;
    gh_shared *shared; /* NULL for `check` */
} limits_site;

static void load_limit(gh_walk *w, yaml_node_t *n, void *item, void *ctx)
{
    gh_rate_limit_conf *l = item;
    const limits_site *at = ctx;
    gh_shared *shared = at->shared;
    if (!gh__cfg_apply(w, n, limit_keys, l, at->c))
        return;
    if (!l->rule.burst)
        l->rule.burst = (int64_t)l->count;
    if (l->count)
        l->rule.interval_us = (int64_t)(l->period_s * 1000000 / l->count);
    if (l->count && l->rule.interval_us == 0)
        gh__walk_error(w, n, "rate: more than a million a second is no limit");
    if (!shared || w->diag->errors)
        return;
    l->registry = &shared->limits;
    if (!(l->table = gh_limit_table_get(l->registry, l->name, l->max_keys)) ||
        !gh__cfg_keep_limit_table(w, l)) {
        l->table = NULL;
        gh__walk_error(w, n, "out of memory for the rate-limit table");
    }
}

static void load_redis_address(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    gh_redis_conf *rc = call->target;
    gh_sockaddr sa;
    if (gh__walk_str(w, v, &rc->address) && gh_parse_hostport(rc->address, &sa) != 0) {
        gh__walk_error(w, v, "'%s' is not host:port", rc->address);
    } else if (rc->address) {
        const void *ip = sa.ss.ss_family == AF_INET6
                             ? (const void *)&((struct sockaddr_in6 *)&sa.ss)->sin6_addr
                             : (const void *)&((struct sockaddr_in *)&sa.ss)->sin_addr;
        inet_ntop(sa.ss.ss_family, ip, rc->host, sizeof(rc->host));
        rc->port = ntohs(sa.ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&sa.ss)->sin6_port
                                                     : ((struct sockaddr_in *)&sa.ss)->sin_port);
    }
}

static void load_redis_tls(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    gh_redis_conf *rc = call->target;
    gh_client_tls t = {0};
    gh__cfg_client_tls(w, v, v, call->ctx, &t, false);
    rc->tls = t.ctx;
    /* By default the certificate must name the host as the address wrote it. */
    rc->server_name = t.server_name ? t.server_name : rc->port ? gh__cfg_host_of(w->arena, rc->address) : NULL;
}

static const char *const failures[] = {"local", "deny", "allow", NULL};

static const gh_keyword redis_keys[] = {
    {"address", GH_KW_CUSTOM, GH_KW_REQUIRED, .load = load_redis_address},
    {"password", GH_KW_SECRET, GH_KW_AT(gh_redis_conf, password)},
    {"tls", GH_KW_CUSTOM, .load = load_redis_tls},
    {"timeout", GH_KW_DURATION, GH_KW_AT(gh_redis_conf, timeout_ms), .min = 1, .max = 10000,
     .def = "50ms"},
    {"on_failure", GH_KW_ENUM, GH_KW_AT(gh_redis_conf, on_failure), .choices = failures},
    GH_KW_END,
};

/* stores: {redis: {address, password, tls, timeout, on_failure}}. */
static void load_redis(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    gh_config *c = call->target;
    if ((c->redis = gh_arena_zalloc(w->arena, sizeof(*c->redis))))
        gh__cfg_apply(w, v, redis_keys, c->redis, c);
}

const gh_keyword gh__cfg_stores_keys[] = {
    {"redis", GH_KW_CUSTOM, .load = load_redis},
    GH_KW_END,
};

void gh__cfg_load_rate_limits(gh_walk *w, yaml_node_t *n, const gh_kw_call *call)
{
    gh_config *c = call->target;
    limits_site at = {c, call->ctx};
    gh__cfg_each_provider(w, n, c, (void **)&c->rate_limits, sizeof(gh_rate_limit_conf),
                          &c->nrate_limits, load_limit, &at);
}

/* A route's rate_limit: a name or a list of names, each a key the route can provide. */
void gh__cfg_load_route_limits(gh_walk *w, yaml_node_t *n, const gh_kw_call *call)
{
    gh_route_conf *r = call->target;
    const gh_config *c = call->ctx;
    size_t count = 1;
    yaml_node_item_t *items = n->type == YAML_SEQUENCE_NODE ? gh__walk_items(w, n, &count) : NULL;
    if (count > GH_MAX_ROUTE_LIMITS) {
        gh__walk_error(w, n, "at most %d limits on a route", GH_MAX_ROUTE_LIMITS);
        return;
    }
    r->limits = gh_arena_zalloc(w->arena, (count ? count : 1) * sizeof(*r->limits));
    for (size_t i = 0; r->limits && i < count; i++) {
        size_t at = items ? gh__walk_push_index(w, i) : 0;
        yaml_node_t *v = items ? gh__walk_node(w, items[i]) : n;
        const char *name;
        const gh_rate_limit_conf *l = NULL;
        if (gh__walk_str(w, v, &name)) {
            for (size_t k = 0; k < c->nrate_limits && !l; k++)
                if (strcmp(c->rate_limits[k].name, name) == 0)
                    l = &c->rate_limits[k];
            if (!l)
                gh__walk_error(w, v, "no limit rate_limits.%s", name);
            else if (l->key == GH_LKEY_CLAIM && !r->auth_token)
                gh__walk_error(w, v, "its key jwt.%s needs a token: auth jwt or introspection", l->key_arg);
            else if (l->key == GH_LKEY_API_KEY && !r->auth_api_key)
                gh__walk_error(w, v, "its key api_key needs auth: {api_key: …}");
            else
                r->limits[r->nlimits++] = l;
        }
        if (items)
            gh__walk_pop(w, at);
    }
}
