/* Stage body (gh_stage_body in stage.h): what conn.c calls once a body is read whole, and the
 * JSON limits checked before parsing. */
#ifndef GH_STAGES_BODY_H
#define GH_STAGES_BODY_H

#include <stddef.h>
#include <stdint.h>

#include "stages/stage.h"

typedef struct gh_request gh_request;

/* The body the stage asked for is in req->body: validated, then the stages go on. */
void gh_body_collected(gh_request *req);
/* NULL when the JSON text keeps within the limits (nesting, string bytes), else why not. Run
 * before parsing, so a hostile body costs no more than one pass. */
const char *gh_json_precheck(const char *p, size_t len, uint32_t max_depth, uint64_t max_string);

#endif
