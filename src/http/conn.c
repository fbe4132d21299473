/* The downstream connection: reads heads (from the socket or a TLS session),
 * streams request bodies to the proxy, writes responses, and keeps the connection's single
 * close path. Routing and dispatch of a parsed head are in request.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http/conn.h"
#include "http/conn_internal.h"
#include "http/conn_tls.h"
#include "http/h2.h"
#include "gate/body.h"
#include "gate/pipeline.h"
#include "gate/request.h"
#include "gate/trace.h"
#include "gate/respond.h"
#include "gate/security_event.h"
#include "observe/events.h"
#include "tls/client_cert.h"

#define GH_LINGER_MS 2000
#define GH_DRAIN_QUIET_MS 1000 /* a draining worker's connection without a request: then closed */

static void update_reading(gh_conn *c);
static int tls_fill(gh_conn *c);
static bool h2_step(gh_conn *c, int filled);
static void on_timer(uv_timer_t *t);

void gh__conn_set_timer(gh_conn *c, int kind, uint64_t ms)
{
    c->timer_kind = (uint8_t)kind;
    gh_deadline_set(&c->timer, ms);
}

void gh__conn_stop_timer(gh_conn *c)
{
    c->timer_kind = T_NONE;
    gh_deadline_clear(&c->timer);
}

static void free_conn(uv_handle_t *h)
{
    gh_conn *c = h->data;
    /* Two handles (tcp, timer) close; the last callback frees. */
    if (++c->closed_handles == 2)
        free(c);
}

/* Logs, counts and frees the request; the connection stays as it is. */
static void request_end(gh_conn *c)
{
    gh_request *req = c->req;
    if (!req)
        return;
    gh_request_end(req);
    c->req = NULL;
}

void gh_conn_close(gh_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    request_end(c);
    gh_services *svc = c->svc;
    gh_h2_end(c); /* its streams' requests go with it */
    gh_list_unlink(&svc->conns->list, &c->link);
    svc->conns->n--;
    gh_metric_add(&svc->metrics.open_connections, (unsigned long long)-1);
    gh_outq_reset(&c->out);
    gh_conn_tls_end(c);
    gh_block_put(&svc->blocks, c->in);
    c->in = NULL;
    uv_close((uv_handle_t *)&c->timer.timer, free_conn);
    uv_close((uv_handle_t *)&c->tcp, free_conn);
}

static void on_shutdown(uv_shutdown_t *sr, int status)
{
    gh_conn *c = sr->data;
    free(sr);
    if (c->closing)
        return;
    if (status < 0) {
        gh_conn_close(c);
        return;
    }
    c->state = GH_CS_LINGER;
    gh__conn_set_timer(c, T_LINGER, GH_LINGER_MS);
    update_reading(c);
}

/* Graceful close: once the response is out, shut the write side and read what the client still
 * sends for a moment, so that unread request bytes do not turn into a reset that destroys the
 * response before the client reads it. */
