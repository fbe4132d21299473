/* Stage body (gh_stage_body in stage.h): what conn.c calls once a body is read whole. */
#ifndef GH_STAGES_BODY_H
#define GH_STAGES_BODY_H

#include <stddef.h>
#include <stdint.h>

#include "stages/stage.h"

typedef struct gh_request gh_request;

/* The body the stage asked for is in req->body: validated, then the stages go on. */
void gh_body_collected(gh_request *req);

#endif
