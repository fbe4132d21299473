/* A request's spans: the server span (its id is the trace context's span_id, logged and put in
 * problem documents) and child spans for the upstream tries and the waits on keys,
 * introspection, policies and the rate-limit store. At the request's end they are encoded
 * (observe/otlp_json.h) and queued for the exporter (observe/http_sink.h) when the trace is
 * sampled, or when the request was refused or failed and tracing.sampling.always_sample_errors
 * holds. Nothing is made unless tracing.exporter is configured. */
#ifndef GH_GATE_SPAN_H
#define GH_GATE_SPAN_H

#include "gate/exchange.h"

typedef enum gh_span_kind {
    GH_SPAN_UPSTREAM,      /* one try of the upstream request (a client span) */
    GH_SPAN_KEYS,          /* a wait for a JWT provider's keys */
    GH_SPAN_INTROSPECTION, /* a token introspection call */
    GH_SPAN_POLICY,        /* an external policy call */
    GH_SPAN_STORE,         /* a rate-limit decision in Redis */
} gh_span_kind;

#define GH_SPAN_CHILDREN_MAX 16 /* per request; more are not recorded */

/* Whether the request makes spans (tracing.exporter configured): called as it starts. */
void gh_span_request_begin(gh_request *req);
/* A child span begins now: its index, or -1 when none is recorded (spans off, or the request
 * has GH_SPAN_CHILDREN_MAX already). detail must outlive the request (configuration). */
int gh_span_begin(gh_request *req, gh_span_kind kind, const char *detail);
/* The child span ends now: code the upstream's status (0: none), error why it failed (a
 * static string) or NULL. An index of -1 or a span already ended is ignored. */
void gh_span_end(gh_request *req, int index, int code, const char *error);
/* An upstream try begins (its span's id is the parent the upstream is sent) and ends. */
void gh_span_attempt_begin(gh_request *req);
void gh_span_attempt_end(gh_request *req, const char *error);
/* The upstream's status for the try in progress. */
void gh_span_attempt_status(gh_request *req, int status);
/* The span id the upstream is sent as its parent: the try's, or the request's own. */
const char *gh_span_upstream_parent(const gh_request *req, char out[GH_SPAN_ID_HEX + 1]);
/* The request ended: its spans are queued when it is exported. */
void gh_span_request_end(gh_request *req);

#endif
