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

static void load_key(gh_walk *w, yaml_node_t *n, gh_rate_limit_conf *l)
{
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
static void load_prefix(gh_walk *w, yaml_node_t *v, const gh_rate_limit_conf *l, uint64_t lo,
                        uint64_t hi, uint8_t *out)
{
    uint64_t x;
    if (l->key != GH_LKEY_CLIENT_IP)
        gh__walk_error(w, v, "only a limit with key: client_ip counts by address prefix");
    else if (gh__walk_uint(w, v, lo, hi, &x))
        *out = (uint8_t)x;
}

struct limits_ctx {
    gh_config *c;
    gh_limit_registry *reg;
};

static void load_limit(gh_walk *w, yaml_node_t *n, void *item, void *ctx)
{
    static const char *const keys[] = {"key",      "rate",        "burst",       "quota",
                                       "store",    "mode",        "headers",     "max_keys",
                                       "ipv4_prefix", "ipv6_prefix", NULL};
    static const char *const rate_units[] = {"s", "m", "h", NULL};
    static const char *const quota_units[] = {"day", "month", NULL};
    static const char *const modes[] = {"enforce", "shadow", NULL};
    static const char *const header_modes[] = {"on_limit", "always", "never", NULL};
    static const char *const stores[] = {"local", "redis", NULL};
    static const uint64_t periods[] = {1, 60, 3600};
    gh_rate_limit_conf *l = item;
    l->max_keys = 100000;
    if (!gh__walk_keys(w, n, keys))
        return;
    yaml_node_t *v;
    size_t saved;
    uint64_t x;
    GH_CFG_FIELD(w, n, "key", true, load_key(w, v, l))
    GH_CFG_FIELD(w, n, "rate", true, {
        int unit = parse_per(w, v, rate_units, &l->count);
        if (unit >= 0)
            l->period_s = periods[unit];
    })
    l->rule.burst = (int64_t)l->count;
    GH_CFG_FIELD(w, n, "burst", false, if (gh__walk_uint(w, v, 1, 10000000, &x)) l->rule.burst = (int64_t)x)
    GH_CFG_FIELD(w, n, "quota", false, {
        int unit = parse_per(w, v, quota_units, &l->rule.quota);
        l->quota_window = unit == 0 ? GH_QUOTA_DAY : unit == 1 ? GH_QUOTA_MONTH : GH_QUOTA_NONE;
    })
    GH_CFG_FIELD(w, n, "store", false, l->redis = gh__walk_enum(w, v, stores) == 1)
    const struct limits_ctx *lc = ctx;
    if (l->redis && !lc->c->redis)
        gh__walk_error(w, n, "store: redis needs stores.redis");
    GH_CFG_FIELD(w, n, "mode", false, l->shadow = gh__walk_enum(w, v, modes) == 1)
    GH_CFG_FIELD(w, n, "headers", false, {
        int h = gh__walk_enum(w, v, header_modes);
        if (h >= 0)
            l->headers = (gh_limit_headers)h;
    })
    GH_CFG_FIELD(w, n, "max_keys", false,
             if (gh__walk_uint(w, v, 1, 100000000, &x)) l->max_keys = (size_t)x)
    /* One client holds a whole IPv6 /64 (RFC 4291 2.5.4, what ISPs hand out): counting /128s
     * would give it 2^64 buckets. */
    l->ipv4_prefix = 32;
    l->ipv6_prefix = 64;
    GH_CFG_FIELD(w, n, "ipv4_prefix", false, load_prefix(w, v, l, 8, 32, &l->ipv4_prefix))
    GH_CFG_FIELD(w, n, "ipv6_prefix", false, load_prefix(w, v, l, 16, 128, &l->ipv6_prefix))
    if (l->count)
        l->rule.interval_us = (int64_t)(l->period_s * 1000000 / l->count);
    if (l->count && l->rule.interval_us == 0)
        gh__walk_error(w, n, "rate: more than a million a second is no limit");
    gh_limit_registry *reg = lc->reg;
    if (!reg || w->diag->errors)
        return;
    l->registry = reg;
    if (!(l->table = gh_limit_table_get(reg, l->name, l->max_keys)))
        gh__walk_error(w, n, "out of memory for the rate-limit table");
}

/* stores: {redis: {address, password, tls, timeout, on_failure}}. */
void gh__cfg_load_stores(gh_walk *w, yaml_node_t *n, gh_config *c)
{
    static const char *const keys[] = {"redis", NULL};
    static const char *const redis_keys[] = {"address", "password", "tls", "timeout", "on_failure", NULL};
    static const char *const failures[] = {"local", "deny", "allow", NULL};
    yaml_node_t *v, *r;
    size_t saved;
    uint64_t x;
    if (!gh__walk_keys(w, n, keys) || !(r = gh__walk_get(w, n, "redis")))
        return;
    size_t at = gh__walk_push_key(w, "redis");
    gh_redis_conf *rc = gh_arena_zalloc(&c->arena, sizeof(*rc));
    c->redis = rc;
    if (!rc || !gh__walk_keys(w, r, redis_keys)) {
        gh__walk_pop(w, at);
        return;
    }
    rc->timeout_ms = 50;
    GH_CFG_FIELD(w, r, "address", true, {
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
    })
    GH_CFG_FIELD(w, r, "password", false, {
        size_t len = 0;
        rc->password = gh__walk_secret(w, v, &len);
    })
    GH_CFG_FIELD(w, r, "tls", false, {
        gh_client_tls t = {0};
        gh__cfg_client_tls(w, v, v, c, &t, false);
        rc->tls = t.ctx;
        /* By default the certificate must name the host as the address wrote it. */
        rc->server_name = t.server_name ? t.server_name : rc->port ? gh__cfg_host_of(w->arena, rc->address) : NULL;
    })
    GH_CFG_FIELD(w, r, "timeout", false, if (gh__walk_duration_ms(w, v, 1, 10000, &x)) rc->timeout_ms = x)
    GH_CFG_FIELD(w, r, "on_failure", false, {
        int f = gh__walk_enum(w, v, failures);
        if (f >= 0)
            rc->on_failure = (gh_redis_failure)f;
    })
    gh__walk_pop(w, at);
}

void gh__cfg_load_rate_limits(gh_walk *w, yaml_node_t *n, gh_config *c, gh_limit_registry *reg)
{
    struct limits_ctx ctx = {c, reg};
    gh__cfg_each_provider(w, n, c, (void **)&c->rate_limits, sizeof(gh_rate_limit_conf),
                          &c->nrate_limits, load_limit, &ctx);
}

/* A route's rate_limit: a name or a list of names, each a key the route can provide. */
void gh__cfg_load_route_limits(gh_walk *w, yaml_node_t *n, gh_config *c, gh_route_conf *r)
{
    size_t count = 1;
    yaml_node_item_t *items = n->type == YAML_SEQUENCE_NODE ? gh__walk_items(w, n, &count) : NULL;
    if (count > GH_MAX_ROUTE_LIMITS) {
        gh__walk_error(w, n, "at most %d limits on a route", GH_MAX_ROUTE_LIMITS);
        return;
    }
    r->limits = gh_arena_zalloc(&c->arena, (count ? count : 1) * sizeof(*r->limits));
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