static void close_when_flushed(gh_conn *c)
{
    c->close_after_flush = true;
    if (c->closing || c->state == GH_CS_LINGER)
        return;
    if (c->tls)
        gh_conn_tls_close_notify(c); /* queued behind the response: once */
    if (c->out.pending) {
        /* A client that never reads the rest must not hold the connection forever. */
        if (c->timer_kind != T_SEND)
            gh__conn_set_timer(c, T_SEND, c->svc->snapshots.config->limits.body_timeout_ms);
        return;
    }
    uv_shutdown_t *sr = malloc(sizeof(*sr));
    if (!sr || uv_shutdown(sr, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
        free(sr);
        gh_conn_close(c);
        return;
    }
    sr->data = c;
    c->state = GH_CS_LINGER;
    gh__conn_stop_timer(c);
}

static void on_out_drain(gh_outq *q, int status)
{
    gh_conn *c = (gh_conn *)((char *)q - offsetof(gh_conn, out));
    if (c->closing)
        return;
    if (status < 0) {
        gh_conn_close(c);
        return;
    }
    /* HTTP/2 output draining may be a PING's ACK, no sign the client reads its responses: the
     * session's own timer (h2_timer) judges that. */
    if (c->timer_kind == T_SEND && q->pending < GH_OUTQ_HIGH && !c->h2) {
        gh__conn_stop_timer(c);
        gh__conn_body_timer_resume(c);
    }
    if (c->close_after_flush && q->pending == 0) {
        close_when_flushed(c);
        return;
    }
    if (c->h2)
        gh_h2_output_drained(c);
    if (c->req && c->req->action && q->pending < GH_OUTQ_HIGH)
        c->req->action->client_drained(c->req);
}

int gh_conn_write_raw(gh_conn *c, const uv_buf_t *bufs, unsigned n)
{
    return c->tls ? gh_conn_tls_write(c, bufs, n) : gh_outq_write(&c->out, bufs, n);
}

bool gh_conn_output_full_raw(const gh_conn *c)
{
    return c->out.pending >= GH_OUTQ_HIGH;
}

static int conn_send(gh_request *req, const uv_buf_t *bufs, unsigned n)
{
    gh_conn *c = req->downstream;
    for (unsigned i = 0; i < n; i++)
        req->bytes_out += bufs[i].len;
    req->resp_started = true;
    int r = gh_conn_write_raw(c, bufs, n);
    if (r == 0 && gh_conn_output_full_raw(c) && c->timer_kind != T_SEND)
        gh__conn_set_timer(c, T_SEND, req->config->limits.body_timeout_ms);
    return r;
}

static bool conn_output_full(const gh_request *req)
{
    return gh_conn_output_full_raw(req->downstream);
}

static void go_idle(gh_conn *c)
{
    c->state = GH_CS_IDLE;
    c->scanned = 0;
    if (c->in && c->in->off == c->in->len) {
        gh_block_put(&c->svc->blocks, c->in);
        c->in = NULL;
    }
    if (c->in) {
        c->state = GH_CS_HEAD;
        gh__conn_set_timer(c, T_HEAD, c->svc->snapshots.config->limits.head_timeout_ms);
    } else {
        gh__conn_set_timer(c, T_IDLE, c->svc->snapshots.config->limits.idle_timeout_ms);
    }
}

static void conn_finish(gh_request *req)
{
    gh_conn *c = req->downstream;
    req->resp_done = true;
    if (!req->body_done)
        req->close_after = true;
    bool close = req->close_after || !req->h1.keep_alive || c->svc->draining;
    request_end(c);
    if (close) {
        /* No request is left: nothing may pump a body or parse a head while the last output
         * drains (it can still be queued, and bytes may still arrive in this iteration). */
        c->state = GH_CS_WAIT;
        close_when_flushed(c);
        return;
    }
    go_idle(c);
    gh__conn_process(c);
}

static void conn_cut(gh_request *req)
{
    gh_conn_close(req->downstream);
}

gh_peer gh_conn_peer(const gh_conn *c, bool h2)
{
    gh_peer peer = {.listener = c->listener,
                    .methods = c->methods,
                    .underscores = c->underscores,
                    .h2 = h2,
                    .tls = c->tls,
                    .family = c->peer_family,
                    .port = c->peer_port};
    memcpy(peer.addr, c->peer_addr, sizeof(peer.addr));
    return peer;
}

/* A request on the connection; NULL (and the connection closed) when memory ran out. */
static gh_request *conn_request(gh_conn *c)
{
    gh_peer peer = gh_conn_peer(c, false);
    gh_request *req = gh_request_new(c->svc, &gh_conn_downstream, c, &peer);
    if (!req) {
        gh_conn_close(c);
        return NULL;
    }
    c->req = req;
    return req;
}

/* A refusal before a request exists (malformed head): a minimal request carries the log. */
static void refuse_head(gh_conn *c, gh_reason reason, const char *detail)
{
    gh_request *req = conn_request(c);
    if (!req)
        return;
    req->close_after = true;
    if (c->in)
        c->in->off = c->in->len; /* nothing after a framing error can be trusted */
    gh_request_refuse(req, reason, detail);
}

/* A parsed head becomes a request: adopted out of the input block, then the pipeline's. */
static void request_begin(gh_conn *c, const gh_h1_request *h1, const gh_h1_header *hdrs)
{
    gh_request *req = conn_request(c);
    if (!req)
        return;
    const char *base = c->in->data + c->in->off;
    c->in->off += (uint32_t)h1->head_len;
    c->scanned = 0;
    if (!gh_request_adopt_head(req, base, h1, hdrs)) {
        gh_request_refuse(req, GH_R_INTERNAL, "out of request memory");
        return;
    }
    gh_request_adopt_id(req);
    gh_trace_extract(req);
    req->body_left = req->h1.body == GH_BODY_LENGTH ? req->h1.content_length : 0;
    req->body_done = req->h1.body == GH_BODY_NONE;
    if (req->h1.ambiguous)
        req->close_after = true;
    c->state = GH_CS_WAIT;
    gh__conn_stop_timer(c);
    gh_pipeline_start(req);
}

/* A tunnel's input to the action, as much as it takes. True to go round again (TLS may hold
 * more); false when it must wait for bytes or for the action, or the session ended. An idle
 * session holds no input block. */
static bool tunnel_pump(gh_conn *c)
{
    gh_request *req = c->req;
    gh_block *in = c->in;
    if (!req || !in || in->off == in->len) {
        if (in && in->off == in->len) {
            gh_block_put(&c->svc->blocks, in);
            c->in = NULL;
        }
        return false;
    }
    size_t took = req->action->tunnel_in(req, in->data + in->off, in->len - in->off);
    if (c->closing || c->req != req || c->state != GH_CS_TUNNEL)
        return false;
    in->off += (uint32_t)took;
    return took > 0;
}

/* Runs the connection's state machine over buffered bytes. Re-entry (a response finished from
 * inside the loop) returns at once: the outer loop sees the new state, so pipelined requests
 * are served iteratively, not recursively. */
void gh__conn_process(gh_conn *c)
{
    if (c->in_process)
        return;
    c->in_process = true;
    gh_services *svc = c->svc;
    const gh_limits_conf *lim = &svc->snapshots.config->limits;
    while (!c->closing && c->state != GH_CS_LINGER) {
        int filled = c->tls ? tls_fill(c) : 0;
        if (filled < 0)
            break;
        if (c->state == GH_CS_H2) {
            if (h2_step(c, filled))
                continue;
            break;
        }
        if (c->state == GH_CS_TUNNEL) {
            if (tunnel_pump(c))
                continue;
            break;
        }
        gh_block *in = c->in;
        if (c->state == GH_CS_BODY) {
            if (gh__conn_body_pump(c))
                continue;
            /* The block is spent but TLS may hold more of the body: no socket event would
             * bring it, so it is moved now. */
            if (c->tls && !c->closing && c->state == GH_CS_BODY && c->in &&
                c->in->off == c->in->len && tls_fill(c) > 0)
                continue;
            break;
        }
        if (c->state == GH_CS_WAIT || !in || in->off == in->len)
            break;
        gh_h1_limits hl = {lim->max_head_bytes, lim->max_headers, lim->max_target_bytes,
                           svc->snapshots.config->defensive};
        gh_h1_request h1;
        gh_reason r = gh_h1_parse_request(in->data + in->off, in->len - in->off, &c->scanned, &hl,
                                          svc->conns->hdr_scratch, &h1);
        if (r == GH_R_AGAIN) {
            /* The head timer starts with the first byte of a head that did not arrive whole. */
            if (c->state == GH_CS_IDLE) {
                c->state = GH_CS_HEAD;
                gh__conn_set_timer(c, T_HEAD, lim->head_timeout_ms);
            }
            break;
        }
        if (r == GH_R_H2_PREFACE && c->h2c && c->state != GH_CS_WAIT) {
            if (gh_h2_start(c) != 0) { /* prior knowledge: the bytes are HTTP/2's from here */
                gh_conn_close(c);
                break;
            }
            c->state = GH_CS_H2;
            gh__conn_stop_timer(c);
            continue;
        }
        if (r != GH_R_OK) {
            refuse_head(c, r, h1.detail);
            break;
        }
        request_begin(c, &h1, svc->conns->hdr_scratch);
    }
    c->in_process = false;
    if (!c->closing)
        update_reading(c);
}

/* An HTTP/1.1 response head is its bytes. */
static bool conn_takes_fields(const gh_request *req)
{
    (void)req;
    return false;
}

static int conn_send_fields(gh_request *req, int status, const gh_h1_header *fields, size_t n,
                            int body, uint64_t length)
{
    (void)req, (void)status, (void)fields, (void)n, (void)body, (void)length;
    return UV_EPIPE;
}

static void conn_body_drained(gh_request *req)
{
    gh__conn_process(req->downstream);
}

static void conn_resume_input(void *downstream)
{
    gh_conn *c = downstream;
    if (!c->closing)
        gh__conn_process(c);
}

/* The connection becomes the session's: no head timer, no body; the tunnel keeps its own idle
 * time, and a client that stops reading is still cut by the send timer. */
static int conn_tunnel(gh_request *req)
{
    gh_conn *c = req->downstream;
    if (!req->action->tunnel_in)
        return -1;
    c->state = GH_CS_TUNNEL;
    gh__conn_stop_timer(c);
    return 0;
}

static const gh_client_cert *conn_client_cert(const gh_request *req)
{
    return gh_conn_client_cert(req->downstream);
}

const gh_downstream_ops gh_conn_downstream = {
    .takes_fields = conn_takes_fields,
    .send_fields = conn_send_fields,
    .send = conn_send,
    .output_full = conn_output_full,
    .finish = conn_finish,
    .cut = conn_cut,
    .read_body = gh__conn_body_begin,
    .collect_body = gh__conn_collect_body,
    .resume_input = conn_resume_input,
    .body_drained = conn_body_drained,
    .want_body = gh__conn_want_body,
    .tunnel = conn_tunnel,
    .client_cert = conn_client_cert,
};

/* The client ended its side (end of file, TLS close_notify) or the socket failed. A half-closed
 * client may still read the response: it is finished, then the connection closes. */
static void peer_ended(gh_conn *c, bool eof)
{
    if (c->state == GH_CS_TUNNEL && c->req) {
        c->req->action->tunnel_in(c->req, NULL, 0); /* the session ends with its own close */
        if (!c->closing)
            gh_conn_close(c);
        return;
    }
    if (c->state == GH_CS_WAIT && eof && c->req) {
        c->req->close_after = true;
        if (c->reading)
            uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
        return;
    }
    gh_conn_close(c);
}

/* An HTTP/2 connection's input went to its session. True to go round again (TLS may hold
 * more); false when this input is done with, or the connection is closing. */
static bool h2_step(gh_conn *c, int filled)
{
    bool go_on = gh_h2_input(c);
    gh_conn_h2_settle(c, !go_on);
    return go_on && c->tls && filled > 0;
}

/* Every wait of an HTTP/2 connection has its bound. A head counts from its first frame; the
 * other waits from the last progress (a stream begun, response DATA sent), not from the
 * client's last bytes: PINGs or empty WINDOW_UPDATEs every second would otherwise hold an idle
 * connection, or one whose window stays shut, for ever. */
static void h2_timer(gh_conn *c)
{
    const gh_limits_conf *lim = &c->svc->snapshots.config->limits;
    uint64_t progress = gh_h2_progress(c);
    bool moved = progress != c->h2_progress;
    c->h2_progress = progress;
    switch (gh_h2_waits_on(c)) {
    case GH_H2_IDLE:
        if (moved || c->timer_kind != T_IDLE)
            gh__conn_set_timer(c, T_IDLE, lim->idle_timeout_ms);
        return;
    case GH_H2_HEAD:
        if (c->timer_kind != T_HEAD)
            gh__conn_set_timer(c, T_HEAD, lim->head_timeout_ms);
        return;
    case GH_H2_CLIENT:
        if (moved || c->timer_kind != T_SEND)
            gh__conn_set_timer(c, T_SEND, lim->body_timeout_ms);
        return;
    case GH_H2_WORKING:
        gh__conn_stop_timer(c);
        return;
    }
}

/* Ends the session only when over (called where nothing of it is in use any more); a draining
 * connection with no stream left just closes once its output is out. */
void gh_conn_h2_settle(gh_conn *c, bool over)
{
    if (c->closing || !c->h2 || c->close_after_flush)
        return;
    if (over) {
        c->state = GH_CS_WAIT; /* GOAWAY (or the last frames) go out, then the close */
        gh_h2_end(c);
        close_when_flushed(c);
    } else if (c->svc->draining && gh_h2_idle(c)) {
        close_when_flushed(c);
    } else {
        h2_timer(c);
    }
}

/* Moves what the TLS session decrypted into the input block: the bytes added, or -1 when the
 * connection is over (or waits only to finish its response). */
static int tls_fill(gh_conn *c)
{
    uint32_t before = c->in ? c->in->len - c->in->off : 0;
    int r = gh_conn_tls_fill(c);
    if (r != 0) {
        peer_ended(c, r > 0);
        return -1;
    }
    return (int)((c->in ? c->in->len - c->in->off : 0) - before);
}

/* At most one event a second per worker: a scanner must not flood the log. */
static void report_handshake_failure(gh_conn *c, const char *why)
{
    int64_t now = (int64_t)time(NULL);
    if (c->svc->conns->tls_event_at == now)
        return;
    c->svc->conns->tls_event_at = now;
    char ip[INET6_ADDRSTRLEN] = "", fields[200];
    inet_ntop(c->peer_family == 6 ? AF_INET6 : AF_INET, c->peer_addr, ip, sizeof(ip));
    snprintf(fields, sizeof(fields), ",\"reason\":\"%s\",\"client_ip\":\"%s\"", why, ip);
    gh_event("warn", "tls_handshake_failed", "a TLS handshake failed (at most one event a second)",
             fields);
}

static void tls_failed(gh_conn *c)
{
    const char *why = c->tls->failure;
    gh_metrics_handshake(&c->svc->metrics, why);
    report_handshake_failure(c, why);
    char ip[INET6_ADDRSTRLEN] = "";
    inet_ntop(c->peer_family == 6 ? AF_INET6 : AF_INET, c->peer_addr, ip, sizeof(ip));
    gh_security_event_handshake(c->svc, ip, c->listener, why);
    if (strcmp(why, "plain_http") == 0) {
        /* A plain HTTP request on a TLS port is answered in plain HTTP, saying so. */
        gh_conn_tls_end(c);
        refuse_head(c, GH_R_PLAIN_HTTP_ON_TLS, "a plain HTTP request on a TLS listener: use https");
        return;
    }
    c->state = GH_CS_WAIT; /* nothing is parsed: the alert goes out, then the connection closes */
    close_when_flushed(c);
}

static void tls_input(gh_conn *c, const char *data, size_t len)
{
    if (c->state == GH_CS_LINGER)
        return; /* draining before close: nothing is read any more */
    switch (gh_conn_tls_input(c, data, len)) {
    case GH_TLS_IN_WAIT:
        return;
    case GH_TLS_IN_FAILED:
        tls_failed(c);
        return;
    case GH_TLS_IN_READY:
        if (c->state == GH_CS_IDLE && c->h2_offered && gh_conn_tls_alpn_h2(c)) {
            if (gh_h2_start(c) != 0) { /* ALPN chose h2 */
                gh_conn_close(c);
                return;
            }
            c->state = GH_CS_H2;
            gh__conn_stop_timer(c);
        }
        gh__conn_process(c);
        return;
    }
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)hint;
    gh_conn *c = h->data;
    if (c->tls) { /* ciphertext: handed to the session at once */
        *buf = uv_buf_init(c->svc->tls_io.rbuf, (unsigned)c->svc->tls_io.rcap);
        return;
    }
    if (!c->in)
        c->in = gh_block_get(&c->svc->blocks);
    if (!c->in) {
        *buf = uv_buf_init(NULL, 0);
        return;
    }
    if (c->state == GH_CS_LINGER || c->in->off == c->in->len)
        c->in->off = c->in->len = 0;
    *buf = uv_buf_init(c->in->data + c->in->len, GH_BLOCK_SIZE - c->in->len);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    gh_conn *c = s->data;
    if (nread > 0 && c->tls) {
        tls_input(c, buf->base, (size_t)nread);
        return;
    }
    if (nread > 0) {
        c->in->len += (uint32_t)nread;
        if (c->state == GH_CS_LINGER) {
            c->in->off = c->in->len = 0;
            return;
        }
        gh__conn_process(c);
        return;
    }
    if (nread == 0)
        return;
    peer_ended(c, nread == UV_EOF);
}

