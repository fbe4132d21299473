/* The request body on a downstream connection: streamed to the upstream, read whole for a
 * stage that needs all of it, or read and dropped for a direct response; 100 Continue when
 * something will read it. */
#include "gate/pipeline.h"
#include "gate/request.h"
#include "http/conn.h"
#include "http/conn_internal.h"

/* A client waiting for 100 Continue before its body is told to send it, once something will
 * read the body. 0, or the write's error. */
static int continue_if_expected(gh_request *req)
{
    gh_conn *c = req->conn;
    if (!req->h1.expect_continue || req->body_done || req->bytes_in || (c->in && c->in->off < c->in->len))
        return 0;
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    uv_buf_t b = uv_buf_init((char *)cont, sizeof(cont) - 1);
    return gh__conn_write(c, &b, 1);
}

/* Whether the gateway, not the client, keeps the body from moving: the upstream is not ready
 * for it or has enough queued. A rate window in which this happened is not held against the
 * client. */
static bool held_by_gateway(const gh_request *req)
{
    return !req->collect_body && gh__conn_body_held(req);
}

bool gh__conn_body_held(const gh_request *req)
{
    return !req->action || req->action->body_full(req);
}

static uint64_t earliest(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* The body timer at the earliest of: the pause limit after the last bytes, the end of the rate
 * window, the whole body's deadline. */
static void arm_body_timer(gh_request *req)
{
    gh_conn *c = req->conn;
    gh_body_limits l = gh_request_body_limits(req);
    uint64_t now = uv_now(c->svc->loop), at = req->body_last_ms + l.timeout_ms;
    at = earliest(at, req->body_start_ms + l.deadline_ms);
    if (l.min_rate)
        at = earliest(at, req->window_start_ms + l.rate_window_ms);
    gh__conn_set_timer(c, T_BODY, at > now ? at - now : 0);
}

void gh__conn_body_begin(gh_request *req)
{
    gh_conn *c = req->conn;
    c->state = GH_CS_BODY;
    if (!req->body_start_ms) {
        uint64_t now = uv_now(c->svc->loop);
        req->body_start_ms = req->body_last_ms = req->window_start_ms = now;
        req->window_bytes = req->bytes_in;
    }
    arm_body_timer(req);
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

void gh__conn_body_timer_fired(gh_conn *c)
{
    gh_request *req = c->req;
    if (!req) {
        gh_conn_close(c);
        return;
    }
    gh_body_limits l = gh_request_body_limits(req);
    uint64_t now = uv_now(c->svc->loop);
    if (now >= req->body_start_ms + l.deadline_ms) {
        gh_request_fail(req, GH_R_BODY_DEADLINE,
                                "the request body did not arrive whole within its deadline (body.deadline or limits.body_deadline)");
        return;
    }
    if (now >= req->body_last_ms + l.timeout_ms) {
        gh_request_fail(req, GH_R_BODY_TIMEOUT,
                                "the request body stalled longer than its timeout (body.timeout or limits.body_timeout)");
        return;
    }
    if (l.min_rate && now >= req->window_start_ms + l.rate_window_ms) {
        if (!window_kept(req, &l)) {
            gh_request_fail(req, GH_R_BODY_TOO_SLOW,
                                    "the request body came slower than its minimum rate (body.min_rate or limits.body_min_rate)");
            return;
        }
        req->window_start_ms = now;
        req->window_bytes = req->bytes_in;
        req->window_blocked = false;
    }
    arm_body_timer(req);
}

/* Moves buffered body bytes to the upstream (or the request's buffer, or nowhere for a direct
 * response). Returns false when it must wait for bytes or for the upstream. */
bool gh__conn_body_pump(gh_conn *c)
{
    gh_request *req = c->req;
    gh_block *in = c->in;
    if (!req || !in || in->off == in->len)
        return false;
    if (held_by_gateway(req)) {
        req->window_blocked = true; /* the client is not the slow one */
        return false;
    }
    uint64_t max = gh_request_max_body(req);
    while (in->off < in->len && !req->body_done) {
        if (held_by_gateway(req)) {
            req->window_blocked = true;
            return false;
        }
        const char *p = in->data + in->off;
        size_t avail = in->len - in->off, consumed, n;
        const char *data = p;
        if (req->h1.body == GH_BODY_LENGTH) {
            n = consumed = avail < req->body_left ? avail : (size_t)req->body_left;
            req->body_left -= n;
            req->body_done = req->body_left == 0;
        } else {
            if (gh_chunked_step(&req->chunked, p, avail, &consumed, &data, &n) != GH_R_OK) {
                in->off = in->len;
                gh_request_fail(req, GH_R_BAD_CHUNK, "a malformed chunked request body");
                return false;
            }
            req->body_done = gh_chunked_done(&req->chunked);
        }
        in->off += (uint32_t)consumed;
        req->bytes_in += n;
        if (req->bytes_in > max) {
            gh_request_fail(req, GH_R_BODY_TOO_LARGE,
                                    "the body exceeds its limit (body.max_bytes or limits.max_body_bytes)");
            return false;
        }
        if (req->collect_body) {
            if (n && gh_bytes_add(&req->body, data, n, (size_t)-1) != 0) { /* max checked above */
                gh_request_fail(req, GH_R_INTERNAL, "out of memory for the request body");
                return false;
            }
            if (!req->body_done && req->body.len >= req->collect_max) {
                /* As much as is read ahead: the rest streams after it. */
                req->collect_body = false;
                req->on_body(req);
                return true;
            }
            continue;
        }
        if (n && req->action->body(req, data, n) != 0)
            return false; /* the action reported the failure */
    }
    if (req->body_done) {
        c->state = GH_CS_WAIT;
        gh__conn_stop_timer(c);
        if (req->collect_body) {
            req->collect_body = false;
            /* Whatever framing the client used, it goes on with its length. */
            req->h1.body = GH_BODY_LENGTH;
            req->h1.content_length = req->body.len;
            req->on_body(req);
        } else if (req->action->body_end(req) != 0) {
            return false; /* the action reported the failure */
        }
        return true;
    }
    req->body_last_ms = uv_now(c->svc->loop);
    arm_body_timer(req);
    return false;
}

void gh__conn_collect_body(gh_request *req, uint64_t max, void (*then)(gh_request *req))
{
    req->on_body = then;
    req->collect_body = true;
    req->collect_max = max;
    gh__conn_body_begin(req);
    (void)continue_if_expected(req); /* a failed write shows when the body does not come */
}

void gh__conn_want_body(gh_request *req)
{
    gh_conn *c = req->conn;
    const gh_action_ops *a = req->action;
    if (req->body.p && req->body_done) { /* read whole earlier: it goes on each attempt */
        if (a->body(req, req->body.p, req->body.len) != 0 || a->body_end(req) != 0)
            return; /* the action reported the failure */
    } else if (req->body.len) { /* read in part before the upstream: the rest follows it */
        if (a->body(req, req->body.p, req->body.len) != 0)
            return;
        gh_bytes_free(&req->body);
    }
    if (continue_if_expected(req) != 0) {
        gh_conn_close(c);
        return;
    }
    gh__conn_process(c);
}

