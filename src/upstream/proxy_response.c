/* The response side of the proxy: the upstream's response head parsed (interim responses
 * consumed, a 502/503/504 that may go elsewhere handed back to the try), the client's head
 * written from it, the body passed on as it arrives (chunk-framed where the client needs it),
 * the response's end, and a 101 that opens a WebSocket session. proxy.c owns the tries and the
 * connection's reads; it calls in here with the bytes. */
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/json.h"
#include "gate/respond.h"
#include "gate/span.h"
#include "upstream/upconn.h"

/* Sends response bytes to the client, chunk-framed when asked. The response head waits in
 * up->head until the first body bytes so that a small response leaves in one write. */
static int send_client(gh_upconn *up, const char *p, size_t n, bool chunk)
{
    uv_buf_t b[4];
    unsigned k = 0;
    char size[24];
    if (up->head_len)
        b[k++] = uv_buf_init(up->head, (unsigned)up->head_len);
    up->head_len = 0;
    if (chunk && n) {
        int sl = snprintf(size, sizeof(size), "%zx\r\n", n);
        b[k++] = uv_buf_init(size, (unsigned)sl);
    }
    if (n)
        b[k++] = uv_buf_init((char *)p, (unsigned)n);
    if (chunk && n)
        b[k++] = uv_buf_init((char *)"\r\n", 2);
    return k ? up->req->ds->send(up->req, b, k) : 0;
}

/* The client's response head as fields (an HTTP/2 stream): the body goes unframed, a chunked
 * one de-chunked until the upstream's last chunk. */
static int send_response_fields(gh_upconn *up, const gh_h1_header *f, size_t n)
{
    gh_request *req = up->req;
    const gh_h1_response *r = &up->resp;
    int body = r->body == GH_BODY_CHUNKED ? GH_BODY_UNTIL_CLOSE : r->body;
    return req->ds->send_fields(req, r->status, f, n, body, r->content_length);
}

/* Writes the client's response head from the upstream's. */
static int send_response_head(gh_upconn *up)
{
    gh_request *req = up->req;
    const gh_h1_response *r = &up->resp;
    gh_h1_header f[GH_UP_MAX_HEADERS + GH_ADDED_FIELDS_MAX];
    size_t n = gh__response_fields(req, r, f, sizeof(f) / sizeof(f[0]));
    if (n == SIZE_MAX)
        return -1;
    req->status = r->status;
    if (req->ds->takes_fields(req))
        return send_response_fields(up, f, n);
    bool client11 = req->h1.minor == 1;
    if (r->body == GH_BODY_CHUNKED || r->body == GH_BODY_UNTIL_CLOSE) {
        up->chunk_out = client11;
        if (!client11)
            req->close_after =
                true; /* HTTP/1.0: the end of the body is the end of the connection */
    }
    size_t cap = 128;
    for (size_t i = 0; i < n; i++)
        cap += f[i].name_len + f[i].value_len + 4;
    char *buf = gh_arena_alloc(&req->arena, cap);
    if (!buf)
        return -1;
    gh_sbuf b = gh_sbuf_make(buf, cap);
    GH_SBUF_LIT(&b, "HTTP/1.1 ");
    gh_sbuf_add_u64(&b, (unsigned)r->status);
    GH_SBUF_LIT(&b, " ");
    gh_sbuf_adds(&b, gh_h1_status_text(r->status));
    GH_SBUF_LIT(&b, "\r\n");
    gh_respond_format_fields(&b, f, n);
    if (up->chunk_out)
        GH_SBUF_LIT(&b, "Transfer-Encoding: chunked\r\n");
    gh_respond_connection(req, &b);
    GH_SBUF_LIT(&b, "\r\n");
    if (b.overflow)
        return -1;
    up->head = b.p;
    up->head_len = b.len;
    return 0;
}

int gh__flush_response_head(gh_upconn *up)
{
    return send_client(up, NULL, 0, false);
}

/* Whether the response's body has ended by its own framing: no body, its length reached (a
 * Content-Length of 0 at once), its last chunk read. A body that runs to the close ends only
 * there (proxy.c's up_ended). */
static bool response_complete(const gh_upconn *up)
{
    switch (up->resp.body) {
    case GH_BODY_NONE:
        return true;
    case GH_BODY_LENGTH:
        return up->left == 0;
    case GH_BODY_CHUNKED:
        return gh_chunked_done(&up->chunked);
    default:
        return false;
    }
}

/* The response went out whole: the connection goes back to the pool when nothing speaks
 * against it, and the request ends. */
void gh__response_finished(gh_upconn *up, bool extra_bytes)
{
    gh_request *req = up->req;
    gh__flush_response_head(up); /* a head still waiting goes out now */
    if (up->chunk_out) {
        static const char last[] = "0\r\n\r\n";
        uv_buf_t b = uv_buf_init((char *)last, sizeof(last) - 1);
        req->ds->send(req, &b, 1);
    }
    gh__up_record(req, GH_UP_SUCCESS);
    bool reusable = up->resp.keep_alive && !extra_bytes && req->body_done && !req->h1.ambiguous;
    gh__up_detach(up, reusable);
    req->ds->finish(req);
}

/* Consumes response body bytes from in[off..len); false when the request ended (finished, or
 * failed). */
