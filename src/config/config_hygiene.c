/* paths: how the canonical path treats constructs backends read in different ways; headers:
 * the operator's rules for request and response headers, and response hardening. */
#include <string.h>
#include <strings.h>

#include "config/config_internal.h"
#include "wire/header_ops.h"
#include "route/route.h"

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

/* Names no rule may touch: the gateway frames messages and sets these itself. Compared with
 * '_' and '-' alike: a rule must not set X_Forwarded_For for a CGI-style backend either. */
static const char *reserved(const char *name, bool request)
{
    const gh_h1_header h = {.name = name, .name_len = (uint32_t)strlen(name)};
    static const char *const framing[] = {"content-length", "transfer-encoding", "connection",
                                          "keep-alive",     "te",                "trailer",
                                          "upgrade",        "proxy-connection",  "x-request-id",
                                          NULL};
    static const char *const upstream_bound[] = {"host",      "x-forwarded-for",  "x-forwarded-proto",
                                                 "x-forwarded-host", "client-cert", "client-cert-chain",
                                                 NULL};
    for (size_t i = 0; framing[i]; i++)
        if (gh_h1_name_folds_to(&h, framing[i], strlen(framing[i])))
            return "the gateway frames messages and identifies requests itself";
    for (size_t i = 0; request && upstream_bound[i]; i++)
        if (gh_h1_name_folds_to(&h, upstream_bound[i], strlen(upstream_bound[i])))
            return "the gateway sets this for the upstream itself";
    return NULL;
}

static gh_h1_header field(const char *name, const char *value)
{
    return (gh_h1_header){.name = name,
                          .name_len = (uint32_t)strlen(name),
                          .value = value,
                          .value_len = value ? (uint32_t)strlen(value) : 0};
}

static bool value_ok(const char *v)
{
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
            return false;
    return strlen(v) <= 4096;
}

/* One of remove (a list of names), set or add (mappings of name to value) into fields; names
 * also into names (what the message loses) for remove and set. */
