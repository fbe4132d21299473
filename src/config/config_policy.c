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

static void load_external(gh_walk *w, yaml_node_t *n, gh_policy_conf *p)
{
    static const char *const keys[] = {"url",           "timeout", "cache_ttl",     "deny_cache_ttl",
                                       "on_error",      "headers", "max_in_flight", "cache_entries",
                                       "ca_file",       NULL};
    static const char *const on_error[] = {"deny", "allow", NULL};
    if (!gh__walk_keys(w, n, keys))
        return;
    yaml_node_t *v;
    size_t saved;
    uint64_t x;
    GH_CFG_FIELD(w, n, "url", true,
                 if (gh__walk_str(w, v, &p->url) && !gh_remote_url_allowed(p->url))
                     gh__walk_error(w, v, "requests are described over https (plain http only to a "
                                          "loopback address)"))
    GH_CFG_FIELD(w, n, "timeout", false, if (gh__walk_duration_ms(w, v, 10, 60000, &x)) p->timeout_ms = x)
    GH_CFG_FIELD(w, n, "cache_ttl", false,
                 if (gh__walk_duration_ms(w, v, 0, 86400000ull, &x)) p->cache_ttl_s = x / 1000)
    GH_CFG_FIELD(w, n, "deny_cache_ttl", false,
                 if (gh__walk_duration_ms(w, v, 0, 86400000ull, &x)) p->deny_cache_ttl_s = x / 1000)
    GH_CFG_FIELD(w, n, "on_error", false, p->on_error_allow = gh__walk_enum(w, v, on_error) == 1)
    GH_CFG_FIELD(w, n, "max_in_flight", false,
                 if (gh__walk_uint(w, v, 1, 100000, &x)) p->max_in_flight = (uint32_t)x)
    GH_CFG_FIELD(w, n, "cache_entries", false,
                 if (gh__walk_uint(w, v, 0, 10000000, &x)) p->cache_entries = (size_t)x)
    GH_CFG_FIELD(w, n, "headers", false, {
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
    })
    GH_CFG_FIELD(w, n, "ca_file", false, p->ca_file = gh__walk_readable_path(w, v, 4u << 20))
}

static void load_policy(gh_walk *w, yaml_node_t *n, void *item, void *ctx)
{
    (void)ctx;
    static const char *const keys[] = {"external", NULL};
    gh_policy_conf *p = item;
    p->timeout_ms = 500;
    p->cache_ttl_s = 30;
    p->deny_cache_ttl_s = 5;
    p->max_in_flight = 64;
    p->cache_entries = 100000;
    if (!gh__walk_keys(w, n, keys))
        return;
    yaml_node_t *v;
    size_t saved;
    GH_CFG_FIELD(w, n, "external", true, load_external(w, v, p))
    if (!(p->cache = gh_token_cache_new(p->cache_entries)))
        gh__walk_error(w, n, "out of memory for the decision cache");
}

void gh__cfg_load_policies(gh_walk *w, yaml_node_t *n, gh_config *c)
{
    gh__cfg_each_provider(w, n, c, (void **)&c->policies, sizeof(gh_policy_conf), &c->npolicies,
                          load_policy, NULL);
}
