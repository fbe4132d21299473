/* The request body's framing, limits, read-ahead and pace, for every downstream. */
#include "gate/body.h"
#include "gate/pipeline.h"
#include "gate/request.h"

bool gh_body_held(const gh_request *req)
{
    return !req->action || req->action->body_full(req);
}

/* Whether the gateway, not the client, keeps the body from moving: the upstream is not ready
 * for it or has enough queued. A rate window in which this happened is not held against the
 * client. A stage reading the body whole takes it whatever the action. */
static bool held_by_gateway(const gh_request *req)
{
    return !req->collect_body && gh_body_held(req);
}

static uint64_t earliest(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

void gh_body_pace_start(gh_request *req)
{
    if (req->body_start_ms)
        return;
    uint64_t now = uv_now(req->svc->loop);
    req->body_start_ms = req->body_last_ms = req->window_start_ms = now;
    req->window_bytes = req->bytes_in;
}

uint64_t gh_body_timer_ms(const gh_request *req)
{
    gh_body_limits l = gh_request_body_limits(req);
    uint64_t now = uv_now(req->svc->loop), at = req->body_last_ms + l.timeout_ms;
    at = earliest(at, req->body_start_ms + l.deadline_ms);
    if (l.min_rate)
        at = earliest(at, req->window_start_ms + l.rate_window_ms);
    return at > now ? at - now : 0;
}

/* Whether the client kept the minimum rate over the window now ending: min_rate bytes a second,
 * or the rest of a body with a known length, unless the gateway held the body up. */
static bool window_kept(const gh_request *req, const gh_body_limits *l)
{
    if (req->window_blocked || held_by_gateway(req))
        return true;
    uint64_t need = l->min_rate * l->rate_window_ms / 1000, got = req->bytes_in - req->window_bytes;
    if (req->h1.body == GH_BODY_LENGTH && req->h1.content_length - req->window_bytes < need)
        need = req->h1.content_length - req->window_bytes;
    return got >= need;
}

bool gh_body_timer_fired(gh_request *req)
{
    gh_body_limits l = gh_request_body_limits(req);
    uint64_t now = uv_now(req->svc->loop);
    if (now >= req->body_start_ms + l.deadline_ms) {
        gh_request_fail(req, GH_R_BODY_DEADLINE,
                        "the request body did not arrive whole within its deadline (body.deadline or limits.body_deadline)");
        return false;
    }
    if (now >= req->body_last_ms + l.timeout_ms) {
        gh_request_fail(req, GH_R_BODY_TIMEOUT,
                        "the request body stalled longer than its timeout (body.timeout or limits.body_timeout)");
        return false;
    }
    if (l.min_rate && now >= req->window_start_ms + l.rate_window_ms) {
        if (!window_kept(req, &l)) {
            gh_request_fail(req, GH_R_BODY_TOO_SLOW,
                            "the request body came slower than its minimum rate (body.min_rate or limits.body_min_rate)");
            return false;
        }
        req->window_start_ms = now;
        req->window_bytes = req->bytes_in;
        req->window_blocked = false;
    }
    return true;
}

/* One step of the body's framing over p[0..avail): the body bytes in *data and *n, what was taken
 * in *consumed. False on a malformed chunk. */
static bool unframe(gh_request *req, const char *p, size_t avail, bool ended, size_t *consumed,
                    const char **data, size_t *n)
{
    *data = p;
    if (req->h1.unframed) {
        *n = *consumed = avail;
        req->body_done = ended;
    } else if (req->h1.body == GH_BODY_LENGTH) {
        *n = *consumed = avail < req->body_left ? avail : (size_t)req->body_left;
        req->body_left -= *n;
        req->body_done = req->body_left == 0;
    } else {
        if (gh_chunked_step(&req->chunked, p, avail, consumed, data, n) != GH_R_OK)
            return false;
        req->body_done = gh_chunked_done(&req->chunked);
    }
    return true;
}

/* Body bytes whose limit was checked: into the request's buffer for a stage reading the body
 * whole, or to the action. */
static gh_body_step take(gh_request *req, const char *data, size_t n)
{
    if (req->collect_body) {
        if (n && gh_bytes_add(&req->body, data, n, (size_t)-1) != 0) { /* max checked before */
            gh_request_fail(req, GH_R_INTERNAL, "out of memory for the request body");
            return GH_BODY_GONE;
        }
        if (!req->body_done && req->body.len >= req->collect_max) {
            /* As much as is read ahead: the rest streams after it. */
            req->collect_body = false;
            req->on_body(req);
            return GH_BODY_AGAIN;
        }
        return GH_BODY_WANTS;
    }
    if (n && req->action->body(req, data, n) != 0)
        return GH_BODY_GONE; /* the action reported the failure */
    return GH_BODY_WANTS;
}

gh_body_step gh_body_feed(gh_request *req, const char *p, size_t len, size_t *used, bool ended)
{
    uint64_t max = gh_request_max_body(req);
    size_t off = 0;
    *used = 0;
    while (!req->body_done && (off < len || (ended && req->h1.unframed))) {
        if (held_by_gateway(req)) {
            req->window_blocked = true; /* the client is not the slow one */
            *used = off;
            return GH_BODY_HELD;
        }
        const char *data;
        size_t consumed, n;
        if (!unframe(req, p + off, len - off, ended, &consumed, &data, &n)) {
            *used = len; /* nothing after a framing error can be trusted */
            gh_request_fail(req, GH_R_BAD_CHUNK, "a malformed chunked request body");
            return GH_BODY_GONE;
        }
        off += consumed;
        *used = off;
        req->bytes_in += n;
        if (req->bytes_in > max) {
            gh_request_fail(req, GH_R_BODY_TOO_LARGE,
                            "the body exceeds its limit (body.max_bytes or limits.max_body_bytes)");
            return GH_BODY_GONE;
        }
        gh_body_step step = take(req, data, n);
        if (step != GH_BODY_WANTS)
            return step;
    }
    if (req->body_done)
        return GH_BODY_WHOLE;
    if (off)
        req->body_last_ms = uv_now(req->svc->loop);
    return GH_BODY_WANTS;
}

void gh_body_finish(gh_request *req)
{
    if (!req->collect_body) {
        (void)req->action->body_end(req); /* a failure is the action's to report */
        return;
    }
    req->collect_body = false;
    /* Whatever framing the client used, it goes on with its length. */
    req->h1.body = GH_BODY_LENGTH;
    req->h1.unframed = false;
    req->h1.content_length = req->body.len;
    req->on_body(req);
}

bool gh_body_replay(gh_request *req)
{
    const gh_action_ops *a = req->action;
    if (req->body.p && req->body_done) /* read whole earlier: it goes on each attempt */
        return (!req->body.len || a->body(req, req->body.p, req->body.len) == 0) &&
               a->body_end(req) == 0;
    if (req->body.len) { /* read in part before the upstream: the rest follows it */
        if (a->body(req, req->body.p, req->body.len) != 0)
            return false;
        gh_bytes_free(&req->body);
    }
    return true;
}
