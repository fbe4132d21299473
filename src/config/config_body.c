/* A route's body: limits, accepted content types, and the JSON Schema a JSON body must match
 * (compiled here: a schema that is not valid fails `check` where it is named). */
#include <string.h>

#include "config/config_internal.h"
#include "schema/schema.h"

static bool media_type_ok(const char *t)
{
    const char *slash = strchr(t, '/');
    if (!slash || slash == t || !slash[1] || strchr(slash + 1, '/'))
        return false;
    for (const char *p = t; *p; p++)
        if (p != slash && !(gh_h1_is_tchar((unsigned char)*p)))
            return false;
    return strcmp(slash + 1, "*") == 0 || !strchr(t, '*');
}

typedef struct schema_site {
    gh_walk *w;
    yaml_node_t *v;
    const char *file;
} schema_site;

/* A risky pattern is reported where the schema is named, with its place in the schema file. */
static void pattern_warning(void *arg, const char *path, const char *why)
{
    const schema_site *at = arg;
    gh__walk_warn(at->w, at->v, "%s%s: a pattern that can take exponential time (%s); bodies "
                  "that exhaust the matching budget are refused", at->file, path, why);
}

static void load_schema(gh_walk *w, yaml_node_t *v, gh_body_conf *b, bool format_assertion)
{
    const char *path = gh__walk_readable_path(w, v, 4u << 20);
    if (!path)
        return;
    json_error_t jerr;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (!doc) {
        gh__walk_error(w, v, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
        return;
    }
    char err[512];
    schema_site site = {w, v, path};
    gh_schema_options o = {.format_assertion = format_assertion, .warn = pattern_warning, .warn_arg = &site};
    b->schema = gh_schema_compile(doc, &o, err, sizeof(err));
    json_decref(doc);
    if (!b->schema)
        gh__walk_error(w, v, "%s%s", path, err); /* err starts with the location: "#/..." */
}

void gh__cfg_load_body(gh_walk *w, yaml_node_t *n, gh_config *c, gh_route_conf *r)
{
    static const char *const keys[] = {"max_bytes",        "content_types",    "timeout",
                                       "deadline",         "min_rate",         "rate_window",
                                       "buffer_before_upstream",               "schema",
                                       "format_assertion", "max_depth",        "max_string_bytes",
                                       NULL};
    static const char *const no_yes[] = {"false", "true", NULL};
    gh_body_conf *b = gh_arena_zalloc(&c->arena, sizeof(*b));
    if (!b || !gh__walk_keys(w, n, keys))
        return;
    r->body = b;
    b->max_depth = 64;
    b->max_string = 1u << 20;
    b->deadline_ms = b->min_rate = b->rate_window_ms = b->buffer_bytes = GH_BODY_UNSET;
    yaml_node_t *v;
    size_t saved;
    uint64_t x;
    GH_CFG_FIELD(w, n, "max_bytes", false, gh__walk_size(w, v, 0, 1ull << 40, &b->max_bytes))
    GH_CFG_FIELD(w, n, "timeout", false, gh__walk_duration_ms(w, v, 1, 3600000, &b->timeout_ms))
    GH_CFG_FIELD(w, n, "deadline", false, gh__walk_duration_ms(w, v, 100, 86400000, &b->deadline_ms))
    GH_CFG_FIELD(w, n, "min_rate", false, gh__walk_size(w, v, 0, 1ull << 30, &b->min_rate))
    GH_CFG_FIELD(w, n, "rate_window", false,
                 gh__walk_duration_ms(w, v, 100, 3600000, &b->rate_window_ms))
    GH_CFG_FIELD(w, n, "buffer_before_upstream", false, {
        uint64_t most = b->max_bytes ? b->max_bytes : c->limits.max_body_bytes;
        if (gh__walk_size(w, v, 0, 1ull << 30, &b->buffer_bytes) && b->buffer_bytes > most)
            gh__walk_error(w, v, "%llu bytes: more than the route takes (max_bytes %llu)",
                           (unsigned long long)b->buffer_bytes, (unsigned long long)most);
    })
    GH_CFG_FIELD(w, n, "max_depth", false, {
        if (gh__walk_uint(w, v, 1, 1000, &x))
            b->max_depth = (uint32_t)x;
    })
    GH_CFG_FIELD(w, n, "max_string_bytes", false, gh__walk_size(w, v, 1, 1ull << 30, &b->max_string))
    GH_CFG_FIELD(w, n, "content_types", false, {
        b->content_types = gh__cfg_string_list(w, v, &b->ncontent_types);
        for (size_t i = 0; b->content_types && i < b->ncontent_types; i++) {
            char *t = gh_arena_strdup(&c->arena, b->content_types[i]);
            for (char *p = t; p && *p; p++)
                *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
            if (t && !media_type_ok(t))
                gh__walk_error(w, v, "'%s' is not a media type such as application/json or image/*", t);
            b->content_types[i] = t;
        }
    })
    bool format_assertion = false;
    GH_CFG_FIELD(w, n, "format_assertion", false, format_assertion = gh__walk_enum(w, v, no_yes) == 1)
    GH_CFG_FIELD(w, n, "schema", false, load_schema(w, v, b, format_assertion))
    /* A body validated is held whole, and its tree is up to 24 times its size while it is
     * judged: unless told otherwise, such routes take at most 1 MiB. */
    if (b->schema && !b->max_bytes)
        b->max_bytes = c->limits.max_body_bytes < (1u << 20) ? c->limits.max_body_bytes : 1u << 20;
}
