/* The request stages that run between routing and the route's action (DESIGN §3): compiled per
 * route at configuration load, each a small module behind one interface. */
#ifndef GH_STAGES_STAGE_H
#define GH_STAGES_STAGE_H

typedef struct gh_request gh_request;

typedef enum {
    GH_NEXT, /* continue with the next stage */
    GH_DONE, /* the stage answered (a refusal): stop */
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

/* Continues a request whose stage returned GH_WAIT: with GH_NEXT the stages after it run, then
 * the route's action; with GH_DONE the stage has answered. Called on the request's worker. */
void gh_request_resume(gh_request *req, gh_verdict v);

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
