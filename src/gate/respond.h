/* Responses the gateway writes itself: RFC 9457 problem documents for refusals, and the
 * direct responses of `respond:` routes. */
#ifndef GH_GATE_RESPOND_H
#define GH_GATE_RESPOND_H

#include <stdbool.h>

#include "core/json.h"
#include "gate/action.h"
#include "gate/exchange.h"

/* Whether the connection closes after this request's response. */
bool gh_respond_closing(const gh_request *req);
/* Fields a response may gain: the operator's (global and a route's: 2 x (set + add)), the
 * hardening one, CORS, HSTS, the stages' extra fields, Date, the request id. */
#define GH_ADDED_FIELDS_MAX (4 * GH_HEADER_OPS_MAX + GH_EXTRA_FIELDS_MAX + 8)

/* Appends to out[n..max) the fields every response to req carries besides its own: a Date when
 * out[0..n) has none, the operator's rules (global, then the route's), CORS grants,
 * Strict-Transport-Security on TLS listeners, the stages' (rate limits), the request id. The
 * new count, or SIZE_MAX when they do not fit. */
size_t gh_respond_added_fields(const gh_request *req, gh_h1_header *out, size_t n, size_t max);
/* Whether responses to req carry the gateway's Strict-Transport-Security (a TLS listener). */
bool gh_respond_sends_hsts(const gh_request *req);
/* Fields as HTTP/1.1 header lines. */
void gh_respond_format_fields(gh_sbuf *b, const gh_h1_header *f, size_t n);
/* The Connection header an HTTP/1.x response needs (close, or keep-alive for HTTP/1.0). */
void gh_respond_connection(const gh_request *req, gh_sbuf *b);

void gh_respond_problem(gh_request *req, gh_reason reason, const char *detail);
/* A route's respond: as its action (the body read and dropped first). */
extern const gh_action_ops gh_direct_action;
void gh_respond_direct(gh_request *req);
/* A response without a body: status and its own fields, then what every response carries. */
void gh_respond_empty(gh_request *req, int status, const gh_h1_header *f, size_t n);

#endif
