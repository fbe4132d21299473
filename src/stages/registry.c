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
