/* A route's cors: which browser pages of other origins may call it, and how. */
#include <string.h>

#include "config/config_internal.h"
#include "route/route.h"

/* An origin: "https://app.example.com[:port]", or a wildcard host ("*." then a domain); a
 * scheme and a host, no path. */
bool gh__cfg_origin_ok(const char *o)
{
    const char *host = strstr(o, "://");
    if (!host || (strncmp(o, "https://", 8) != 0 && strncmp(o, "http://", 7) != 0))
        return false;
    host += 3;
    if (strncmp(host, "*.", 2) == 0)
        host += 2;
    if (!*host || *host == '.' || *host == ':')
        return false;
    for (const char *p = host; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '.' || *p == ':' || *p == '[' || *p == ']'))
            return false;
    return true;
}

/* A list of header names as one answer value ("A, B"), lower case into names when asked. */
static const char *joined(gh_walk *w, yaml_node_t *v, gh_arena *a, const char ***names, size_t *count)
{
    size_t n = 0;
    const char **list = v ? gh__cfg_string_list(w, v, &n) : NULL;
    size_t len = 1;
    for (size_t i = 0; i < n; i++) {
        if (!gh__cfg_header_name_ok(list[i]))
            gh__walk_error(w, v, "'%s' is not a header name", list[i]);
        len += strlen(list[i]) + 2;
    }
    char *text = gh_arena_zalloc(a, len);
    for (size_t i = 0; text && i < n; i++) {
        if (i)
            strcat(text, ", ");
        strcat(text, list[i]);
        if (names) {
            char *lower = gh_arena_strdup(a, list[i]);
            for (char *p = lower; p && *p; p++)
                *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
            list[i] = lower;
        }
    }
    if (names) {
        *names = list;
        *count = n;
    }
    return text ? text : "";
}

bool gh__cfg_origin_list(gh_walk *w, yaml_node_t *v, const char ***origins, size_t *n,
                         const char *none)
{
    bool any = false;
    *origins = gh__cfg_string_list(w, v, n);
    if (*origins && *n == 0)
        gh__walk_error(w, v, "%s", none);
    for (size_t i = 0; *origins && i < *n; i++) {
        if (strcmp((*origins)[i], "*") == 0)
            any = true;
        else if (!gh__cfg_origin_ok((*origins)[i]))
            gh__walk_error(w, v, "'%s' is not an origin such as https://app.example.com or "
                                 "https://*.example.com (no path, no trailing slash)",
                           (*origins)[i]);
    }
    return any;
}

static void load_origins(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    gh_cors_conf *cors = call->target;
    cors->any_origin =
        gh__cfg_origin_list(w, v, &cors->origins, &cors->norigins, "at least one origin");
}

static void load_headers(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    gh_cors_conf *cors = call->target;
    cors->headers_text = joined(w, v, w->arena, &cors->headers, &cors->nheaders);
}

static void load_expose(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    gh_cors_conf *cors = call->target;
    cors->expose_text = joined(w, v, w->arena, NULL, NULL);
}

static const gh_keyword cors_keys[] = {
    {"origins", GH_KW_CUSTOM, GH_KW_REQUIRED, .load = load_origins},
    /* By default, the route's methods. */
    {"methods", GH_KW_CUSTOM, GH_KW_AT(gh_cors_conf, methods), .load = gh__cfg_kw_methods},
    {"credentials", GH_KW_BOOL, GH_KW_AT(gh_cors_conf, credentials)},
    {"max_age", GH_KW_DURATION, GH_KW_AT(gh_cors_conf, max_age_s), .max = 86400000,
     .unit = 1000, .def = "10m"},
    {"headers", GH_KW_CUSTOM, GH_KW_ALWAYS, .load = load_headers},
    {"expose_headers", GH_KW_CUSTOM, GH_KW_ALWAYS, .load = load_expose},
    GH_KW_END,
};

void gh__cfg_load_cors(gh_walk *w, yaml_node_t *n, const gh_kw_call *call)
{
    gh_route_conf *r = call->target;
    gh_cors_conf *cors = gh_arena_zalloc(w->arena, sizeof(*cors));
    if (!cors)
        return;
    cors->methods = r->methods & ~(unsigned)GH_M_OPTIONS;
    if (!gh__cfg_apply(w, n, cors_keys, cors, NULL))
        return;
    if (cors->any_origin && cors->credentials)
        gh__walk_error(w, n, "origins '*' with credentials: true would let every site act with "
                             "the user's cookies; list the origins");
    char allow[128];
    gh_route_allow_list(cors->methods, allow, sizeof(allow));
    cors->methods_text = gh_arena_strdup(w->arena, allow);
    r->cors = cors;
}
