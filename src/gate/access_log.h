/* One JSON line per request, formatted on the worker and handed to the log thread. */
#ifndef GH_GATE_ACCESS_LOG_H
#define GH_GATE_ACCESS_LOG_H

#include "core/json.h"
#include "gate/exchange.h"
#include "gate/stage-t.h"

/* Logs and counts the request (metrics by route and status, latency). */
void gh_access_log_request(gh_services *svc, const gh_request *req);

/* An access-log line being written: the stages' log hooks (gate/stage-t.h) add their fields. */
struct gh_log_line {
    gh_sbuf *b;
    bool principal; /* written already: stages that share fields write them once */
    bool decision;
};
/* "name": the JSON string v (len bytes), or null when v is NULL. */
void gh_log_field(gh_log_line *l, const char *name, const char *v, size_t len);
/* The log hook of a stage that authenticates: who the request is from (auth, auth_reason, sub,
 * client_id, iss, kid), once per line whichever stages authenticate it. */
void gh_log_principal(gh_log_line *l, const gh_request *req, const void *conf, const void *ctx);
/* The log hook of a stage that authorizes: what was decided and why (authz, authz_reason),
 * once per line. */
void gh_log_decision(gh_log_line *l, const gh_request *req, const void *conf, const void *ctx);

#endif
