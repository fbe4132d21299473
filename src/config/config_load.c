/* The top level of the configuration file: workers, listeners, admin, HTTP/1 strictness,
 * limits, trusted proxies, logging, drain. Upstreams and routes live in their own files. */
#include <arpa/inet.h>
#include <netdb.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config_internal.h"
#include "tls/tls_server.h"
#include "identity/token_cache.h"
#include "schema/schema.h"

#define GH_MAX_FILE_BYTES (4u << 20)
#define GH_BLOCK_LIMIT (32u << 10) /* max_head_bytes cannot exceed an input block */

static const char *const top_keys[] = {
    "workers",    "listeners",     "admin",     "http1",  "http2", "limits", "paths", "headers", "trusted_proxies",
    "access_log", "drain_timeout", "upstreams", "identity", "policies", "stores", "rate_limits", "routes", "audit", NULL};

yaml_node_item_t *gh__walk_items(gh_walk *w, yaml_node_t *n, size_t *count)
{
    if (!n || n->type != YAML_SEQUENCE_NODE) {
        gh__walk_error(w, n, "expected a list");
        *count = 0;
        return NULL;
    }
    *count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    return n->data.sequence.items.start;
}

int gh_parse_hostport(const char *s, gh_sockaddr *out)
{
    char host[256];
    const char *port;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof(host))
            return -1;
        memcpy(host, s + 1, (size_t)(close - s - 1));
        host[close - s - 1] = '\0';
        port = close + 2;
    } else {
        const char *colon = strrchr(s, ':');
        if (!colon || colon == s || (size_t)(colon - s) >= sizeof(host))
            return -1;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = '\0';
        port = colon + 1;
    }
    char *end;
    long p = strtol(port, &end, 10);
    if (*port == '\0' || *end != '\0' || p < 1 || p > 65535)
        return -1;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
#ifdef GH_NO_DNS
    /* Fuzzing builds never reach the network: names other than literals fail. */
    hints.ai_flags = AI_NUMERICHOST;
#endif
    if (getaddrinfo(host, port, &hints, &res) != 0 || !res)
        return -1;
    memcpy(&out->ss, res->ai_addr, res->ai_addrlen);
    out->len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

const char *gh__cfg_host_of(gh_arena *a, const char *hostport)
{
    const char *host = hostport + (hostport[0] == '[');
    const char *end = hostport[0] == '[' ? strchr(host, ']') : strrchr(host, ':');
    return end ? gh_arena_strndup(a, host, (size_t)(end - host)) : NULL;
}

static void load_listener(gh_walk *w, yaml_node_t *n, gh_config *c, gh_listener_conf *l,
                          gh_ticket_ring *tickets)
{
    static const char *const keys[] = {"name", "address", "tls",     "http2",
                                       "h2c",  "methods", "headers_with_underscores", NULL};
    static const char *const underscores[] = {"drop", "refuse", "allow", NULL};
    static const char *const no_yes[] = {"false", "true", NULL};
    if (!gh__walk_keys(w, n, keys))
        return;
    yaml_node_t *name = gh__walk_get(w, n, "name");
    if (name) {
        size_t at = gh__walk_push_key(w, "name");
        if (gh__walk_str(w, name, &l->name) && !gh__cfg_name_ok(l->name))
            gh__walk_error(w, name, "names use letters, digits, '-', '_' and '.', at most 64");
        gh__walk_pop(w, at);
    }
    l->http2 = true;
    l->methods = GH_M_ALL;
    yaml_node_t *m = gh__walk_get(w, n, "methods");
    if (m) {
        size_t at = gh__walk_push_key(w, "methods");
        l->methods = gh__cfg_methods(w, m);
        gh__walk_pop(w, at);
    }
    yaml_node_t *v = gh__walk_get(w, n, "http2");
    if (v) {
        size_t at = gh__walk_push_key(w, "http2");
        l->http2 = gh__walk_enum(w, v, no_yes) == 1;
        gh__walk_pop(w, at);
    }
    if ((v = gh__walk_get(w, n, "h2c"))) {
        size_t at = gh__walk_push_key(w, "h2c");
        l->h2c = gh__walk_enum(w, v, no_yes) == 1;
        if (l->h2c && gh__walk_get(w, n, "tls"))
            gh__walk_error(w, v, "h2c is HTTP/2 without TLS: a TLS listener offers h2 by ALPN");
        else if (l->h2c && !l->http2)
            gh__walk_error(w, v, "h2c needs http2: true");
        gh__walk_pop(w, at);
    }
    if ((v = gh__walk_get(w, n, "headers_with_underscores"))) {
        size_t at = gh__walk_push_key(w, "headers_with_underscores");
        int mode = gh__walk_enum(w, v, underscores);
        l->underscores = (uint8_t)(mode < 0 ? GH_US_DROP : mode);
        gh__walk_pop(w, at);
    }
    yaml_node_t *a = gh__walk_get(w, n, "address");
    size_t saved = gh__walk_push_key(w, "address");
    if (!a)
        gh__walk_error(w, n, "required");
    else if (gh__walk_str(w, a, &l->address) && gh_parse_hostport(l->address, &l->addr) != 0)
        gh__walk_error(w, a, "'%s' is not an address such as 127.0.0.1:8080 or [::1]:8080",
                       l->address);
    gh__walk_pop(w, saved);
    if (!l->name)
        l->name = l->address;
    l->id = l->name ? gh__cfg_listener_id(l->name) : 0;
    yaml_node_t *tls = gh__walk_get(w, n, "tls");
    if (tls) {
        saved = gh__walk_push_key(w, "tls");
        gh__cfg_load_listener_tls(w, tls, c, l, tickets);
        gh__walk_pop(w, saved);
    }
}