bool gh__pump_response(gh_upconn *up)
{
    gh_block *in = up->in;
    while (in->off < in->len) {
        const char *p = in->data + in->off, *data = p;
        size_t avail = in->len - in->off, consumed, n;
        switch (up->resp.body) {
        case GH_BODY_LENGTH:
            n = consumed = avail < up->left ? avail : (size_t)up->left;
            up->left -= n;
            break;
        case GH_BODY_CHUNKED:
            if (gh_chunked_step(&up->chunked, p, avail, &consumed, &data, &n) != GH_R_OK) {
                gh__up_fail(up, GH_R_UPSTREAM_BAD_RESPONSE, GH_UP_BAD_RESPONSE,
                        "the upstream sent a malformed chunked body");
                return false;
            }
            break;
        case GH_BODY_UNTIL_CLOSE:
            n = consumed = avail;
            break;
        default:
            n = consumed = 0;
            break;
        }
        in->off += (uint32_t)consumed;
        if (n && send_client(up, data, n, up->chunk_out) != 0) {
            gh__up_fail(up, GH_R_CLIENT_CLOSED, GH_UP_SUCCESS, "the client stopped reading");
            return false;
        }
        if (response_complete(up)) {
            gh__response_finished(up, in->off < in->len);
            return false;
        }
        if (consumed == 0)
            break;
    }
    in->off = in->len = 0;
    return true;
}

/* A 101: a WebSocket handshake the upstream accepted opens the session, its upstream slot given
 * back, its endpoint's in-flight count held; anything else is a bad response. False
 * when the request ended. */
static bool switched(gh_upconn *up)
{
    gh_request *req = up->req;
    if (!req->ws.upgrade) {
        gh__up_fail(up, GH_R_UPSTREAM_BAD_RESPONSE, GH_UP_BAD_RESPONSE,
                "the upstream switched protocols without being asked");
        return false;
    }
    if (req->svc->draining) { /* it began during the handshake: no session opens now */
        gh__up_fail(up, GH_R_DRAINING, GH_UP_SUCCESS, "the gateway began draining during the handshake");
        return false;
    }
    up->head_done = true;
    up->in->off += (uint32_t)up->resp.head_len;
    req->up_status = 101;
    gh_span_attempt_status(req, 101);
    req->up_us = gh_now_us() - req->up_start_us;
    bool theirs;
    const char *why = gh__ws_start(up, &theirs);
    if (why) { /* a client gone at the 101 says nothing of the endpoint */
        if (theirs)
            gh__up_fail(up, GH_R_UPSTREAM_BAD_RESPONSE, GH_UP_BAD_RESPONSE, why);
        else
            gh__up_fail(up, GH_R_CLIENT_CLOSED, GH_UP_SUCCESS, why);
        return false;
    }
    gh__endpoint_outcome(req, false);
    gh__up_record(req, GH_UP_SUCCESS);
    /* The upstream slot goes back (websocket.max_connections bounds sessions); the endpoint
     * keeps the session in flight, so least_request and bounded load see where sessions are. */
    gh__release_upstream_slot(req);
    return true;
}

/* Parses the response head; 1xx interim responses are consumed (the gateway answered Expect
 * itself). Returns false when it finished or failed the request. */
bool gh__parse_head(gh_upconn *up)
{
    gh_request *req = up->req;
    gh_block *in = up->in;
    for (;;) {
        bool head_req = req->h1.method_len == 4 && memcmp(req->h1.method, "HEAD", 4) == 0;
        gh_reason r = gh_h1_parse_response(in->data + in->off, in->len - in->off, GH_BLOCK_SIZE,
                                           GH_UP_MAX_HEADERS, head_req, up->hdrs, &up->resp);
        if (r == GH_R_AGAIN)
            return true;
        if (r != GH_R_OK) {
            gh__up_fail(up, GH_R_UPSTREAM_BAD_RESPONSE, GH_UP_BAD_RESPONSE, up->resp.detail);
            return false;
        }
        if (up->resp.status == 101)
            return switched(up);
        if (up->resp.status >= 200)
            break;
        in->off += (uint32_t)up->resp.head_len;
    }
    gh_span_attempt_status(req, up->resp.status);
    bool failed = gh__status_is_failure(req->upstream, up->resp.status);
    gh__endpoint_outcome(req, failed);
    int st = up->resp.status;
    unsigned cause = st == 502 ? GH_RETRY_502 : st == 503 ? GH_RETRY_503 : st == 504 ? GH_RETRY_504 : 0;
    if (cause && gh__may_retry(req, cause)) {
        gh__up_record(req, GH_UP_SUCCESS); /* the try got an answer; the request goes on elsewhere */
        gh__retry_now(up, GH_TRY_NEXT_ENDPOINT);
        return false;
    }
    up->head_done = true;
    req->up_status = up->resp.status;
    req->up_us = gh_now_us() - req->up_start_us;
    up->left = up->resp.content_length;
    if (send_response_head(up) != 0) {
        gh__up_fail(up, GH_R_CLIENT_CLOSED, GH_UP_SUCCESS, "the response head could not be sent");
        return false;
    }
    in->off += (uint32_t)up->resp.head_len;
    /* A response complete with its head (no body, or Content-Length: 0) is finished now: no
     * byte may follow to tell, and the upstream's close after it is no reset. */
    if (response_complete(up)) {
        gh__response_finished(up, in->off < in->len);
        return false;
    }
    return true;
}

