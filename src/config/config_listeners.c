/* listeners:, admin: and trusted_proxies: the addresses the gateway serves and the proxies
 * whose forwarded addresses it believes. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"

/* Names appear in logs and metric labels: a small alphabet keeps both unambiguous. */
bool gh__cfg_name_ok(const char *name)
{
    bool ok = name[0] != '\0' && strlen(name) <= 64;
    for (const char *ch = name; *ch; ch++)
        ok &= (*ch >= 'a' && *ch <= 'z') || (*ch >= 'A' && *ch <= 'Z') ||
              (*ch >= '0' && *ch <= '9') || *ch == '-' || *ch == '_' || *ch == '.';
    return ok;
}

uint64_t gh__cfg_listener_id(const char *name)
{
    uint64_t h = 14695981039346656037ull;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return h ? h : 1; /* 0 is "no listener" */
}

/* What a listener's keys are read with. */
typedef struct listener_site {
    gh_config *c;
    gh_ticket_ring *tickets; /* NULL for `check` */
} listener_site;

static const char *const underscores[] = {"drop", "refuse", "allow", NULL};

/* A value that is not a boolean turns HTTP/2 off, as h2c's own check then reports. */
static void load_http2(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    static const char *const no_yes[] = {"false", "true", NULL};
    ((gh_listener_conf *)call->target)->http2 = gh__walk_enum(w, v, no_yes) == 1;
}

static void load_h2c(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    static const char *const no_yes[] = {"false", "true", NULL};
    gh_listener_conf *l = call->target;
    l->h2c = gh__walk_enum(w, v, no_yes) == 1;
    if (l->h2c && gh__walk_get(w, call->map, "tls"))
        gh__walk_error(w, v, "h2c is HTTP/2 without TLS: a TLS listener offers h2 by ALPN");
    else if (l->h2c && !l->http2)
        gh__walk_error(w, v, "h2c needs http2: true");
}

static void load_address(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    gh_listener_conf *l = call->target;
    if (gh__walk_str(w, v, &l->address) && gh_parse_hostport(l->address, &l->addr) != 0)
        gh__walk_error(w, v, "'%s' is not an address such as 127.0.0.1:8080 or [::1]:8080",
                       l->address);
}

static void load_tls(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    const listener_site *at = call->ctx;
    gh__cfg_load_listener_tls(w, v, at->c, call->target, at->tickets);
}

static const gh_keyword listener_keys[] = {
    {"name", GH_KW_STRING, GH_KW_AT(gh_listener_conf, name), .valid = gh__cfg_name_ok,
     .invalid = "names use letters, digits, '-', '_' and '.', at most 64"},
    {"methods", GH_KW_CUSTOM, GH_KW_ALWAYS, GH_KW_AT(gh_listener_conf, methods),
     .load = gh__cfg_kw_methods},
    {"http2", GH_KW_CUSTOM, .def = "true", .load = load_http2},
    {"h2c", GH_KW_CUSTOM, .load = load_h2c},
    {"headers_with_underscores", GH_KW_ENUM, GH_KW_AT(gh_listener_conf, underscores),
     .choices = underscores, .def = "drop"},
    {"address", GH_KW_CUSTOM, GH_KW_REQUIRED, .load = load_address},
    {"tls", GH_KW_CUSTOM, .load = load_tls},
    GH_KW_END,
};

static void load_listener(gh_walk *w, yaml_node_t *n, listener_site *at, gh_listener_conf *l)
{
    if (!gh__cfg_apply(w, n, listener_keys, l, at))
        return;
    if (!l->name)
        l->name = l->address;
    l->id = l->name ? gh__cfg_listener_id(l->name) : 0;
}

/* Each listener is unlike the ones before it, in address and in name. */
static void check_unique(gh_walk *w, yaml_node_t *n, const gh_config *c, size_t i)
{
    const gh_listener_conf *l = &c->listeners[i];
    for (size_t j = 0; j < i; j++)
        if (l->address && c->listeners[j].address && l->addr.len == c->listeners[j].addr.len &&
            memcmp(&l->addr.ss, &c->listeners[j].addr.ss, l->addr.len) == 0)
            gh__walk_error(w, n, "same address as listeners[%zu]", j);
    for (size_t j = 0; j < i; j++)
        if (l->name && c->listeners[j].name &&
            (l->id == c->listeners[j].id || strcmp(l->name, c->listeners[j].name) == 0))
            gh__walk_error(w, n, "the name '%s' is also listeners[%zu]'s", l->name, j);
}

