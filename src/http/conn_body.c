/* The request body on a downstream connection: streamed to the upstream, read whole for a
 * stage that needs all of it, or read and dropped for a direct response; 100 Continue when
 * something will read it. */
#include "gate/body.h"
#include "gate/pipeline.h"
#include "gate/request.h"
#include "http/conn.h"
#include "http/conn_internal.h"

/* A client waiting for 100 Continue before its body is told to send it, once something will
 * read the body. 0, or the write's error. */
static int continue_if_expected(gh_request *req)
{
    gh_conn *c = req->downstream;
    if (!req->h1.expect_continue || req->body_done || req->bytes_in || (c->in && c->in->off < c->in->len))
        return 0;
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    uv_buf_t b = uv_buf_init((char *)cont, sizeof(cont) - 1);
    return gh_conn_write_raw(c, &b, 1);
}

/* The body timer at the earliest of its pace rules (gate/body.c). */
static void arm_body_timer(gh_conn *c, gh_request *req)
{
    gh__conn_set_timer(c, T_BODY, gh_body_timer_ms(req));
}

void gh__conn_body_begin(gh_request *req)
{
    gh_conn *c = req->downstream;
    c->state = GH_CS_BODY;
    gh_body_pace_start(req);
    arm_body_timer(c, req);
}

/* The client was taking a response that filled the output (T_SEND): while the body is still
 * read, its pace is the wait again. */
void gh__conn_body_timer_resume(gh_conn *c)
{
    if (c->req && c->state == GH_CS_BODY)
        arm_body_timer(c, c->req);
}

void gh__conn_body_timer_fired(gh_conn *c)
{
    if (!c->req) {
        gh_conn_close(c);
        return;
    }
    if (gh_body_timer_fired(c->req))
        arm_body_timer(c, c->req);
}

/* Moves buffered body bytes to the upstream (or the request's buffer, or nowhere for a direct
 * response). Returns false when it must wait for bytes or for the upstream. */
bool gh__conn_body_pump(gh_conn *c)
{
    gh_request *req = c->req;
    gh_block *in = c->in;
    if (!req || !in || in->off == in->len)
        return false;
    size_t used;
    gh_body_step step = gh_body_feed(req, in->data + in->off, in->len - in->off, &used, false);
    /* The request may have ended meanwhile and the connection with it: its block went back. */
    if (c->in == in)
        in->off += (uint32_t)used;
    switch (step) {
    case GH_BODY_WANTS:
        if (c->timer_kind != T_SEND) /* a response the client does not take comes first */
            arm_body_timer(c, req);
        return false;
    case GH_BODY_HELD:
        return false;
    case GH_BODY_AGAIN:
        return true;
    case GH_BODY_WHOLE:
        c->state = GH_CS_WAIT;
        if (c->timer_kind != T_SEND) /* the client still has to take what filled the output */
            gh__conn_stop_timer(c);
        gh_body_finish(req);
        return true;
    case GH_BODY_GONE:
    default:
        if (c->in == in)
            in->off = in->len; /* nothing after a refused body can be trusted */
        return false;
    }
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
    gh_conn *c = req->downstream;
    if (!gh_body_replay(req))
        return; /* the action reported the failure */
    if (continue_if_expected(req) != 0) {
        gh_conn_close(c);
        return;
    }
    gh__conn_process(c);
}
