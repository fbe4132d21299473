/* A request's start on a downstream connection: its own arena on the worker's current snapshot,
 * its id, the client's address (and whether the peer is a trusted proxy), and its head copied
 * out of the connection's input block. */
#ifndef GH_HTTP_REQUEST_H
#define GH_HTTP_REQUEST_H

#include <stdbool.h>
#include <stdint.h>

#include "http/conn.h"

/* A request attached to the connection. NULL (and the connection closed) when memory ran out. */
gh_request *gh_request_new(gh_conn *c);
/* A trusted proxy's X-Request-Id, when it is a plain token, becomes the request's id. */
void gh_request_adopt_id(gh_request *req);
/* Copies the parsed head at base into the request's arena. False when memory ran out. */
bool gh_request_adopt_head(gh_request *req, const char *base, const gh_h1_request *h1,
                           const gh_h1_header *hdrs);

/* The body limits that apply to req: its route's body settings, else the global limits. */
uint64_t gh_request_max_body(const gh_request *req);
typedef struct gh_body_limits {
    uint64_t timeout_ms;     /* the longest pause */
    uint64_t deadline_ms;    /* the whole body */
    uint64_t min_rate;       /* bytes a second over each window; 0: none */
    uint64_t rate_window_ms; /* the window */
    uint64_t buffer_bytes;   /* read before an upstream slot is taken; 0: none */
} gh_body_limits;
gh_body_limits gh_request_body_limits(const gh_request *req);

#endif
