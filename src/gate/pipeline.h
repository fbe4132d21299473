/* The pipeline (gate/pipeline.c): a request from its parsed head to its action, and its end.
 * The downstream calls gh_pipeline_start once the request's head is adopted; everything else
 * answers through the request's downstream ops. */
#ifndef GH_GATE_PIPELINE_H
#define GH_GATE_PIPELINE_H

#include "core/reason.h"
#include "gate/exchange.h"

/* Routes the request, runs its stages, starts its action. req may be gone when it returns. */
void gh_pipeline_start(gh_request *req);

/* Refuses the request with a problem document (RFC 9457) and ends it. Inside a stage, only
 * records the reason: the pipeline answers once the stage has returned. */
void gh_request_refuse(gh_request *req, gh_reason reason, const char *detail);
/* The request cannot go on (its action failed, its body broke a rule): refused when no response
 * has started, else its downstream is cut. */
void gh_request_fail(gh_request *req, gh_reason reason, const char *detail);
/* The request is over, answered or not: what a waiting stage or the action holds is let go, the
 * request is logged and counted, and its memory freed. Called by the downstream. */
void gh_request_end(gh_request *req);

#endif