static void load_list(gh_walk *w, yaml_node_t *n, const char *key, bool request,
                      gh_h1_header *names, size_t *nnames, gh_h1_header *fields, size_t *nfields)
{
    yaml_node_t *v = gh__walk_get(w, n, key);
    if (!v)
        return;
    size_t saved = gh__walk_push_key(w, key);
    bool is_list = strcmp(key, "remove") == 0;
    if (is_list ? v->type != YAML_SEQUENCE_NODE : v->type != YAML_MAPPING_NODE) {
        gh__walk_error(w, v, is_list ? "expected a list of header names"
                                     : "expected a mapping of header names to values");
        gh__walk_pop(w, saved);
        return;
    }
    size_t count = is_list ? (size_t)(v->data.sequence.items.top - v->data.sequence.items.start)
                           : (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
    if (count > GH_HEADER_OPS_MAX) {
        gh__walk_error(w, v, "at most %d entries", GH_HEADER_OPS_MAX);
        count = 0;
    }
    for (size_t i = 0; i < count; i++) {
        yaml_node_t *kn = gh__walk_node(w, is_list ? v->data.sequence.items.start[i]
                                                   : v->data.mapping.pairs.start[i].key);
        yaml_node_t *vn = is_list ? NULL : gh__walk_node(w, v->data.mapping.pairs.start[i].value);
        const char *name, *value = NULL, *why;
        if (!gh__walk_str(w, kn, &name) || (vn && !gh__walk_str(w, vn, &value)))
            continue;
        if (!gh__cfg_header_name_ok(name)) {
            gh__walk_error(w, kn, "'%s' is not a header name", name);
        } else if ((why = reserved(name, request))) {
            gh__walk_error(w, kn, "'%s' cannot be changed: %s", name, why);
        } else if (value && !value_ok(value)) {
            gh__walk_error(w, vn, "a header value holds no control characters and at most 4096 bytes");
        } else {
            if (names)
                names[(*nnames)++] = field(name, NULL);
            if (fields)
                fields[(*nfields)++] = field(name, value);
        }
    }
    gh__walk_pop(w, saved);
}

static void load_ops(gh_walk *w, yaml_node_t *n, gh_arena *a, bool request, gh_header_ops *ops,
                     size_t spare)
{
    static const char *const keys[] = {"remove", "set", "add", NULL};
    size_t cap = 3 * GH_HEADER_OPS_MAX + spare;
    ops->drop = gh_arena_zalloc(a, cap * sizeof(*ops->drop));
    ops->put = gh_arena_zalloc(a, cap * sizeof(*ops->put));
    if (!ops->drop || !ops->put || !n || !gh__walk_keys(w, n, keys))
        return;
    load_list(w, n, "remove", request, ops->drop, &ops->ndrop, NULL, NULL);
    load_list(w, n, "set", request, ops->drop, &ops->ndrop, ops->put, &ops->nput);
    load_list(w, n, "add", request, NULL, NULL, ops->put, &ops->nput);
}

static bool mentions(const gh_header_ops *ops, const char *name)
{
    gh_h1_header f = field(name, NULL);
    for (size_t i = 0; i < ops->nput; i++)
        if (ops->put[i].name_len == f.name_len && strcasecmp(ops->put[i].name, name) == 0)
            return true;
    return gh_header_ops_drops(ops, &f);
}

/* Response hardening: what the upstream's software is stays unsaid, browsers do not guess
 * content types; the operator's own rules for these names win. */
static void harden(gh_header_ops *r)
{
    static const char *const hide[] = {"Server", "X-Powered-By"};
    for (size_t i = 0; i < 2; i++)
        if (!mentions(r, hide[i]))
            r->drop[r->ndrop++] = field(hide[i], NULL);
    if (!mentions(r, "X-Content-Type-Options")) {
        r->drop[r->ndrop++] = field("X-Content-Type-Options", NULL);
        r->put[r->nput++] = field("X-Content-Type-Options", "nosniff");
    }
}

void gh__cfg_load_headers(gh_walk *w, yaml_node_t *n, gh_config *c, gh_headers_conf *out, bool top)
{
    static const char *const route_keys[] = {"request", "response", NULL};
    static const char *const top_keys[] = {"request", "response", "hardening", "hsts", NULL};
    static const char *const no_yes[] = {"false", "true", NULL};
    if (n && !gh__walk_keys(w, n, top ? top_keys : route_keys))
        return;
    yaml_node_t *v;
    size_t saved;
    saved = gh__walk_push_key(w, "request");
    load_ops(w, n ? gh__walk_get(w, n, "request") : NULL, &c->arena, true, &out->request, 0);
    gh__walk_pop(w, saved);
    saved = gh__walk_push_key(w, "response");
    load_ops(w, n ? gh__walk_get(w, n, "response") : NULL, &c->arena, false, &out->response, 4);
    gh__walk_pop(w, saved);
    if (!top)
        return;
    bool hardening = true;
    c->hsts = "max-age=31536000";
    if (n) {
        GH_CFG_FIELD(w, n, "hardening", false, hardening = gh__walk_enum(w, v, no_yes) != 0)
        GH_CFG_FIELD(w, n, "hsts", false, {
            const char *h;
            if (gh__walk_str(w, v, &h)) {
                if (strcmp(h, "off") == 0)
                    h = NULL;
                else if (strncmp(h, "max-age=", 8) != 0 || !value_ok(h))
                    gh__walk_error(w, v, "expected off or a Strict-Transport-Security value "
                                         "(max-age=SECONDS[; includeSubDomains][; preload])");
                c->hsts = h;
            }
        })
    }
    c->hardening = hardening;
    if (hardening && out->response.drop && out->response.put)
        harden(&out->response);
    else if (!n || !gh__walk_get(w, n, "hsts"))
        c->hsts = NULL; /* no hardening: no HSTS either, unless asked for */
}

void gh__cfg_collect_owned_headers(gh_config *c)
{
    size_t count = 0;
    for (size_t i = 0; i < c->nroutes; i++)
        count += c->routes[i].nforward_claims + (c->routes[i].forward_api_client != NULL);
    c->owned_headers = count ? gh_arena_zalloc(&c->arena, count * sizeof(*c->owned_headers)) : NULL;
    if (!c->owned_headers)
        return;
    for (size_t i = 0; i < c->nroutes; i++) {
        const gh_route_conf *r = &c->routes[i];
        for (size_t j = 0; j < r->nforward_claims; j++)
            c->owned_headers[c->nowned_headers++] = field(r->forward_claims[j].header, NULL);
        if (r->forward_api_client)
            c->owned_headers[c->nowned_headers++] = field(r->forward_api_client, NULL);
    }
}

/* An origin: "https://app.example.com[:port]", or a wildcard host ("*." then a domain); a
 * scheme and a host, no path. */
static bool origin_ok(const char *o)
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

void gh__cfg_load_cors(gh_walk *w, yaml_node_t *n, gh_config *c, gh_route_conf *r)
{
    static const char *const keys[] = {"origins", "methods", "headers", "expose_headers",
                                       "credentials", "max_age", NULL};
    static const char *const no_yes[] = {"false", "true", NULL};
    gh_cors_conf *cors = gh_arena_zalloc(&c->arena, sizeof(*cors));
    if (!cors || !gh__walk_keys(w, n, keys))
        return;
    yaml_node_t *v;
    size_t saved;
    cors->methods = r->methods & ~(unsigned)GH_M_OPTIONS;
    cors->max_age_s = 600;
    GH_CFG_FIELD(w, n, "origins", true, {
        cors->origins = gh__cfg_string_list(w, v, &cors->norigins);
        if (cors->origins && cors->norigins == 0)
            gh__walk_error(w, v, "at least one origin");
        for (size_t i = 0; cors->origins && i < cors->norigins; i++) {
            if (strcmp(cors->origins[i], "*") == 0)
                cors->any_origin = true;
            else if (!origin_ok(cors->origins[i]))
                gh__walk_error(w, v, "'%s' is not an origin such as https://app.example.com or "
                                     "https://*.example.com (no path, no trailing slash)",
                               cors->origins[i]);
        }
    })
    GH_CFG_FIELD(w, n, "methods", false, cors->methods = gh__cfg_methods(w, v))
    GH_CFG_FIELD(w, n, "credentials", false, cors->credentials = gh__walk_enum(w, v, no_yes) == 1)
    GH_CFG_FIELD(w, n, "max_age", false, {
        uint64_t ms;
        if (gh__walk_duration_ms(w, v, 0, 86400000, &ms))
            cors->max_age_s = ms / 1000;
    })
    saved = gh__walk_push_key(w, "headers");
    cors->headers_text = joined(w, gh__walk_get(w, n, "headers"), &c->arena, &cors->headers,
                                &cors->nheaders);
    gh__walk_pop(w, saved);
    saved = gh__walk_push_key(w, "expose_headers");
    cors->expose_text = joined(w, gh__walk_get(w, n, "expose_headers"), &c->arena, NULL, NULL);
    gh__walk_pop(w, saved);
    if (cors->any_origin && cors->credentials)
        gh__walk_error(w, n, "origins '*' with credentials: true would let every site act with "
                             "the user's cookies; list the origins");
    char allow[128];
    gh_route_allow_list(cors->methods, allow, sizeof(allow));
    cors->methods_text = gh_arena_strdup(&c->arena, allow);
    r->cors = cors;
}
