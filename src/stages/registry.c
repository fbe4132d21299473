#include "stages/registry.h"

/* Headers a route requires (require_header); conf is its names. */
extern const gh_stage gh_stage_require_header;
/* Authentication by the client certificate (auth.mtls); conf is the gh_mtls_rule. */
extern const gh_stage gh_stage_auth_mtls;
/* Authentication with identity.introspection.<name>; conf is the gh_jwt_provider. */
extern const gh_stage gh_stage_auth_introspect;
/* Authentication with identity.jwt.<name>; conf is the gh_jwt_provider. */
extern const gh_stage gh_stage_auth_jwt;
/* Webhook signatures with identity.hmac.<name> (the body read whole first); conf is the
 * gh_hmac_provider. */
extern const gh_stage gh_stage_auth_hmac;
/* Authentication with identity.api_keys.<name>; conf is the gh_api_key_provider. */
extern const gh_stage gh_stage_auth_api_key;
/* Authorization by scopes and claims; conf is the route's gh_authz_conf. */
extern const gh_stage gh_stage_authorize;
/* External policy (auth.policy); conf is the gh_route_conf. */
extern const gh_stage gh_stage_policy;
/* Rate limits and quotas; conf is the gh_route_conf (its limits). */
extern const gh_stage gh_stage_rate_limit;
/* The route's body rules: size, content type, and a JSON body read whole and validated against
 * the schema; conf is the gh_body_conf. */
extern const gh_stage gh_stage_body;
/* Faults injected for testing, after every control (stages/fault.c); conf is its fault_conf. */
extern const gh_stage gh_stage_fault;

/* One line per control, in phase order (gate/stage-t.h): a route's stages run in the order
 * they are listed here, whatever the order of its configuration keys. */
const gh_stage *const gh_stage_registry[] = {
    &gh_stage_require_header,
    &gh_stage_auth_mtls,
    &gh_stage_auth_introspect,
    &gh_stage_auth_jwt,
    &gh_stage_auth_hmac,
    &gh_stage_auth_api_key,
    &gh_stage_authorize,
    &gh_stage_policy,
    &gh_stage_rate_limit,
    &gh_stage_body,
    &gh_stage_fault,
    NULL,
};

/* A route has room for every stage. */
_Static_assert(sizeof(gh_stage_registry) / sizeof(gh_stage_registry[0]) - 1 <= GH_MAX_STAGES,
               "GH_MAX_STAGES is smaller than the registry");

/* Each route gets, in the registry's order, the stages whose configuration it has. */
static gh_config *bind_stages(gh_config *c)
{
    for (size_t i = 0; c && i < c->nroutes; i++) {
        gh_route_conf *r = &c->routes[i];
        for (size_t k = 0; gh_stage_registry[k]; k++) {
            const void *conf = gh_stage_registry[k]->bind(r);
            if (conf)
                r->stages[r->nstages++] = (gh_stage_ref){gh_stage_registry[k], conf};
        }
    }
    return c;
}

/* The route keys the stages bring, NULL-terminated. */
static void route_keys(const gh_route_keys *out[GH_MAX_STAGES + 1])
{
    size_t n = 0;
    for (size_t k = 0; gh_stage_registry[k]; k++)
        if (gh_stage_registry[k]->keys)
            out[n++] = gh_stage_registry[k]->keys;
    out[n] = NULL;
}

gh_config *gh_config_load(const char *path, gh_shared *shared, gh_diag *diag)
{
    const gh_route_keys *keys[GH_MAX_STAGES + 1];
    route_keys(keys);
    return bind_stages(gh_config_parse(path, shared, keys, diag));
}

gh_config *gh_config_load_string(const char *name, const char *yaml, size_t len,
                                 gh_shared *shared, gh_diag *diag)
{
    const gh_route_keys *keys[GH_MAX_STAGES + 1];
    route_keys(keys);
    return bind_stages(gh_config_parse_string(name, yaml, len, shared, keys, diag));
}
