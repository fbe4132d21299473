/* Internal to src/config: the section loaders share the walker, the keyword tables and the
 * snapshot. A loader of the form gh_kw_loader reads one key of a table: its call's target is
 * the struct being filled (the snapshot for the top level, a route for a route's keys) and its
 * ctx what the table was applied with (gh_shared * at the top level, the snapshot in routes). */
#ifndef GH_CONFIG_INTERNAL_H
#define GH_CONFIG_INTERNAL_H

#include "config/config.h"
#include "config/keep.h"
#include "config/keyword.h"
#include "config/yaml_walk.h"

/* The top level's sections. */
extern const gh_keyword gh__cfg_http1_keys[], gh__cfg_http2_keys[], gh__cfg_paths_keys[];
extern const gh_keyword gh__cfg_identity_keys[], gh__cfg_stores_keys[], gh__cfg_audit_keys[];
extern const gh_keyword gh__cfg_limits_keys[]; /* read by gh__cfg_load_limits */
extern const gh_keyword gh__cfg_tracing_keys[];
extern const gh_keyword gh__cfg_anomaly_keys[]; /* read by gh__cfg_load_anomaly */
gh_kw_loader gh__cfg_load_anomaly;
/* "10.0.0.0/8", "::1": 0, or -1 when s is no address or CIDR. */
int gh__cfg_parse_cidr(const char *s, gh_cidr *out);
extern const gh_keyword gh__cfg_bans_keys[]; /* read by gh__cfg_load_bans */
gh_kw_loader gh__cfg_load_bans;
/* The snapshot's bans settings to the process's table (a snapshot goes in force). */
void gh__cfg_bans_in_force(const gh_config *cfg);
gh_kw_loader gh__cfg_load_listeners, gh__cfg_load_admin, gh__cfg_load_limits,
    gh__cfg_load_top_headers, gh__cfg_load_trusted, gh__cfg_load_upstreams,
    gh__cfg_load_policies, gh__cfg_load_rate_limits, gh__cfg_load_routes, gh__cfg_load_user,
    gh__cfg_load_group;
/* user: without group: takes the user's primary group (an id with no entry needs group:). */
void gh__cfg_process_finish(gh_walk *w, yaml_node_t *root, gh_config *c);

/* A route's keys (target the route, ctx the snapshot). */
gh_kw_loader gh__cfg_load_route_listeners, gh__cfg_load_auth, gh__cfg_load_route_limits,
    gh__cfg_load_route_headers, gh__cfg_load_cors, gh__cfg_load_body, gh__cfg_load_tags,
    gh__cfg_load_critical, gh__cfg_load_websocket;
/* An origin: a scheme and a host ("https://app.example.com[:port]"), the host a wildcard
 * ("*." then a domain) or not; no path. */
bool gh__cfg_origin_ok(const char *o);
/* A list of such origins or "*" into *origins and *n (none: the error none); whether "*" is
 * in it. */
bool gh__cfg_origin_list(gh_walk *w, yaml_node_t *v, const char ***origins,
                         size_t *n, const char *none);
/* A list of methods into the unsigned the key names; GH_KW_ALWAYS: all when missing. */
gh_kw_loader gh__cfg_kw_methods;
/* auth: the authorization rules beside the authentication, then what they add to the route. */
extern const gh_keyword gh__cfg_authz_keys[];
void gh__cfg_authz_finish(gh_walk *w, yaml_node_t *auth, gh_route_conf *r);

/* Loads each provider of the mapping n into a new arena array of elem-sized structs that start
 * with their name; load fills one. */
void gh__cfg_each_provider(gh_walk *w, yaml_node_t *n, gh_config *c, void **array, size_t elem,
                           size_t *count, void (*load)(gh_walk *, yaml_node_t *, void *, void *),
                           void *ctx);
/* The keys JWT and introspection providers share: issuer (required, or not), audiences, then
 * the token's rules; kind: the tables only this kind of provider has (NULL-terminated, known
 * here, read by the caller). Returns false when n is not a mapping. */
bool gh__cfg_load_token_rules(gh_walk *w, yaml_node_t *n, gh_jwt_provider *p,
                              bool issuer_required, const gh_keyword *const *kind);
void gh__cfg_load_introspection(gh_walk *w, yaml_node_t *n, void *prov, void *ctx);
void gh__cfg_load_api_key_provider(gh_walk *w, yaml_node_t *n, void *prov, void *ctx);
void gh__cfg_load_hmac_provider(gh_walk *w, yaml_node_t *n, void *prov, void *ctx);

