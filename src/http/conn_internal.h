/* Internal to the downstream connection's files (conn.c, request.c): its timers and its state
 * machine, for the request side that routes and dispatches. */
#ifndef GH_HTTP_CONN_INTERNAL_H
#define GH_HTTP_CONN_INTERNAL_H

#include "http/conn.h"

enum { T_NONE, T_IDLE, T_HEAD, T_BODY, T_SEND, T_LINGER };

void gh__conn_set_timer(gh_conn *c, int kind, uint64_t ms);
void gh__conn_stop_timer(gh_conn *c);
/* Runs the connection's state machine over what is buffered (re-entry returns at once). */
void gh__conn_process(gh_conn *c);
/* A parsed head becomes a request: routed, its stages run, its action started. */
void gh__request_begin(gh_conn *c, const gh_h1_request *h1, const gh_h1_header *hdrs);

#endif
