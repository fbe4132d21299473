#include "stages/registry.h"

/* One line per control. The pipeline orders a route's stages by phase, so the order here only
 * has to be the phases' for the list to read as they run. */
const gh_stage *const gh_stage_registry[] = {
    &gh_stage_auth_mtls,
    &gh_stage_auth_introspect,
    &gh_stage_auth_jwt,
    &gh_stage_auth_hmac,
    &gh_stage_auth_api_key,
    &gh_stage_authorize,
    &gh_stage_policy,
    &gh_stage_rate_limit,
    &gh_stage_body,
    NULL,
};

/* A route has room for every stage. */
_Static_assert(sizeof(gh_stage_registry) / sizeof(gh_stage_registry[0]) - 1 <= GH_MAX_STAGES,
               "GH_MAX_STAGES is smaller than the registry");

/* Each route gets, in the registry's order (the phases'), the stages whose configuration it
 * has. */
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

gh_config *gh_config_load(const char *path, gh_shared *shared, gh_diag *diag)
{
    return bind_stages(gh_config_parse(path, shared, diag));
}

gh_config *gh_config_load_string(const char *name, const char *yaml, size_t len,
                                 gh_shared *shared, gh_diag *diag)
{
    return bind_stages(gh_config_parse_string(name, yaml, len, shared, diag));
}
