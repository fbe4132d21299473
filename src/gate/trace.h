/* A request's trace context: new ids for every request (from the worker's generator, in the
 * request itself: nothing is allocated for a request that brings no context), the caller's
 * context taken where tracing.extract allows, and the fields that carry it to the upstream. */
#ifndef GH_GATE_TRACE_H
#define GH_GATE_TRACE_H

#include "core/json.h"
#include "gate/exchange.h"

/* A new trace: a trace id, the request's own span id, sampled, no parent. */
void gh_trace_begin(gh_request *req);
/* Continues the caller's trace from the adopted head, when tracing.extract allows it for this
 * peer and its traceparent (or, with b3 in tracing.propagation, its b3) is valid; otherwise the
 * new trace stands. The span id stays the request's own. */
void gh_trace_extract(gh_request *req);
/* Whether a client's field is one of the trace fields the gateway writes itself (traceparent,
 * tracestate, b3): it never goes upstream as the client wrote it. */
bool gh_trace_field(const gh_h1_header *h);
/* The upstream's trace fields: traceparent, tracestate when the caller's passed, b3 when
 * configured. gh_trace_fields_bytes is the room they take at most. */
void gh_trace_fields(const gh_request *req, gh_sbuf *b);
size_t gh_trace_fields_bytes(const gh_request *req);

#endif
