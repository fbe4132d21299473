/* paths: how the canonical path treats constructs backends read in different ways; headers:
 * the operator's rules for request and response headers, and response hardening. */
#include <string.h>
#include <strings.h>

#include "config/config_internal.h"
#include "wire/header_ops.h"

static const char *const with_decode[] = {"reject", "keep", "decode", NULL};
static const char *const without_decode[] = {"reject", "keep", NULL};

const gh_keyword gh__cfg_paths_keys[] = {
    {"encoded_slash", GH_KW_ENUM, GH_KW_AT(gh_path_rules, encoded_slash), .choices = with_decode,
     .def = "reject"},
    {"backslash", GH_KW_ENUM, GH_KW_AT(gh_path_rules, backslash), .choices = with_decode,
     .def = "reject"},
    {"parameters", GH_KW_ENUM, GH_KW_AT(gh_path_rules, parameters), .choices = without_decode,
     .def = "reject"},
    {"invalid_utf8", GH_KW_ENUM, GH_KW_AT(gh_path_rules, invalid_utf8),
     .choices = without_decode, .def = "reject"},
    {"merge_slashes", GH_KW_BOOL, GH_KW_NEGATE, GH_KW_AT(gh_path_rules, keep_slashes),
     .def = "true"},
    GH_KW_END,
};

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
                                                 "traceparent", "tracestate", "b3", NULL};
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
static void load_list(gh_walk *w, yaml_node_t *v, bool is_list, bool request, gh_h1_header *names,
                      size_t *nnames, gh_h1_header *fields, size_t *nfields)
{
    if (is_list ? v->type != YAML_SEQUENCE_NODE : v->type != YAML_MAPPING_NODE) {
        gh__walk_error(w, v, is_list ? "expected a list of header names"
                                     : "expected a mapping of header names to values");
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
}

/* The ops being read, and whether they are a request's. */
typedef struct ops_site {
    gh_header_ops *ops;
    bool request;
} ops_site;

static void load_remove(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    const ops_site *at = call->ctx;
    load_list(w, v, true, at->request, at->ops->drop, &at->ops->ndrop, NULL, NULL);
}

static void load_set(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    const ops_site *at = call->ctx;
    load_list(w, v, false, at->request, at->ops->drop, &at->ops->ndrop, at->ops->put,
              &at->ops->nput);
}

static void load_add(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    const ops_site *at = call->ctx;
    load_list(w, v, false, at->request, NULL, NULL, at->ops->put, &at->ops->nput);
}

static const gh_keyword ops_keys[] = {
    {"remove", GH_KW_CUSTOM, .load = load_remove},
    {"set", GH_KW_CUSTOM, .load = load_set},
    {"add", GH_KW_CUSTOM, .load = load_add},
    GH_KW_END,
};

/* n NULL: no rules, and room for those the gateway adds (spare). */
static void load_ops(gh_walk *w, yaml_node_t *n, bool request, gh_header_ops *ops, size_t spare)
{
    size_t cap = 3 * GH_HEADER_OPS_MAX + spare;
    ops->drop = gh_arena_zalloc(w->arena, cap * sizeof(*ops->drop));
    ops->put = gh_arena_zalloc(w->arena, cap * sizeof(*ops->put));
    if (ops->drop && ops->put && n)
        gh__cfg_apply(w, n, ops_keys, NULL, &(ops_site){ops, request});
}

static void load_request(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    load_ops(w, v, true, &((gh_headers_conf *)call->target)->request, 0);
}

static void load_response(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    load_ops(w, v, false, &((gh_headers_conf *)call->target)->response, 4);
}

static const gh_keyword rules_keys[] = {
    {"request", GH_KW_CUSTOM, GH_KW_ALWAYS, .load = load_request},
    {"response", GH_KW_CUSTOM, GH_KW_ALWAYS, .load = load_response},
    GH_KW_END,
};

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

static bool hsts_ok(const char *h)
{
    return strcmp(h, "off") == 0 || (strncmp(h, "max-age=", 8) == 0 && value_ok(h));
}

static const gh_keyword hardening_keys[] = {
    {"hardening", GH_KW_BOOL, GH_KW_AT(gh_config, hardening), .def = "true"},
    {"hsts", GH_KW_STRING, GH_KW_AT(gh_config, hsts), .def = "max-age=31536000", .valid = hsts_ok,
     .invalid = "expected off or a Strict-Transport-Security value "
                "(max-age=SECONDS[; includeSubDomains][; preload])"},
    GH_KW_END,
};

void gh__cfg_load_top_headers(gh_walk *w, yaml_node_t *n, const gh_kw_call *call)
{
    gh_config *c = call->target;
    gh_headers_conf *out = &c->headers;
    if (n && !gh__cfg_known(w, n, (const gh_keyword *const[]){rules_keys, hardening_keys, NULL}))
        return;
    gh__cfg_fill(w, n, rules_keys, out, NULL);
    gh__cfg_defaults(w, hardening_keys, c);
    gh__cfg_fill(w, n, hardening_keys, c, NULL);
    if (c->hsts && strcmp(c->hsts, "off") == 0)
        c->hsts = NULL;
    if (c->hardening && out->response.drop && out->response.put)
        harden(&out->response);
    else if (!n || !gh__walk_get(w, n, "hsts"))
        c->hsts = NULL; /* no hardening: no HSTS either, unless asked for */
}

void gh__cfg_load_route_headers(gh_walk *w, yaml_node_t *n, const gh_kw_call *call)
{
    gh__cfg_apply(w, n, rules_keys, &((gh_route_conf *)call->target)->headers, NULL);
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

