/* The request body, whichever downstream carries it (an HTTP/1.1 connection's framed bytes, an
 * HTTP/2 stream's DATA): its framing, the size limit, the part a stage reads whole, the action
 * it goes to, and the pace rules (pause, rate window, deadline). The downstream feeds it bytes
 * and keeps the body timer where it says. See docs/architecture.md, "The life of a request". */
#ifndef GH_GATE_BODY_H
#define GH_GATE_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gate/exchange.h"

typedef enum {
    GH_BODY_WANTS,  /* everything given was taken: more bytes, please */
    GH_BODY_HELD,   /* the action cannot take more now: again once it drained (body_drained) */
    GH_BODY_AGAIN,  /* a stage's read-ahead reached its mark and it went on: call again */
    GH_BODY_WHOLE,  /* the body is complete: the downstream settles, then gh_body_finish */
    GH_BODY_GONE,   /* the request was refused or failed: it may be freed, touch nothing */
} gh_body_step;

/* The body's pace starts (once per request: a stage's read-ahead and the rest are one body). */
void gh_body_pace_start(gh_request *req);
/* Feeds p[0..len) (bytes as the downstream received them: framed as req->h1 says, or unframed
 * when req->h1.unframed); *used: how many were taken. ended: the downstream has no more (an
 * unframed body ends there). */
gh_body_step gh_body_feed(gh_request *req, const char *p, size_t len, size_t *used, bool ended);
/* The body is complete: the stage that read it whole goes on, or the action hears the end.
 * The request may be answered (and freed) by this. */
void gh_body_finish(gh_request *req);
/* The action is ready for the body (downstream op want_body): what was read ahead of it goes
 * first. False when the action failed (and reported it: the request may be freed). */
bool gh_body_replay(gh_request *req);
/* Whether the gateway, not the client, keeps the body from moving (no action yet, or it is
 * full): the downstream stops taking input while this holds. */
bool gh_body_held(const gh_request *req);
/* In how many ms the body timer is due: the earliest of the pause limit after the last bytes,
 * the end of the rate window, the whole body's deadline. */
uint64_t gh_body_timer_ms(const gh_request *req);
/* The body timer fired: true to arm it again (gh_body_timer_ms); false when the request was
 * refused for a pause, a slow window or the deadline (it may be freed). */
bool gh_body_timer_fired(gh_request *req);

#endif
