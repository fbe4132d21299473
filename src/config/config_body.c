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

static void load_schema(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    gh_body_conf *b = call->target;
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
    gh_schema_options o = {.format_assertion = b->format_assertion, .warn = pattern_warning, .warn_arg = &site};
    b->schema = gh_schema_compile(doc, &o, err, sizeof(err));
    json_decref(doc);
    if (!b->schema)
        gh__walk_error(w, v, "%s%s", path, err); /* err starts with the location: "#/..." */
    else if (!gh__cfg_keep_schema(w, b->schema))
        b->schema = NULL;
}

/* buffer_before_upstream: no more than the route takes. */
static void load_buffer(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    gh_body_conf *b = call->target;
    const gh_config *c = call->ctx;
    uint64_t most = b->max_bytes ? b->max_bytes : c->limits.max_body_bytes;
    if (gh__walk_size(w, v, 0, 1ull << 30, &b->buffer_bytes) && b->buffer_bytes > most)
        gh__walk_error(w, v, "%llu bytes: more than the route takes (max_bytes %llu)",
                       (unsigned long long)b->buffer_bytes, (unsigned long long)most);
}

static void load_content_types(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    gh_body_conf *b = call->target;
    b->content_types = gh__cfg_string_list(w, v, &b->ncontent_types);
    for (size_t i = 0; b->content_types && i < b->ncontent_types; i++) {
        char *t = gh_arena_strdup(w->arena, b->content_types[i]);
        for (char *p = t; p && *p; p++)
            *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
        if (t && !media_type_ok(t))
            gh__walk_error(w, v, "'%s' is not a media type such as application/json or image/*", t);
        b->content_types[i] = t;
    }
}

/* Unset settings are the limits: section's. */
static const gh_keyword body_keys[] = {
    {"max_bytes", GH_KW_SIZE, GH_KW_AT(gh_body_conf, max_bytes), .max = 1ull << 40},
    {"timeout", GH_KW_DURATION, GH_KW_AT(gh_body_conf, timeout_ms), .min = 1, .max = 3600000},
    {"deadline", GH_KW_DURATION, GH_KW_UNSET, GH_KW_AT(gh_body_conf, deadline_ms), .min = 100,
     .max = 86400000},
    {"min_rate", GH_KW_SIZE, GH_KW_UNSET, GH_KW_AT(gh_body_conf, min_rate), .max = 1ull << 30},
    {"rate_window", GH_KW_DURATION, GH_KW_UNSET, GH_KW_AT(gh_body_conf, rate_window_ms),
     .min = 100, .max = 3600000},
    {"buffer_before_upstream", GH_KW_CUSTOM, GH_KW_UNSET, GH_KW_AT(gh_body_conf, buffer_bytes),
     .load = load_buffer},
    {"max_depth", GH_KW_UINT, GH_KW_AT(gh_body_conf, max_depth), .min = 1, .max = 1000,
     .def = "64"},
    {"max_string_bytes", GH_KW_SIZE, GH_KW_AT(gh_body_conf, max_string), .min = 1,
     .max = 1ull << 30, .def = "1m"},
    {"content_types", GH_KW_CUSTOM, .load = load_content_types},
    {"format_assertion", GH_KW_BOOL, GH_KW_AT(gh_body_conf, format_assertion)},
    {"schema", GH_KW_CUSTOM, .load = load_schema},
    GH_KW_END,
};

void gh__cfg_load_body(gh_walk *w, yaml_node_t *n, const gh_kw_call *call)
{
    gh_route_conf *r = call->target;
    const gh_config *c = call->ctx;
    gh_body_conf *b = gh_arena_zalloc(w->arena, sizeof(*b));
    if (!b || !gh__cfg_apply(w, n, body_keys, b, call->ctx))
        return;
    r->body = b;
    /* A body validated is held whole, and its tree is up to 24 times its size while it is
     * judged: unless told otherwise, such routes take at most 1 MiB. */
    if (b->schema && !b->max_bytes)
        b->max_bytes = c->limits.max_body_bytes < (1u << 20) ? c->limits.max_body_bytes : 1u << 20;
}