void gh__cfg_load_listeners(gh_walk *w, yaml_node_t *n, const gh_kw_call *call)
{
    gh_config *c = call->target;
    gh_shared *shared = call->ctx;
    listener_site at = {c, shared ? &shared->tickets : NULL};
    size_t count;
    yaml_node_item_t *items = gh__walk_items_within(w, n, 16, "listeners", &count);
    if (!items)
        return;
    c->listeners = gh_arena_zalloc(&c->arena, count * sizeof(*c->listeners));
    c->nlisteners = count;
    for (size_t i = 0; i < count; i++) {
        size_t saved = gh__walk_push_index(w, i);
        yaml_node_t *item = gh__walk_node(w, items[i]);
        load_listener(w, item, &at, &c->listeners[i]);
        check_unique(w, item, c, i);
        gh__walk_pop(w, saved);
    }
}

/* The admin listener: a listener with an address only, and the token its callers show. */
static const gh_keyword admin_keys[] = {
    {"address", GH_KW_CUSTOM},
    {"token", GH_KW_CUSTOM},
    GH_KW_END,
};

/* A token travels in a header: visible ASCII only, and long enough not to be guessed. */
static void load_admin_token(gh_walk *w, yaml_node_t *n, gh_config *c)
{
    yaml_node_t *v = gh__walk_get(w, n, "token");
    if (!v)
        return;
    size_t saved = gh__walk_push_key(w, "token");
    size_t len = 0;
    char *token = gh__walk_secret(w, v, &len);
    if (token && !gh__cfg_keep_secret(w, token, len))
        token = NULL;
    bool visible = token != NULL;
    for (size_t i = 0; token && i < len; i++)
        visible &= token[i] > 0x20 && token[i] < 0x7f;
    if (token && (len < 16 || !visible))
        gh__walk_error(w, v, "an admin token is at least 16 visible ASCII characters, no spaces");
    else
        c->admin_token = token;
    gh__walk_pop(w, saved);
}

static bool loopback(const gh_sockaddr *a)
{
    if (a->ss.ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr) >> 24) == 127;
    const struct in6_addr *in6 = &((const struct sockaddr_in6 *)&a->ss)->sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(in6) ||
           (IN6_IS_ADDR_V4MAPPED(in6) && in6->s6_addr[12] == 127);
}

void gh__cfg_load_admin(gh_walk *w, yaml_node_t *n, const gh_kw_call *call)
{
    gh_config *c = call->target;
    listener_site at = {c, NULL};
    if (!gh__cfg_known(w, n, (const gh_keyword *const[]){admin_keys, NULL}))
        return;
    gh__cfg_defaults(w, listener_keys, &c->admin);
    gh__cfg_fill(w, n, listener_keys, &c->admin, &at); /* its keys were checked: no tls */
    if (!c->admin.name)
        c->admin.name = c->admin.address;
    c->admin.id = c->admin.name ? gh__cfg_listener_id(c->admin.name) : 0;
    load_admin_token(w, n, c);
    c->has_admin = c->admin.address != NULL;
    /* Anyone who reaches the admin listener can reload or stop the gateway: off this host,
     * only with a token. */
    if (c->has_admin && !c->admin_token && !loopback(&c->admin.addr)) {
        size_t saved = gh__walk_push_key(w, "address");
        gh__walk_error(w, gh__walk_get(w, n, "address"),
                       "an admin listener reachable beyond this host needs admin.token: it can "
                       "reload and stop the gateway");
        gh__walk_pop(w, saved);
    }
}

static int parse_cidr(const char *s, gh_cidr *out)
{
    char buf[64];
    const char *slash = strchr(s, '/');
    size_t len = slash ? (size_t)(slash - s) : strlen(s);
    if (len >= sizeof(buf))
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    int max;
    if (inet_pton(AF_INET, buf, out->addr) == 1) {
        out->family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
        out->family = AF_INET6;
        max = 128;
    } else {
        return -1;
    }
    out->prefix = max;
    if (slash) {
        char *end;
        long p = strtol(slash + 1, &end, 10);
        if (slash[1] == '\0' || *end != '\0' || p < 0 || p > max)
            return -1;
        out->prefix = (int)p;
    }
    return 0;
}

int gh__cfg_parse_cidr(const char *s, gh_cidr *out)
{
    return parse_cidr(s, out);
}

void gh__cfg_load_trusted(gh_walk *w, yaml_node_t *n, const gh_kw_call *call)
{
    gh_config *c = call->target;
    size_t count;
    yaml_node_item_t *items = gh__walk_items(w, n, &count);
    if (!items)
        return;
    c->trusted_proxies = gh_arena_zalloc(&c->arena, (count ? count : 1) * sizeof(gh_cidr));
    for (size_t i = 0; i < count; i++) {
        size_t saved = gh__walk_push_index(w, i);
        yaml_node_t *it = gh__walk_node(w, items[i]);
        const char *s;
        if (gh__walk_str(w, it, &s) && parse_cidr(s, &c->trusted_proxies[c->ntrusted_proxies]) == 0)
            c->ntrusted_proxies++;
        else
            gh__walk_error(w, it, "expected an address or CIDR such as 10.0.0.0/8 or ::1");
        gh__walk_pop(w, saved);
    }
}
