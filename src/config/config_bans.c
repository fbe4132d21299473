/* bans: how a banned client is answered, how long a ban lasts, how many the table holds, the
 * clients never banned, and how often bans are shared through stores.redis. The table itself is
 * the process's (store/bans.h, in gh_shared): a snapshot only carries its settings, which go to
 * the table when the snapshot goes in force. */
#include <string.h>

#include "config/config_internal.h"

static const char *const status_choices[] = {"403", "429", NULL};

static bool allow_ok(const char *s)
{
    gh_ban_allow a;
    return gh_ban_allow_parse(s, &a);
}

const gh_keyword gh__cfg_bans_keys[] = {
    {"status", GH_KW_ENUM, GH_KW_AT(gh_bans_conf, status), .choices = status_choices,
     .def = "403"},
    {"base", GH_KW_DURATION, GH_KW_AT(gh_bans_conf, base_s), .min = 1000, .max = 30 * 86400000ull,
     .unit = 1000, .def = "10m"},
    {"max", GH_KW_DURATION, GH_KW_AT(gh_bans_conf, max_s), .min = 1000, .max = 365 * 86400000ull,
     .unit = 1000, .def = "24h"},
    {"forget_after", GH_KW_DURATION, GH_KW_AT(gh_bans_conf, forget_after_s), .min = 1000,
     .max = 365 * 86400000ull, .unit = 1000, .def = "24h"},
    {"max_entries", GH_KW_UINT, GH_KW_AT(gh_bans_conf, max_entries), .min = 1,
     .max = GH_BAN_MAX_ENTRIES, .def = "100000"},
    /* The address bits that name a client, as rate_limits' client_ip keys: one IPv6 client
     * holds a whole /64. */
    {"ipv4_prefix", GH_KW_UINT, GH_KW_AT(gh_bans_conf, ipv4_prefix), .min = 8, .max = 32,
     .def = "32"},
    {"ipv6_prefix", GH_KW_UINT, GH_KW_AT(gh_bans_conf, ipv6_prefix), .min = 16, .max = 128,
     .def = "64"},
    {"allow", GH_KW_LIST, GH_KW_LIST_AT(gh_bans_conf, allow, nallow), .valid = allow_ok,
     .invalid = "expected an address or CIDR (10.0.0.0/8, 2001:db8::/32) or a client key "
                "(sub:NAME, key:CLIENT), got '%s'"},
    {"sync_interval", GH_KW_DURATION, GH_KW_AT(gh_bans_conf, sync_interval_ms), .min = 100,
     .max = 60000, .def = "1s"},
    GH_KW_END,
};

void gh__cfg_load_bans(gh_walk *w, yaml_node_t *n, const gh_kw_call *call)
{
    gh_config *c = call->target;
    gh_shared *shared = call->ctx;
    gh_bans_conf *b = &c->bans;
    b->table = shared ? &shared->bans : NULL;
    if (!gh__cfg_apply(w, n, gh__cfg_bans_keys, b, NULL))
        return;
    if (b->base_s > b->max_s)
        gh__walk_error(w, n, "base (%llus) exceeds max (%llus)", (unsigned long long)b->base_s,
                       (unsigned long long)b->max_s);
    if (b->nallow > GH_BANS_MAX_ALLOW)
        gh__walk_error(w, n, "allow lists %zu entries: at most %d", b->nallow, GH_BANS_MAX_ALLOW);
}

void gh__cfg_bans_in_force(const gh_config *cfg)
{
    const gh_bans_conf *b = &cfg->bans;
    if (!b->table)
        return;
    gh_ban_allow allow[GH_BANS_MAX_ALLOW];
    size_t n = 0;
    for (size_t i = 0; i < b->nallow && n < sizeof(allow) / sizeof(allow[0]); i++)
        if (gh_ban_allow_parse(b->allow[i], &allow[n]))
            n++;
    gh_ban_settings s = {(int64_t)b->base_s, (int64_t)b->max_s, (int64_t)b->forget_after_s,
                         (size_t)b->max_entries, allow, n};
    gh_bans_configure(b->table, &s); /* out of memory: the settings before stay */
}