static void load_listeners(gh_walk *w, yaml_node_t *n, gh_config *c, gh_ticket_ring *tickets)
{
    size_t count;
    yaml_node_item_t *items = gh__walk_items(w, n, &count);
    if (!items)
        return;
    if (count == 0 || count > 16) {
        gh__walk_error(w, n, "between 1 and 16 listeners");
        return;
    }
    c->listeners = gh_arena_zalloc(&c->arena, count * sizeof(*c->listeners));
    c->nlisteners = count;
    for (size_t i = 0; i < count; i++) {
        size_t saved = gh__walk_push_index(w, i);
        load_listener(w, gh__walk_node(w, items[i]), c, &c->listeners[i], tickets);
        for (size_t j = 0; j < i; j++)
            if (c->listeners[i].address && c->listeners[j].address &&
                c->listeners[i].addr.len == c->listeners[j].addr.len &&
                memcmp(&c->listeners[i].addr.ss, &c->listeners[j].addr.ss,
                       c->listeners[i].addr.len) == 0)
                gh__walk_error(w, gh__walk_node(w, items[i]), "same address as listeners[%zu]", j);
        for (size_t j = 0; j < i; j++)
            if (c->listeners[i].name && c->listeners[j].name &&
                (c->listeners[i].id == c->listeners[j].id ||
                 strcmp(c->listeners[i].name, c->listeners[j].name) == 0))
                gh__walk_error(w, gh__walk_node(w, items[i]), "the name '%s' is also listeners[%zu]'s",
                               c->listeners[i].name, j);
        gh__walk_pop(w, saved);
    }
}

