/* Responses the gateway writes itself: RFC 9457 problem documents for refusals, and the
 * direct responses of `respond:` routes. */
#ifndef GH_HTTP_RESPOND_H
#define GH_HTTP_RESPOND_H

#include <stdbool.h>

#include "core/json.h"
#include "http/conn.h"

/* Whether the connection closes after this request's response. */
bool gh_respond_closing(const gh_request *req);
/* Appends "X-Request-Id" and the Connection header every gateway response carries. */
void gh_respond_common_headers(const gh_request *req, gh_sbuf *b);

void gh_respond_problem(gh_request *req, gh_reason reason, const char *detail);
void gh_respond_direct(gh_request *req);

#endif
