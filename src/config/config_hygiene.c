/* paths: how the canonical path treats constructs backends read in different ways. */
#include "config/config_internal.h"

static void load_mode(gh_walk *w, yaml_node_t *n, const char *key, bool decode_allowed,
                      uint8_t *out)
{
    static const char *const with_decode[] = {"reject", "keep", "decode", NULL};
    static const char *const without[] = {"reject", "keep", NULL};
    yaml_node_t *v;
    size_t saved;
    GH_CFG_FIELD(w, n, key, false, {
        int m = gh__walk_enum(w, v, decode_allowed ? with_decode : without);
        if (m >= 0)
            *out = (uint8_t)m;
    })
}

void gh__cfg_load_paths(gh_walk *w, yaml_node_t *n, gh_config *c)
{
    static const char *const keys[] = {"encoded_slash", "backslash",     "parameters",
                                       "invalid_utf8",  "merge_slashes", NULL};
    static const char *const no_yes[] = {"false", "true", NULL};
    if (!gh__walk_keys(w, n, keys))
        return;
    load_mode(w, n, "encoded_slash", true, &c->paths.encoded_slash);
    load_mode(w, n, "backslash", true, &c->paths.backslash);
    load_mode(w, n, "parameters", false, &c->paths.parameters);
    load_mode(w, n, "invalid_utf8", false, &c->paths.invalid_utf8);
    yaml_node_t *v;
    size_t saved;
    GH_CFG_FIELD(w, n, "merge_slashes", false, c->paths.keep_slashes = gh__walk_enum(w, v, no_yes) == 0)
}