/* Reads while there is room and the current stage wants bytes. */
static void update_reading(gh_conn *c)
{
    gh_block *in = c->in;
    /* HTTP/2 takes whole blocks: a spent one must make room too, or a full read stops reading. */
    if (in && in->off > 0 &&
        (c->state == GH_CS_HEAD || c->state == GH_CS_BODY || c->state == GH_CS_WAIT ||
         c->state == GH_CS_H2 || c->state == GH_CS_TUNNEL)) {
        memmove(in->data, in->data + in->off, in->len - in->off);
        in->len -= in->off;
        in->off = 0;
    }
    bool want = !c->closing && (c->tls ? gh_conn_tls_wants_input(c) : !(in && in->len == GH_BLOCK_SIZE));
    if (c->state == GH_CS_BODY && c->req && gh_body_held(c->req))
        want = want && !(in && in->len > 0) && !(c->tls && gh_tls_pipe_buffered(c->tls));
    /* A tunnel reads on once the action took what was read: the upstream sets the pace. */
    if (c->state == GH_CS_TUNNEL)
        want = want && !(in && in->len > in->off) && !(c->tls && gh_tls_pipe_buffered(c->tls));
    if (c->close_after_flush && c->state != GH_CS_LINGER)
        want = false;
    if (c->req && c->req->close_after && c->state == GH_CS_WAIT && c->req->body_done)
        want = false;
    if (want && !c->reading) {
        if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
            c->reading = true;
    } else if (!want && c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
}

static void on_timer(uv_timer_t *t)
{
    gh_conn *c = t->data;
    if (!gh_deadline_due(&c->timer))
        return;
    int kind = c->timer_kind;
    c->timer_kind = T_NONE;
    switch (kind) {
    case T_HEAD:
        if (!c->h2 && c->in && c->in->len > c->in->off) { /* HTTP/2: a header block stalled */
            refuse_head(c, GH_R_HEAD_TIMEOUT,
                        "the request head did not arrive within limits.head_timeout");
            return;
        }
        gh_conn_close(c);
        return;
    case T_BODY:
        gh__conn_body_timer_fired(c);
        return;
    default:
        gh_conn_close(c);
        return;
    }
}

void gh_conn_drain(gh_conn *c)
{
    if (c->closing)
        return;
    if (c->h2) { /* GOAWAY: streams in flight finish, then the connection closes */
        gh_h2_drain(c);
        if (gh_h2_idle(c))
            gh_conn_close(c);
        return;
    }
    if (!c->req && c->state != GH_CS_LINGER && !c->close_after_flush) {
        /* No request on it, but one may be on its way: a keep-alive client sends its next one
         * as soon as it has a response, a new connection its first. Closed now, it would be
         * reset (a failed request, under load or in a binary upgrade); it gets a short while
         * to come, and is answered with Connection: close. Still silent then, it closes. */
        uint64_t quiet_until = uv_now(c->tcp.loop) + GH_DRAIN_QUIET_MS;
        if (c->timer_kind == T_NONE || c->timer.at == 0 || c->timer.at > quiet_until)
            gh__conn_set_timer(c, c->timer_kind == T_NONE ? T_IDLE : c->timer_kind,
                               GH_DRAIN_QUIET_MS);
        return;
    }
    if (c->req)
        c->req->close_after = true;
    if (c->state == GH_CS_TUNNEL && c->req && c->req->action->going_away)
        c->req->action->going_away(c->req); /* a session would hold the drain for its life */
}

int gh_conns_worker_init(gh_services *svc)
{
    if (!(svc->conns = calloc(1, sizeof(*svc->conns))))
        return -ENOMEM;
    svc->conns->svc = svc;
    gh_h2_worker_init(svc);
    return 0;
}

static void conns_free(uv_handle_t *h)
{
    gh_services *svc = h->data;
    free(svc->conns);
    svc->conns = NULL;
}

void gh_conns_worker_close(gh_services *svc)
{
    if (svc->conns && !uv_is_closing((uv_handle_t *)&svc->conns->h2_prepare))
        gh_h2_worker_close(svc, conns_free);
}

size_t gh_conns_count(const gh_services *svc)
{
    return svc->conns ? svc->conns->n : 0;
}

/* The next connection is taken first: closing one takes it off the list. */
void gh_conns_drain(gh_services *svc)
{
    if (!svc->conns)
        return;
    for (gh_conn *c = GH_LIST_FIRST(&svc->conns->list, gh_conn, link), *next; c; c = next) {
        next = GH_LIST_NEXT(c, gh_conn, link);
        gh_conn_drain(c);
    }
}

void gh_conns_close(gh_services *svc)
{
    if (!svc->conns)
        return;
    for (gh_conn *c = GH_LIST_FIRST(&svc->conns->list, gh_conn, link), *next; c; c = next) {
        next = GH_LIST_NEXT(c, gh_conn, link);
        gh_conn_close(c);
    }
}

static void store_peer(gh_conn *c)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) != 0)
        return;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
        c->peer_family = 4;
        memcpy(c->peer_addr, &sin->sin_addr, 4);
        c->peer_port = ntohs(sin->sin_port);
    } else if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;
        c->peer_family = 6;
        memcpy(c->peer_addr, &sin6->sin6_addr, 16);
        c->peer_port = ntohs(sin6->sin6_port);
    }
}