/* Every header a route sets from what the gateway verified (claims, API key clients): dropped
 * from every request, whatever the route. */
void gh__cfg_collect_owned_headers(gh_config *c);
bool gh__cfg_header_name_ok(const char *name);
/* A header name other than Authorization and Cookie: where a credential is never read. */
bool gh__cfg_plain_header_ok(const char *name);
/* A list of methods (GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS) as GH_M_* bits; GET brings
 * HEAD; TRACE and CONNECT are refused with their reason. */
unsigned gh__cfg_methods(gh_walk *w, yaml_node_t *v);
/* listeners[].tls: builds the listener's TLS contexts. */
void gh__cfg_load_listener_tls(gh_walk *w, yaml_node_t *n, gh_config *c, gh_listener_conf *l,
                               gh_ticket_ring *tickets);
/* A client TLS mapping {ca_file, server_name, certificate, private_key[, insecure_skip_verify]}:
 * n NULL gives the defaults (the system's CAs, verification on). The context is made now, so a
 * certificate that cannot be used fails the configuration where it is named. */
typedef struct gh_client_tls {
    SSL_CTX *ctx; /* released with the snapshot */
    const char *server_name; /* NULL: the caller's default */
    bool insecure;
    const char *ca_file, *cert_file, *key_file; /* as resolved; NULL when not given */
} gh_client_tls;
void gh__cfg_client_tls(gh_walk *w, yaml_node_t *n, yaml_node_t *where, gh_config *c,
                        gh_client_tls *out, bool allow_insecure);
/* upstreams.<name>.tls (n may be NULL: the defaults for https:// endpoints; errors then point
 * at where). */
void gh__cfg_load_upstream_tls(gh_walk *w, yaml_node_t *n, yaml_node_t *where, gh_config *c,
                               gh_upstream_conf *u);
/* auth.mtls: which verified client certificates a route accepts. */
gh_mtls_rule *gh__cfg_load_mtls_rule(gh_walk *w, yaml_node_t *n);
/* Warns about routes that an earlier route always matches first. */
void gh__cfg_check_shadowing(gh_walk *w, yaml_node_t *routes, const gh_config *c);

bool gh__cfg_name_ok(const char *name);
/* upstreams.<name>.health (config_health.c): active checks, http or tcp. */
void gh__cfg_load_health(gh_walk *w, yaml_node_t *v, const gh_kw_call *call);
/* upstreams.<name>.outlier and .retry (config_resilience.c), what their values imply once
 * the upstream is read, and routes[].retry. */
extern const gh_keyword gh__cfg_outlier_keys[], gh__cfg_retry_keys[];
void gh__cfg_finish_upstream_resilience(gh_walk *w, yaml_node_t *n, gh_upstream_conf *u);
/* upstreams.<name>.balance (config_balance.c): its keys; an endpoint's weight when it is
 * written {url, weight} (returns the url node, NULL after reporting); after the upstream's
 * keys, what the policy needs and its tables. */
extern const gh_keyword gh__cfg_balance_keys[];
yaml_node_t *gh__cfg_endpoint_weight(gh_walk *w, yaml_node_t *n, gh_endpoint_conf *e);
void gh__cfg_finish_upstream_balance(gh_walk *w, yaml_node_t *n, gh_upstream_conf *u);
void gh__cfg_load_route_retry(gh_walk *w, yaml_node_t *v, const gh_kw_call *call);
/* Whether p, written at v, is a canonical path a route can name (reported otherwise): rooted,
 * no character normalization would escape, no dot segment or empty segment; {param} segments
 * only when templates, their number in *params (may be NULL). */
bool gh__cfg_path_ok(gh_walk *w, yaml_node_t *v, const char *p, bool templates, size_t *params);
/* routes[].rewrite (after the route's match and upstream), upstreams.<name>.host. */
void gh__cfg_load_rewrite(gh_walk *w, yaml_node_t *v, const gh_kw_call *call);
void gh__cfg_load_host_rule(gh_walk *w, yaml_node_t *v, const gh_kw_call *call);
/* A listener's id: FNV-1a (64 bits) of its name, stable across reloads. */
uint64_t gh__cfg_listener_id(const char *name);
/* The host of "host:port" or "[v6]:port" as written (arena), or NULL without a port. */
const char *gh__cfg_host_of(gh_arena *a, const char *hostport);

#endif
