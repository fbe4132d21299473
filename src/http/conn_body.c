/* The request body on a downstream connection: streamed to the upstream, read whole for a
 * stage that needs all of it, or read and dropped for a direct response; 100 Continue when
 * something will read it. */
#include "http/conn.h"
#include "http/conn_internal.h"
#include "http/request.h"
#include "http/respond.h"
#include "upstream/proxy.h"

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

/* Moves buffered body bytes to the upstream (or the request's buffer, or nowhere for a direct
 * response). Returns false when it must wait for bytes or for the upstream. */
bool gh__conn_body_pump(gh_conn *c)
{
    gh_request *req = c->req;
    gh_block *in = c->in;
    if (!req || (!req->up_ready && !req->discard_body && !req->collect_body) || !in ||
        in->off == in->len)
        return false;
    uint64_t max = gh_request_max_body(req);
    while (in->off < in->len && !req->body_done) {
        if (!req->discard_body && !req->collect_body && gh_proxy_body_full(req))
            return false;
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
                gh_conn_upstream_failed(req, GH_R_BAD_CHUNK, "a malformed chunked request body");
                return false;
            }
            req->body_done = gh_chunked_done(&req->chunked);
        }
        in->off += (uint32_t)consumed;
        req->bytes_in += n;
        if (req->bytes_in > max) {
            gh_conn_upstream_failed(req, GH_R_BODY_TOO_LARGE,
                                    "the body exceeds its limit (body.max_bytes or limits.max_body_bytes)");
            return false;
        }
        if (req->discard_body)
            continue;
        if (req->collect_body) {
            if (n && gh_bytes_add(&req->body, data, n, (size_t)-1) != 0) { /* max checked above */
                gh_conn_upstream_failed(req, GH_R_INTERNAL, "out of memory for the request body");
                return false;
            }
            continue;
        }
        if ((n && gh_proxy_body(req, data, n) != 0) ||
            (req->body_done && gh_proxy_body_end(req) != 0))
            return false; /* the proxy reported the failure */
    }
    if (req->body_done) {
        c->state = GH_CS_WAIT;
        gh__conn_stop_timer(c);
        if (req->discard_body) {
            gh_respond_direct(req);
            gh_conn_response_done(req);
        } else if (req->collect_body) {
            req->collect_body = false;
            /* Whatever framing the client used, it goes on with its length. */
            req->h1.body = GH_BODY_LENGTH;
            req->h1.content_length = req->body.len;
            req->on_body(req);
        }
        return true;
    }
    gh__conn_set_timer(c, T_BODY, gh_request_body_timeout(req));
    return false;
}

void gh_conn_collect_body(gh_request *req, void (*then)(gh_request *req))
{
    req->on_body = then;
    req->collect_body = true;
    req->conn->state = GH_CS_BODY;
    gh__conn_set_timer(req->conn, T_BODY, gh_request_body_timeout(req));
    (void)continue_if_expected(req); /* a failed write shows when the body does not come */
}

void gh_conn_upstream_ready(gh_request *req)
{
    gh_conn *c = req->conn;
    if (req->body.p && req->body_done) { /* read whole earlier: it goes on each attempt */
        if (gh_proxy_body(req, req->body.p, req->body.len) != 0 || gh_proxy_body_end(req) != 0)
            return; /* the proxy reported the failure */
    }
    if (continue_if_expected(req) != 0) {
        gh_conn_close(c);
        return;
    }
    gh__conn_process(c);
}

