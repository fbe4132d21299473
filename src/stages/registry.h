/* Every control the gateway has, one file each in stages/ (see gate/stage-t.h for what a
 * control gives the pipeline, and docs/architecture.md for how to add one). */
#ifndef GH_STAGES_REGISTRY_H
#define GH_STAGES_REGISTRY_H

#include "config/config.h"
#include "gate/stage-t.h"

/* Every stage, in phase order, NULL-terminated. */
extern const gh_stage *const gh_stage_registry[];

/* A configuration as the gateway serves it: parsed (config/config.h), then each route given the
 * stages of the registry it uses, in phase order. The arguments and the result are
 * gh_config_parse's. */
gh_config *gh_config_load(const char *path, gh_shared *shared, gh_diag *diag);
/* Same, from a string (tests, docs examples); name is used in diagnostics. */
gh_config *gh_config_load_string(const char *name, const char *yaml, size_t len,
                                 gh_shared *shared, gh_diag *diag);

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

#endif
