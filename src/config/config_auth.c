/* A route's auth: none, or the providers that authenticate its callers (a client
 * certificate, a bearer token, a webhook signature, an API key), then its authorization. */
#include <string.h>

#include "config/config_internal.h"

/* The provider named by the scalar n in list (of count, each elem bytes apart, its name
 * first), or NULL after reporting. */
static const void *provider_named(gh_walk *w, yaml_node_t *n, const void *list, size_t count,
                                  size_t elem, const char *section)
{
    const char *name;
    if (!gh__walk_str(w, n, &name))
        return NULL;
    for (size_t i = 0; i < count; i++) {
        const void *p = (const char *)list + i * elem;
        if (strcmp(*(const char *const *)p, name) == 0)
            return p;
    }
    gh__walk_error(w, n, "no provider identity.%s.%s", section, name);
    return NULL;
}

/* Where a provider a route names is found. */
typedef struct provider_ref {
    size_t list, count;  /* in gh_config: the providers, and how many */
    size_t elem;         /* the size of one */
    const char *section; /* identity.<section> */
    size_t slot; /* in gh_route_conf: the provider the route uses */
} provider_ref;

/* auth.<kind>: PROVIDER. */
static void load_provider_ref(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    const provider_ref *ref = call->k->arg;
    const char *c = call->ctx;
    gh_route_conf *r = call->target;
    const void *list = *(void *const *)(c + ref->list);
    const void *p = provider_named(w, v, list, *(const size_t *)(c + ref->count), ref->elem,
                                   ref->section);
    memcpy((char *)r + ref->slot, &p, sizeof(p));
}

#define GH_PROVIDER_REF(key, field, type, section, slot)                                          \
    {key, GH_KW_CUSTOM, .load = load_provider_ref,                                                 \
     .arg = &(const provider_ref){offsetof(gh_config, field), offsetof(gh_config, n##field),       \
                                  sizeof(type), section, offsetof(gh_route_conf, slot)}}

/* The connection's certificate first: the cheapest check. */
static void load_mtls(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    gh_route_conf *r = call->target;
    r->auth_mtls = gh__cfg_load_mtls_rule(w, v);
}

/* How a route authenticates its callers, read in the order the checks run: the client
 * certificate, the bearer token, the webhook signature (the body is read whole first: the
 * signature covers it), then the API key. */
static const gh_keyword authentication_keys[] = {
    {"mtls", GH_KW_CUSTOM, .load = load_mtls},
    GH_PROVIDER_REF("introspection", introspection_providers, gh_jwt_provider, "introspection",
                    auth_token),
    GH_PROVIDER_REF("jwt", jwt_providers, gh_jwt_provider, "jwt", auth_token),
    GH_PROVIDER_REF("hmac", hmac_providers, gh_hmac_provider, "hmac", auth_hmac),
    GH_PROVIDER_REF("api_key", api_key_providers, gh_api_key_provider, "api_keys", auth_api_key),
    GH_KW_END,
};

/* auth: none, or {jwt: provider} or {introspection: provider}, and/or {api_key: provider}
 * (all given must pass), then the authorization rules. */
void gh__cfg_load_auth(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    if (v->type == YAML_SCALAR_NODE && strcmp((char *)v->data.scalar.value, "none") == 0)
        return;
    if (v->type != YAML_MAPPING_NODE) {
        gh__walk_error(w, v, "expected 'none' or a mapping of jwt, introspection, api_key, "
                             "hmac or mtls (auth: {jwt: PROVIDER})");
        return;
    }
    if (!gh__cfg_known(w, v, (const gh_keyword *const[]){authentication_keys, gh__cfg_authz_keys,
                                                         NULL}))
        return;
    bool any = false;
    for (const gh_keyword *k = authentication_keys; k->name; k++)
        any |= gh__walk_get(w, v, k->name) != NULL;
    if (!any) {
        gh__walk_error(w, v, "an authentication method is required: jwt, introspection, api_key, mtls, hmac");
        return;
    }
    if (gh__walk_get(w, v, "jwt") && gh__walk_get(w, v, "introspection"))
        gh__walk_error(w, v, "one bearer token per request: jwt or introspection, not both");
    else
        gh__cfg_fill(w, v, authentication_keys, call->target, call->ctx);
    gh__cfg_fill(w, v, gh__cfg_authz_keys, call->target, call->ctx);
    gh__cfg_authz_finish(w, v, call->target);
}
