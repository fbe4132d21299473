/* Internal to the downstream connection's files (conn.c, conn_body.c, request.c): its timers,
 * its state machine and its writes, for the request side that routes, dispatches and reads bodies. */
#ifndef GH_HTTP_CONN_INTERNAL_H
#define GH_HTTP_CONN_INTERNAL_H

#include "http/conn.h"

enum { T_NONE, T_IDLE, T_HEAD, T_BODY, T_SEND, T_LINGER };

void gh__conn_set_timer(gh_conn *c, int kind, uint64_t ms);
void gh__conn_stop_timer(gh_conn *c);
/* Runs the connection's state machine over what is buffered (re-entry returns at once). */
void gh__conn_process(gh_conn *c);
/* Moves buffered body bytes on (conn_body.c); false when it must wait for bytes or for the
 * upstream. */
bool gh__conn_body_pump(gh_conn *c);
/* The request's body starts to be read: state, pace and timer (once per request). */
void gh__conn_body_begin(gh_request *req);
/* The body timer fired: a pause, a rate window or the deadline; refuses with 408 or re-arms. */
void gh__conn_body_timer_fired(gh_conn *c);
/* The output drained below its high mark while the body is read: the body's timer again. */
void gh__conn_body_timer_resume(gh_conn *c);
/* Reads at most max bytes of the body whole before then(req) runs (downstream op). */
void gh__conn_collect_body(gh_request *req, uint64_t max, void (*then)(gh_request *req));
/* The action is ready for the body (downstream op). */
void gh__conn_want_body(gh_request *req);

#endif
