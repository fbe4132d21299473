/* Internal to src/config: the section loaders share the walker and the snapshot. */
#ifndef GH_CONFIG_INTERNAL_H
#define GH_CONFIG_INTERNAL_H

#include "config/config.h"
#include "config/yaml_walk.h"

void gh__cfg_load_upstreams(gh_walk *w, yaml_node_t *n, gh_config *c, gh_upstream_registry *reg);
void gh__cfg_load_routes(gh_walk *w, yaml_node_t *n, gh_config *c);
void gh__cfg_load_identity(gh_walk *w, yaml_node_t *n, gh_config *c, gh_key_registry *keys);
/* Loads map's key with `call` (which sees the node as v) under the key's path, or reports it
 * missing when required. Needs `yaml_node_t *v` and `size_t saved` in scope. */
#define GH_CFG_FIELD(w, map, key, required, call)                                                  \
    saved = gh__walk_push_key(w, key);                                                             \
    if ((v = gh__walk_get(w, map, key))) {                                                         \
        call;                                                                                      \
    } else if (required) {                                                                         \
        gh__walk_error(w, map, "required");                                                        \
    }                                                                                              \
    gh__walk_pop(w, saved);

/* Loads each provider of the mapping n into a new arena array of elem-sized structs that start
 * with their name; load fills one. */
void gh__cfg_each_provider(gh_walk *w, yaml_node_t *n, gh_config *c, void **array, size_t elem,
                           size_t *count, void (*load)(gh_walk *, yaml_node_t *, void *, void *),
                           void *ctx);
bool gh__cfg_load_token_rules(gh_walk *w, yaml_node_t *n, gh_jwt_provider *p,
                              const char *const *kind_keys, bool issuer_required);
/* A list of strings into an arena array. */
const char **gh__cfg_string_list(gh_walk *w, yaml_node_t *n, size_t *count);
/* The route's authorization rules from its auth: mapping, after its authentication. */
void gh__cfg_load_authz(gh_walk *w, yaml_node_t *auth, gh_config *c, gh_route_conf *r);
void gh__cfg_load_policies(gh_walk *w, yaml_node_t *n, gh_config *c);
/* paths: the canonical path's rules. */
void gh__cfg_load_paths(gh_walk *w, yaml_node_t *n, gh_config *c);
/* headers: (top level, with hardening and hsts; n NULL: the defaults) or a route's headers:
 * into out. */
void gh__cfg_load_headers(gh_walk *w, yaml_node_t *n, gh_config *c, gh_headers_conf *out, bool top);
/* Every header a route sets from what the gateway verified (claims, API key clients): dropped
 * from every request, whatever the route. */
void gh__cfg_collect_owned_headers(gh_config *c);
bool gh__cfg_header_name_ok(const char *name);
/* A route's body: (after its auth and rate limits: its stage runs last). */
void gh__cfg_load_body(gh_walk *w, yaml_node_t *n, gh_config *c, gh_route_conf *r);
/* A route's cors: (after its match, whose methods are the default). */
void gh__cfg_load_cors(gh_walk *w, yaml_node_t *n, gh_config *c, gh_route_conf *r);
/* A list of methods (GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS) as GH_M_* bits; GET brings
 * HEAD; TRACE and CONNECT are refused with their reason. */
unsigned gh__cfg_methods(gh_walk *w, yaml_node_t *v);
void gh__cfg_load_stores(gh_walk *w, yaml_node_t *n, gh_config *c);
/* listeners[].tls: builds the listener's TLS contexts. */
void gh__cfg_load_listener_tls(gh_walk *w, yaml_node_t *n, gh_config *c, gh_listener_conf *l,
                               gh_ticket_ring *tickets);
/* A client TLS mapping {ca_file, server_name, certificate, private_key[, insecure_skip_verify]}:
 * n NULL gives the defaults (the system's CAs, verification on). The context is made now, so a
 * certificate that cannot be used fails the configuration where it is named. */
typedef struct gh_client_tls {
    SSL_CTX *ctx;
    const char *server_name; /* NULL: the caller's default */
    bool insecure;
} gh_client_tls;
void gh__cfg_client_tls(gh_walk *w, yaml_node_t *n, yaml_node_t *where, gh_config *c,
                        gh_client_tls *out, bool allow_insecure);
/* upstreams.<name>.tls (n may be NULL: the defaults for https:// endpoints; errors then point
 * at where). */
void gh__cfg_load_upstream_tls(gh_walk *w, yaml_node_t *n, yaml_node_t *where, gh_config *c,
                               gh_upstream_conf *u);
/* auth.mtls: which verified client certificates a route accepts. */
gh_mtls_rule *gh__cfg_load_mtls_rule(gh_walk *w, yaml_node_t *n, gh_config *c);
void gh__cfg_load_rate_limits(gh_walk *w, yaml_node_t *n, gh_config *c, gh_limit_registry *reg);
/* A route's rate_limit: (a name or a list), after its auth. */
void gh__cfg_load_route_limits(gh_walk *w, yaml_node_t *n, gh_config *c, gh_route_conf *r);
void gh__cfg_load_introspection(gh_walk *w, yaml_node_t *n, void *prov, void *ctx);
void gh__cfg_load_api_key_provider(gh_walk *w, yaml_node_t *n, void *prov, void *ctx);
void gh__cfg_load_hmac_provider(gh_walk *w, yaml_node_t *n, void *prov, void *ctx);
/* A route's tags, critical and audit (the risks accepted on it). */
void gh__cfg_load_route_meta(gh_walk *w, yaml_node_t *n, gh_config *c, gh_route_conf *r);
/* audit: {accept: {CHECK: reason}} at the top level or on a route. */
void gh__cfg_load_audit(gh_walk *w, yaml_node_t *n, gh_config *c, gh_audit_conf *out);
/* Warns about routes that an earlier route always matches first. */
void gh__cfg_check_shadowing(gh_walk *w, yaml_node_t *routes, const gh_config *c);

bool gh__cfg_name_ok(const char *name);
/* A listener's id: FNV-1a (64 bits) of its name, stable across reloads. */
uint64_t gh__cfg_listener_id(const char *name);
/* A route's listeners: names of the listeners that serve it. */
void gh__cfg_load_route_listeners(gh_walk *w, yaml_node_t *n, gh_config *c, gh_route_conf *r);
/* The host of "host:port" or "[v6]:port" as written (arena), or NULL without a port. */
const char *gh__cfg_host_of(gh_arena *a, const char *hostport);

/* A sequence's items, for loops: NULL and count 0 if n is not a sequence (reported). */
yaml_node_item_t *gh__walk_items(gh_walk *w, yaml_node_t *n, size_t *count);

#endif
