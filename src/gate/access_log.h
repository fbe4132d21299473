/* One JSON line per request, formatted on the worker and handed to the log thread. */
#ifndef GH_GATE_ACCESS_LOG_H
#define GH_GATE_ACCESS_LOG_H

#include "http/conn.h"

/* Logs and counts the request (metrics by route and status, latency). */
void gh_access_log_request(gh_services *svc, const gh_request *req);

#endif
