/* policies: section. An external decision point, OPA-compatible: where it is, how long to wait,
 * how long to remember its answers, what to do when it cannot answer, and which request headers
 * it may see. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"
#include "wire/h1.h"
#include "identity/remote_url.h"
#include "identity/token_cache.h"

static bool url_ok(const char *url)
{
    return gh_remote_url_allowed(url);
}

/* Request headers the decision point sees, lower case; never the credentials. */
static void load_headers(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    gh_policy_conf *p = call->target;
    p->headers = gh__cfg_string_list(w, v, &p->nheaders);
    for (size_t i = 0; p->headers && i < p->nheaders; i++) {
        char *lower = gh_arena_strdup(w->arena, p->headers[i]);
        for (char *c = lower; c && *c; c++) {
            if (!gh_h1_is_tchar((unsigned char)*c))
                gh__walk_error(w, v, "'%s' is not a header name", p->headers[i]);
            *c = (char)tolower((unsigned char)*c);
        }
        if (lower && (strcmp(lower, "authorization") == 0 || strcmp(lower, "cookie") == 0))
            gh__walk_error(w, v, "%s carries credentials: policies see the verified identity "
                                 "instead", p->headers[i]);
        p->headers[i] = lower;
    }
}

static const char *const on_error[] = {"deny", "allow", NULL};

static const gh_keyword external_keys[] = {
    {"url", GH_KW_STRING, GH_KW_REQUIRED, GH_KW_AT(gh_policy_conf, url), .valid = url_ok,
     .invalid = "requests are described over https (plain http only to a loopback address)"},
    {"timeout", GH_KW_DURATION, GH_KW_AT(gh_policy_conf, timeout_ms), .min = 10, .max = 60000,
     .def = "500ms"},
    {"cache_ttl", GH_KW_DURATION, GH_KW_AT(gh_policy_conf, cache_ttl_s), .max = 86400000ull,
     .unit = 1000, .def = "30s"},
    {"deny_cache_ttl", GH_KW_DURATION, GH_KW_AT(gh_policy_conf, deny_cache_ttl_s),
     .max = 86400000ull, .unit = 1000, .def = "5s"},
    {"on_error", GH_KW_ENUM, GH_KW_AT(gh_policy_conf, on_error_allow), .choices = on_error},
    {"max_in_flight", GH_KW_UINT, GH_KW_AT(gh_policy_conf, max_in_flight), .min = 1,
     .max = 100000, .def = "64"},
    {"cache_entries", GH_KW_UINT, GH_KW_AT(gh_policy_conf, cache_entries), .max = 10000000,
     .def = "100000"},
    {"headers", GH_KW_CUSTOM, .load = load_headers},
    {"ca_file", GH_KW_PATH, GH_KW_AT(gh_policy_conf, ca_file), .max = 4u << 20},
    GH_KW_END,
};

static const gh_keyword policy_keys[] = {
    {"external", GH_KW_MAP, GH_KW_REQUIRED, .table = external_keys},
    GH_KW_END,
};

static void load_policy(gh_walk *w, yaml_node_t *n, void *item, void *ctx)
{
    (void)ctx;
    gh_policy_conf *p = item;
    if (!gh__cfg_apply(w, n, policy_keys, p, NULL))
        return;
    if (!(p->cache = gh_token_cache_new(p->cache_entries)) || !gh__cfg_keep_cache(w, p->cache)) {
        p->cache = NULL;
        gh__walk_error(w, n, "out of memory for the decision cache");
    }
}

void gh__cfg_load_policies(gh_walk *w, yaml_node_t *n, const gh_kw_call *call)
{
    gh_config *c = call->target;
    gh__cfg_each_provider(w, n, c, (void **)&c->policies, sizeof(gh_policy_conf), &c->npolicies,
                          load_policy, NULL);
}
