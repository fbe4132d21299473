/* A route's authorization rules, in its auth: mapping beside the authentication: scopes (all
 * required), scopes_any (one required), claims (a claim must hold a value, a path parameter or
 * a header), and mode (enforce, or shadow to log what would be refused). */
#include <string.h>

#include "config/config_internal.h"

/* "{path.NAME}" or "{header.NAME}" name what the request carries; anything else is literal. */
static void claim_value(gh_walk *w, yaml_node_t *n, const gh_route_conf *r, gh_claim_value *out)
{
    const char *s;
    if (!gh__walk_str(w, n, &s))
        return;
    out->source = GH_CLAIM_LITERAL;
    out->text = s;
    size_t len = strlen(s);
    if (len < 3 || s[0] != '{' || s[len - 1] != '}')
        return;
    bool path = strncmp(s, "{path.", 6) == 0, header = strncmp(s, "{header.", 8) == 0;
    if (!path && !header) {
        gh__walk_error(w, n, "'%s': use {path.PARAM} or {header.Name}, or a plain value", s);
        return;
    }
    size_t skip = path ? 6 : 8;
    out->source = path ? GH_CLAIM_PATH_PARAM : GH_CLAIM_HEADER;
    out->text = gh_arena_strndup(w->arena, s + skip, len - skip - 1);
    if (!out->text || !out->text[0]) {
        gh__walk_error(w, n, "'%s' names nothing", s);
        return;
    }
    if (path) {
        /* The parameter must be in the route's template, or the rule could never pass. */
        size_t pl = strlen(out->text);
        const char *t = r->path_kind == GH_PATH_TEMPLATE ? r->path : NULL;
        bool found = false;
        for (const char *p = t ? strchr(t, '{') : NULL; p && !found; p = strchr(p + 1, '{'))
            found = strncmp(p + 1, out->text, pl) == 0 && p[1 + pl] == '}';
        if (!found)
            gh__walk_error(w, n, "the route's path has no parameter {%s}", out->text);
    }
}

static void load_claims(gh_walk *w, yaml_node_t *n, const gh_kw_call *call)
{
    gh_route_conf *r = call->target;
    gh_authz_conf *a = &r->authz;
    if (n->type != YAML_MAPPING_NODE) {
        gh__walk_error(w, n, "expected a mapping of claim names to values");
        return;
    }
    size_t count = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    a->claims = gh_arena_zalloc(w->arena, (count ? count : 1) * sizeof(gh_claim_rule));
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; a->claims && p < n->data.mapping.pairs.top; p++) {
        gh_claim_rule *rule = &a->claims[a->nclaims];
        if (!gh__walk_str(w, gh__walk_node(w, p->key), &rule->claim))
            continue;
        size_t saved = gh__walk_push_key(w, rule->claim);
        yaml_node_t *v = gh__walk_node(w, p->value);
        size_t nv = 1;
        yaml_node_item_t *items = v->type == YAML_SEQUENCE_NODE ? gh__walk_items(w, v, &nv) : NULL;
        rule->values = gh_arena_zalloc(w->arena, (nv ? nv : 1) * sizeof(gh_claim_value));
        for (size_t i = 0; rule->values && i < nv; i++) {
            size_t at = items ? gh__walk_push_index(w, i) : 0;
            claim_value(w, items ? gh__walk_node(w, items[i]) : v, r, &rule->values[rule->nvalues++]);
            if (items)
                gh__walk_pop(w, at);
        }
        if (nv == 0)
            gh__walk_error(w, v, "at least one value");
        gh__walk_pop(w, saved);
        a->nclaims++;
    }
}

/* The scopes asked for, space-separated, for the WWW-Authenticate challenge (RFC 6750 3). */
static const char *scope_text(gh_arena *arena, const gh_authz_conf *a)
{
    size_t len = 1;
    for (size_t i = 0; i < a->nscopes; i++)
        len += strlen(a->scopes[i]) + 1;
    for (size_t i = 0; i < a->nscopes_any; i++)
        len += strlen(a->scopes_any[i]) + 1;
    char *out = gh_arena_alloc(arena, len), *p = out;
    for (size_t i = 0; out && i < a->nscopes + a->nscopes_any; i++) {
        const char *s = i < a->nscopes ? a->scopes[i] : a->scopes_any[i - a->nscopes];
        if (p != out)
            *p++ = ' ';
        memcpy(p, s, strlen(s));
        p += strlen(s);
    }
    if (out)
        *p = '\0';
    return out;
}

static bool scope_ok(const char *s)
{
    /* scope-token (RFC 6749 3.3): printable ASCII except space, '"' and '\'. */
    for (; *s; s++)
        if (*s <= 0x20 || *s >= 0x7f || *s == '"' || *s == '\\')
            return false;
    return true;
}

/* scopes and scopes_any: lists of scopes into the fields the key names. */
static void load_scopes(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    size_t n = 0;
    const char **out = gh__cfg_string_list(w, v, &n);
    for (size_t i = 0; i < n; i++)
        if (!scope_ok(out[i]))
            gh__walk_error(w, v, "'%s' is not a scope (no spaces, quotes or backslashes)", out[i]);
    if (n == 0)
        gh__walk_error(w, v, "at least one scope");
    memcpy((char *)call->target + call->k->offset, &out, sizeof(out));
    memcpy((char *)call->target + call->k->count, &n, sizeof(n));
}

static void load_policy(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    gh_route_conf *r = call->target;
    const gh_config *c = call->ctx;
    const char *name;
    if (!gh__walk_str(w, v, &name))
        return;
    for (size_t i = 0; i < c->npolicies && !r->policy; i++)
        if (strcmp(c->policies[i].name, name) == 0)
            r->policy = &c->policies[i];
    if (!r->policy)
        gh__walk_error(w, v, "no policy policies.%s", name);
}

static bool has_authz(const gh_route_conf *r)
{
    return r->authz.nscopes || r->authz.nscopes_any || r->authz.nclaims || r->policy;
}

static void load_mode(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    static const char *const modes[] = {"enforce", "shadow", NULL};
    gh_route_conf *r = call->target;
    r->authz.shadow = gh__walk_enum(w, v, modes) == 1;
    if (!has_authz(r))
        gh__walk_error(w, v, "mode applies to scopes, scopes_any, claims and policy, and there are none");
}

const gh_keyword gh__cfg_authz_keys[] = {
    {"scopes", GH_KW_CUSTOM, GH_KW_LIST_AT(gh_route_conf, authz.scopes, authz.nscopes),
     .load = load_scopes},
    {"scopes_any", GH_KW_CUSTOM, GH_KW_LIST_AT(gh_route_conf, authz.scopes_any, authz.nscopes_any),
     .load = load_scopes},
    {"claims", GH_KW_CUSTOM, .load = load_claims},
    {"policy", GH_KW_CUSTOM, .load = load_policy},
    {"mode", GH_KW_CUSTOM, .load = load_mode},
    GH_KW_END,
};

void gh__cfg_authz_finish(gh_walk *w, yaml_node_t *auth, gh_route_conf *r)
{
    gh_authz_conf *a = &r->authz;
    r->has_authz = has_authz(r);
    if ((a->nscopes || a->nscopes_any || a->nclaims) && !r->auth_token)
        gh__walk_error(w, auth, "scopes and claims come from a token: add jwt or introspection");
    else if (a->nscopes || a->nscopes_any || a->nclaims)
        a->scope_text = scope_text(w->arena, a);
}