/* A connection from a listener's queue (server), or of an open socket (fd, server NULL). */
static void conn_start(gh_services *svc, uv_stream_t *server, uv_os_sock_t fd, const gh_listener_conf *lc)
{
    gh_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return;
    c->svc = svc;
    uv_tcp_init(svc->loop, &c->tcp);
    gh_deadline_init(svc->loop, &c->timer, on_timer, c);
    c->tcp.data = c;
    gh_list_push(&svc->conns->list, &c->link);
    svc->conns->n++;
    gh_metric_add(&svc->metrics.open_connections, 1);
    gh_outq_init(&c->out, (uv_stream_t *)&c->tcp, &svc->blocks, on_out_drain, &svc->batch);
    int r = server ? uv_accept(server, (uv_stream_t *)&c->tcp) : uv_tcp_open(&c->tcp, fd);
    if (r != 0 || svc->conns->n > svc->snapshots.config->limits.max_connections || svc->draining) {
        gh_conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    store_peer(c);
    if (lc->tls && gh_conn_tls_start(c, lc->tls) != 0) {
        gh_conn_close(c);
        return;
    }
    c->h2c = lc->h2c;
    c->h2_offered = lc->tls && lc->http2;
    c->methods = lc->methods;
    c->underscores = lc->underscores;
    c->listener = lc->id;
    c->state = GH_CS_IDLE;
    gh__conn_set_timer(c, T_HEAD, svc->snapshots.config->limits.head_timeout_ms);
    update_reading(c);
}

void gh_conn_accept(gh_services *svc, uv_stream_t *server, const gh_listener_conf *lc)
{
    conn_start(svc, server, -1, lc);
}

void gh_conn_adopt(gh_services *svc, uv_os_sock_t fd, const gh_listener_conf *lc)
{
    conn_start(svc, NULL, fd, lc);
}
