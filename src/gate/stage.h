/* What a stage may ask of the pipeline (gate/pipeline.c): recording a refusal, and going on
 * after a wait. See gate/stage-t.h for the interface a stage implements. */
#ifndef GH_GATE_STAGE_H
#define GH_GATE_STAGE_H

#include "core/reason.h"
#include "gate/stage-t.h"

/* Records why the running stage refuses the request; the pipeline answers once the stage has
 * returned. Returns GH_DONE. */
gh_verdict gh_stage_refuse(gh_request *req, gh_reason reason, const char *detail);

/* The state of stage self for req (self->ctx_size zeroed bytes, made at first use and freed with
 * the request), or NULL when the request's memory ran out or its route has no such stage. */
void *gh_stage_context(gh_request *req, const gh_stage *self);

/* What a waiting stage does once its wait is over: a verdict, like a stage's run. */
typedef gh_verdict (*gh_stage_step)(gh_request *req, const void *arg);

/* Continues a request whose stage returned GH_WAIT: step(req, arg) runs as a stage does (a
 * refusal it makes is answered after it has returned); on GH_NEXT the stages after it run, then
 * the route's action. Called on the request's worker; req may be gone when it returns. */
void gh_request_resume(gh_request *req, gh_stage_step step, const void *arg);

#endif
