/* upstreams.<name>.balance and the endpoints' weights: which endpoint takes each request
 * (weighted round robin, least request, consistent hash), and the tables that decision reads,
 * built here once per configuration. */
#include <string.h>

#include "config/config_internal.h"

static const char *const policies[] = {"round_robin", "least_request", "hash", NULL};

static bool token_name_ok(const char *s)
{
    for (const char *c = s; *c; c++)
        if (!gh_h1_is_tchar((unsigned char)*c))
            return false;
    return *s != '\0';
}

/* key: client_ip, header.<Name>, cookie.<name> or jwt.<claim> (the spelling of rate limits'). */
static void load_hash_key(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    gh_balance_conf *b = call->target;
    const char *s;
    if (!gh__walk_str(w, v, &s))
        return;
    if (strcmp(s, "client_ip") == 0) {
        b->key = GH_HKEY_CLIENT_IP;
    } else if (strncmp(s, "header.", 7) == 0 && token_name_ok(s + 7)) {
        b->key = GH_HKEY_HEADER;
        b->key_arg = s + 7;
    } else if (strncmp(s, "cookie.", 7) == 0 && token_name_ok(s + 7)) {
        b->key = GH_HKEY_COOKIE;
        b->key_arg = s + 7;
    } else if (strncmp(s, "jwt.", 4) == 0 && s[4]) {
        b->key = GH_HKEY_CLAIM;
        b->key_arg = s + 4;
    } else {
        gh__walk_error(w, v, "'%s': use client_ip, header.<Name>, cookie.<name> or jwt.<claim>", s);
    }
}

const gh_keyword gh__cfg_balance_keys[] = {
    {"policy", GH_KW_ENUM, GH_KW_AT(gh_balance_conf, policy), .choices = policies,
     .def = "round_robin"},
    {"key", GH_KW_CUSTOM, .load = load_hash_key},
    {"hash_balance_factor", GH_KW_UINT, GH_KW_AT(gh_balance_conf, hash_balance_factor),
     .max = 10000, .def = "150"},
    {"slow_start", GH_KW_DURATION, GH_KW_AT(gh_balance_conf, slow_start_ms), .max = 3600000,
     .def = "0s"},
    GH_KW_END,
};

/* An endpoint written as a mapping: {url: ..., weight: N}. Returns its url node (NULL after
 * reporting). */
yaml_node_t *gh__cfg_endpoint_weight(gh_walk *w, yaml_node_t *n, gh_endpoint_conf *e)
{
    e->weight = 1;
    if (!n || n->type != YAML_MAPPING_NODE)
        return n;
    static const char *const allowed[] = {"url", "weight", NULL};
    if (!gh__walk_keys(w, n, allowed))
        return NULL;
    yaml_node_t *url = gh__walk_get(w, n, "url"), *weight = gh__walk_get(w, n, "weight");
    uint64_t v = 1;
    size_t saved = gh__walk_push_key(w, "weight");
    if (weight && gh__walk_uint(w, weight, 1, GH_BALANCE_MAX_WEIGHT, &v))
        e->weight = (uint32_t)v;
    gh__walk_pop(w, saved);
    if (!url)
        gh__walk_error(w, n, "an endpoint written as a mapping needs its url");
    return url;
}

/* After the upstream's keys: what the policy needs, and its tables. */
void gh__cfg_finish_upstream_balance(gh_walk *w, yaml_node_t *n, gh_upstream_conf *u)
{
    gh_balance_conf *b = &u->balance;
    yaml_node_t *at = gh__walk_get(w, n, "balance");
    if (!at)
        at = n;
    if (b->policy == GH_LB_HASH && b->key == GH_HKEY_NONE)
        gh__walk_error(w, at,
                       "policy hash needs a key: client_ip, header.<Name>, "
                       "cookie.<name> or jwt.<claim>");
    if (b->policy != GH_LB_HASH && b->key != GH_HKEY_NONE)
        gh__walk_error(w, at, "a key applies to policy hash");
    if (b->hash_balance_factor != 0 && b->hash_balance_factor < 100)
        gh__walk_error(w, at,
                       "hash_balance_factor is a percent of the average load: 0 (off) or "
                       "at least 100");
    size_t n_ep = u->nendpoints;
    if (n_ep == 0 || n_ep > GH_BALANCE_MAX_ENDPOINTS)
        return; /* reported with the endpoints */
    uint32_t weights[GH_BALANCE_MAX_ENDPOINTS];
    const char *names[GH_BALANCE_MAX_ENDPOINTS];
    uint32_t total = 0;
    for (size_t i = 0; i < n_ep; i++) {
        weights[i] = u->endpoints[i].weight ? u->endpoints[i].weight : 1;
        names[i] = u->endpoints[i].key ? u->endpoints[i].key : "";
        total += weights[i];
    }
    if (!gh_balance_build_order(w->arena, weights, n_ep, &b->tables))
        gh__walk_error(w, n, "out of memory");
    if (b->policy != GH_LB_HASH)
        return;
    if (total > GH_BALANCE_MAX_RING_WEIGHT)
        gh__walk_error(w, at, "with policy hash the endpoints' weights add up to at most %d",
                       GH_BALANCE_MAX_RING_WEIGHT);
    else if (!gh_balance_build_ring(w->arena, names, weights, n_ep, &b->tables))
        gh__walk_error(w, n, "out of memory");
}