static void load_limits(gh_walk *w, yaml_node_t *n, gh_limits_conf *l)
{
    static const char *const keys[] = {"max_head_bytes", "max_headers",     "max_target_bytes",
                                       "head_timeout",   "idle_timeout",    "body_timeout",
                                       "body_deadline",  "body_min_rate",   "body_rate_window",
                                       "body_buffer_before_upstream",       "max_body_bytes",
                                       "max_connections", NULL};
    if (!gh__walk_keys(w, n, keys))
        return;
    yaml_node_t *v;
    uint64_t u;
    size_t saved;
#define GH_LIMIT(key, parse, min, max, field)                                                      \
    if ((v = gh__walk_get(w, n, key))) {                                                           \
        saved = gh__walk_push_key(w, key);                                                         \
        if (parse(w, v, min, max, &u))                                                             \
            l->field = u;                                                                          \
        gh__walk_pop(w, saved);                                                                    \
    }
    GH_LIMIT("max_head_bytes", gh__walk_size, 1024, GH_BLOCK_LIMIT, max_head_bytes)
    GH_LIMIT("max_headers", gh__walk_uint, 1, 1000, max_headers)
    GH_LIMIT("max_target_bytes", gh__walk_size, 64, GH_BLOCK_LIMIT, max_target_bytes)
    GH_LIMIT("head_timeout", gh__walk_duration_ms, 100, 3600000, head_timeout_ms)
    GH_LIMIT("idle_timeout", gh__walk_duration_ms, 100, 86400000, idle_timeout_ms)
    GH_LIMIT("body_timeout", gh__walk_duration_ms, 100, 3600000, body_timeout_ms)
    GH_LIMIT("body_deadline", gh__walk_duration_ms, 100, 86400000, body_deadline_ms)
    GH_LIMIT("body_min_rate", gh__walk_size, 0, 1ull << 30, body_min_rate)
    GH_LIMIT("body_rate_window", gh__walk_duration_ms, 100, 3600000, body_rate_window_ms)
    GH_LIMIT("body_buffer_before_upstream", gh__walk_size, 0, 1ull << 30, body_buffer_bytes)
    GH_LIMIT("max_body_bytes", gh__walk_size, 0, 1ull << 40, max_body_bytes)
    GH_LIMIT("max_connections", gh__walk_uint, 1, 1000000, max_connections)
#undef GH_LIMIT
    if (l->max_target_bytes > l->max_head_bytes)
        gh__walk_error(w, n, "max_target_bytes (%zu) exceeds max_head_bytes (%zu)",
                       l->max_target_bytes, l->max_head_bytes);
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

static void load_trusted(gh_walk *w, yaml_node_t *n, gh_config *c)
{
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

static void load_admin(gh_walk *w, yaml_node_t *n, gh_config *c)
{
    static const char *const keys[] = {"address", NULL};
    if (!gh__walk_keys(w, n, keys))
        return;
    load_listener(w, n, c, &c->admin, NULL); /* its keys were checked: no tls */
    c->has_admin = c->admin.address != NULL;
    if (c->has_admin && c->admin.addr.ss.ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)&c->admin.addr.ss;
        if ((ntohl(sin->sin_addr.s_addr) >> 24) != 127)
            gh__walk_warn(w, n,
                          "the admin listener is reachable beyond this host; it can reload "
                          "the gateway and exposes metrics");
    }
}

static void load_scalars(gh_walk *w, yaml_node_t *root, gh_config *c)
{
    yaml_node_t *v;
    size_t saved;
    if ((v = gh__walk_get(w, root, "workers"))) {
        saved = gh__walk_push_key(w, "workers");
        uint64_t n;
        if (v->type == YAML_SCALAR_NODE && strcmp((char *)v->data.scalar.value, "auto") == 0)
            c->workers = 0;
        else if (gh__walk_uint(w, v, 1, 64, &n))
            c->workers = (int)n;
        gh__walk_pop(w, saved);
    }
    if ((v = gh__walk_get(w, root, "http1"))) {
        static const char *const keys[] = {"strictness", NULL}, *const modes[] = {
                                                                    "strict", "defensive", NULL};
        saved = gh__walk_push_key(w, "http1");
        yaml_node_t *s;
        if (gh__walk_keys(w, v, keys) && (s = gh__walk_get(w, v, "strictness"))) {
            size_t inner = gh__walk_push_key(w, "strictness");
            c->defensive = gh__walk_enum(w, s, modes) == 1;
            gh__walk_pop(w, inner);
        }
        gh__walk_pop(w, saved);
    }
    c->http2 = (gh_http2_conf){100, 65535, 4096, 0};
    if ((v = gh__walk_get(w, root, "http2"))) {
        static const char *const keys[] = {"max_concurrent_streams", "initial_window_size",
                                           "header_table_size", "max_header_list_size", NULL};
        saved = gh__walk_push_key(w, "http2");
        uint64_t x;
        yaml_node_t *f;
        size_t inner;
#define GH_H2_FIELD(key, parse, lo, hi, field)                                                     \
    if ((f = gh__walk_get(w, v, key))) {                                                           \
        inner = gh__walk_push_key(w, key);                                                         \
        if (parse(w, f, lo, hi, &x))                                                               \
            c->http2.field = (uint32_t)x;                                                          \
        gh__walk_pop(w, inner);                                                                    \
    }
        if (gh__walk_keys(w, v, keys)) {
            GH_H2_FIELD("max_concurrent_streams", gh__walk_uint, 1, 1000, max_streams)
            GH_H2_FIELD("initial_window_size", gh__walk_size, 65535, 16u << 20, window)
            GH_H2_FIELD("header_table_size", gh__walk_size, 0, 65536, table_size)
            GH_H2_FIELD("max_header_list_size", gh__walk_size, 1024, 1u << 20, max_header_list)
        }
#undef GH_H2_FIELD
        gh__walk_pop(w, saved);
    }
    if ((v = gh__walk_get(w, root, "access_log"))) {
        saved = gh__walk_push_key(w, "access_log");
        const char *s;
        if (gh__walk_str(w, v, &s)) {
            if (strcmp(s, "stdout") != 0 && strcmp(s, "off") != 0 && s[0] != '/')
                gh__walk_error(w, v, "expected stdout, off or an absolute file path");
            c->access_log = s;
        }
        gh__walk_pop(w, saved);
    }
    if ((v = gh__walk_get(w, root, "drain_timeout"))) {
        saved = gh__walk_push_key(w, "drain_timeout");
        gh__walk_duration_ms(w, v, 0, 3600000, &c->drain_timeout_ms);
        gh__walk_pop(w, saved);
    }
}

static void set_defaults(gh_config *c)
{
    c->workers = 0;
    c->access_log = "stdout";
    c->drain_timeout_ms = 30000;
    c->limits = (gh_limits_conf){
        .max_head_bytes = 16 * 1024,
        .max_headers = 100,
        .max_target_bytes = 8 * 1024,
        .head_timeout_ms = 10000,
        .idle_timeout_ms = 60000,
        .body_timeout_ms = 30000,
        /* A body must keep coming at 1 KiB/s (judged over 5 s windows after the first) and
         * arrive whole within 60 s: a client trickling bytes cannot hold an upstream slot. */
        .body_deadline_ms = 60000,
        .body_min_rate = 1024,
        .body_rate_window_ms = 5000,
        .max_body_bytes = 10 * 1024 * 1024,
        .max_connections = 16384,
    };
}

static void load_root(gh_walk *w, yaml_node_t *root, gh_config *c, gh_shared *shared)
{
    if (!root) {
        gh__walk_error(w, NULL, "the file is empty");
        return;
    }
    if (!gh__walk_keys(w, root, top_keys))
        return;
    load_scalars(w, root, c);
    yaml_node_t *v;
    size_t saved;
#define GH_SECTION(key, call, required)                                                            \
    saved = gh__walk_push_key(w, key);                                                             \
    if ((v = gh__walk_get(w, root, key)))                                                          \
        call;                                                                                      \
    else if (required)                                                                             \
        gh__walk_error(w, root, "required");                                                       \
    gh__walk_pop(w, saved);
    GH_SECTION("listeners", load_listeners(w, v, c, shared ? &shared->tickets : NULL), true)
    GH_SECTION("admin", load_admin(w, v, c), false)
    GH_SECTION("limits", load_limits(w, v, &c->limits), false)
    GH_SECTION("paths", gh__cfg_load_paths(w, v, c), false)
    saved = gh__walk_push_key(w, "headers"); /* its defaults apply when it is absent */
    gh__cfg_load_headers(w, gh__walk_get(w, root, "headers"), c, &c->headers, true);
    gh__walk_pop(w, saved);
    GH_SECTION("trusted_proxies", load_trusted(w, v, c), false)
    GH_SECTION("upstreams", gh__cfg_load_upstreams(w, v, c, shared ? &shared->upstreams : NULL), false)
    GH_SECTION("identity", gh__cfg_load_identity(w, v, c, shared ? &shared->keys : NULL), false)
    GH_SECTION("policies", gh__cfg_load_policies(w, v, c), false)
    GH_SECTION("stores", gh__cfg_load_stores(w, v, c), false)
    GH_SECTION("rate_limits", gh__cfg_load_rate_limits(w, v, c, shared ? &shared->limits : NULL), false)
    GH_SECTION("routes", gh__cfg_load_routes(w, v, c), true)
    GH_SECTION("audit", gh__cfg_load_audit(w, v, c, &c->audit), false)
#undef GH_SECTION
    if ((v = gh__walk_get(w, root, "routes")) && w->diag->errors == 0) {
        saved = gh__walk_push_key(w, "routes");
        gh__cfg_check_shadowing(w, v, c);
        gh__walk_pop(w, saved);
    }
    if (c->workers == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        c->workers = n < 1 ? 1 : n > 64 ? 64 : (int)n;
    }
}

static void hash_hex(const char *data, size_t len, char out[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

gh_config *gh_config_parse_string(const char *name, const char *yaml, size_t len,
                                  gh_shared *shared, gh_diag *diag)
{
    gh_config *c = calloc(1, sizeof(*c));
    if (!c) {
        gh_diag_add(diag, true, "%s: out of memory", name);
        return NULL;
    }
    atomic_init(&c->refs, 1);
    gh_arena_init(&c->arena, 16 * 1024, 0);
    c->file = gh_arena_strdup(&c->arena, name);
    hash_hex(yaml, len, c->hash);
    set_defaults(c);

    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
    size_t errors_before = diag->errors;
    if (!yaml_parser_load(&parser, &doc)) {
        gh_diag_add(diag, true, "%s:%zu:%zu: (yaml): %s", name, parser.problem_mark.line + 1,
                    parser.problem_mark.column + 1,
                    parser.problem ? parser.problem : "invalid YAML");
        yaml_parser_delete(&parser);
        gh_config_release(c);
        return NULL;
    }
    gh_walk w = {.doc = &doc, .file = c->file, .diag = diag, .arena = &c->arena};
    load_root(&w, yaml_document_get_root_node(&doc), c, shared);
    yaml_parser_delete(&parser);
    yaml_document_delete(&doc);
    if (diag->errors > errors_before) {
        gh_config_release(c);
        return NULL;
    }
    return c;
}

gh_config *gh_config_parse(const char *path, gh_shared *shared, gh_diag *diag)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        gh_diag_add(diag, true, "%s:1:1: (file): cannot open: %m", path);
        return NULL;
    }
    char *buf = malloc(GH_MAX_FILE_BYTES + 1);
    size_t len = buf ? fread(buf, 1, GH_MAX_FILE_BYTES + 1, f) : 0;
    fclose(f);
    if (!buf || len > GH_MAX_FILE_BYTES) {
        gh_diag_add(diag, true, "%s:1:1: (file): larger than %u bytes", path, GH_MAX_FILE_BYTES);
        free(buf);
        return NULL;
    }
    gh_config *c = gh_config_parse_string(path, buf, len, shared, diag);
    free(buf);
    return c;
}

void gh_config_ref(gh_config *c)
{
    atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
}

void gh_config_release(gh_config *c)
{
    if (!c || atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
        return;
    if (c->redis && c->redis->password) {
        OPENSSL_cleanse(c->redis->password, strlen(c->redis->password));
        free(c->redis->password);
    }
    if (c->redis)
        SSL_CTX_free(c->redis->tls);
    for (size_t i = 0; i < c->nupstreams; i++)
        SSL_CTX_free(c->upstreams[i].tls);
    for (size_t i = 0; i < c->nhmac_providers; i++) {
        gh_hmac_provider *p = &c->hmac_providers[i];
        for (size_t k = 0; p->secrets && k < p->nsecrets; k++) {
            OPENSSL_cleanse(p->secrets[k], p->secret_lens[k]);
            free(p->secrets[k]);
        }
        free(p->secrets);
        free(p->secret_lens);
        gh_token_cache_delete(p->seen);
    }
    for (size_t i = 0; i < c->nroutes; i++)
        if (c->routes[i].body)
            gh_schema_free(c->routes[i].body->schema);
    for (size_t i = 0; i < c->nlisteners; i++)
        gh_tls_server_unref(c->listeners[i].tls);
    for (size_t i = 0; i < c->npolicies; i++)
        gh_token_cache_delete(c->policies[i].cache);
    for (size_t i = 0; i < c->nrate_limits; i++)
        if (c->rate_limits[i].table)
            gh_limit_table_put(c->rate_limits[i].registry, c->rate_limits[i].table);
    for (size_t i = 0; i < c->nintrospection_providers; i++) {
        gh_jwt_provider *p = &c->introspection_providers[i];
        if (p->introspect && p->introspect->credentials) {
            OPENSSL_cleanse(p->introspect->credentials, strlen(p->introspect->credentials));
            free(p->introspect->credentials);
        }
        gh_token_cache_delete(p->cache);
    }
    for (size_t i = 0; i < c->njwt_providers; i++) {
        gh_jwks_free(&c->jwt_providers[i].keys);
        gh_key_source_put(c->jwt_providers[i].source);
        gh_token_cache_delete(c->jwt_providers[i].cache);
    }
    gh_arena_free(&c->arena);
    free(c);
}
