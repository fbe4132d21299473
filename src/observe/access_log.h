/* One JSON line per request, formatted on the worker and handed to the log thread. */
#ifndef GH_OBSERVE_ACCESS_LOG_H
#define GH_OBSERVE_ACCESS_LOG_H

#include "http/conn.h"

/* Logs and counts the request (metrics by route and status, latency). */
void gh_access_log_request(gh_worker *w, const gh_request *req);

/* RFC 3339 UTC timestamp with milliseconds, e.g. 2026-11-29T05:39:34.123Z (25 bytes + NUL). */
void gh_format_rfc3339_ms(char out[32]);

#endif
