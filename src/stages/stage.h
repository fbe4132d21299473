/* The request stages that run between routing and the route's action (DESIGN §3): compiled per
 * route at configuration load, each a small module behind one interface. */
#ifndef GH_STAGES_STAGE_H
#define GH_STAGES_STAGE_H

#include "core/reason.h"

typedef struct gh_request gh_request;

/* A stage never answers the request it runs on: answering frees the request, and the stage (or
 * the wait that called it) would go on reading freed memory. It returns a verdict, and whoever
 * ran it answers once it has returned. */
typedef enum {
    GH_NEXT, /* continue with the next stage */
    GH_DONE, /* refused: the stage recorded why (gh_stage_refuse); its caller answers */
    GH_WAIT, /* the stage waits for something (keys being fetched); it calls gh_request_resume */
} gh_verdict;

typedef struct gh_stage {
    const char *name;
    gh_verdict (*run)(gh_request *req, const void *conf);
} gh_stage;

typedef struct gh_stage_ref {
    const gh_stage *stage;
    const void *conf;
} gh_stage_ref;

#define GH_MAX_STAGES 12

/* Records why the running stage refuses the request (gh_conn_refuse does the same while a stage
 * runs); the request is answered once the stage has returned. Returns GH_DONE. */
gh_verdict gh_stage_refuse(gh_request *req, gh_reason reason, const char *detail);

/* What a waiting stage does once its wait is over: a verdict, like a stage's run. */
typedef gh_verdict (*gh_stage_step)(gh_request *req, const void *arg);

/* Continues a request whose stage returned GH_WAIT: step(req, arg) runs as a stage does (a
 * refusal it makes is answered after it has returned); on GH_NEXT the stages after it run, then
 * the route's action. Called on the request's worker; req may be gone when it returns. */
void gh_request_resume(gh_request *req, gh_stage_step step, const void *arg);

/* Authentication with identity.jwt.<name>; conf is the gh_jwt_provider. */
extern const gh_stage gh_stage_auth_jwt;
/* Authentication with identity.introspection.<name>; conf is the gh_jwt_provider. */
extern const gh_stage gh_stage_auth_introspect;
/* Authorization by scopes and claims; conf is the route's gh_authz_conf. */
extern const gh_stage gh_stage_authorize;
/* External policy (auth.policy); conf is the gh_route_conf. */
extern const gh_stage gh_stage_policy;
/* Rate limits and quotas; conf is the gh_route_conf (its limits). */
extern const gh_stage gh_stage_rate_limit;
/* Authentication by the client certificate (auth.mtls); conf is the gh_mtls_rule. */
extern const gh_stage gh_stage_auth_mtls;
/* Authentication with identity.api_keys.<name>; conf is the gh_api_key_provider. */
extern const gh_stage gh_stage_auth_api_key;
/* Webhook signatures with identity.hmac.<name> (the body read whole first); conf is the
 * gh_hmac_provider. */
extern const gh_stage gh_stage_auth_hmac;
/* The route's body rules: size, content type, and a JSON body read whole and validated against
 * the schema; conf is the gh_body_conf. */
extern const gh_stage gh_stage_body;

#endif
