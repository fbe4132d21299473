/* The downstream connection: reads heads, dispatches requests, streams request bodies to the
 * proxy, writes responses, and keeps the connection's single close path. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "http/conn.h"
#include "http/normalize.h"
#include "http/respond.h"
#include "observe/access_log.h"
#include "upstream/proxy.h"

enum { T_NONE, T_IDLE, T_HEAD, T_BODY, T_SEND, T_LINGER };

#define GH_LINGER_MS 2000
#define GH_REQUEST_ARENA_CHUNK 8192
#define GH_REQUEST_ARENA_LIMIT (256u * 1024u)

static void conn_process(gh_conn *c);
static void update_reading(gh_conn *c);
static void on_timer(uv_timer_t *t);

static void set_timer(gh_conn *c, int kind, uint64_t ms)
{
    c->timer_kind = (uint8_t)kind;
    gh_deadline_set(&c->timer, ms);
}

static void stop_timer(gh_conn *c)
{
    c->timer_kind = T_NONE;
    gh_deadline_clear(&c->timer);
}

static void free_conn(uv_handle_t *h)
{
    gh_conn *c = h->data;
    /* Two handles (tcp, timer) close; the second callback frees. */
    if (++c->closed_handles == 2)
        free(c);
}

/* Logs, counts and frees the request; the connection stays as it is. */
static void request_end(gh_conn *c)
{
    gh_request *req = c->req;
    if (!req)
        return;
    if (req->wait_abort)
        req->wait_abort(req);
    if (req->up || req->slot_held)
        gh_proxy_abort(req);
    if (!req->resp_done && req->reason == GH_R_OK)
        req->reason = GH_R_CLIENT_CLOSED;
    if (!req->status)
        req->status = gh_reason_status(req->reason);
    gh_access_log_request(c->w, req);
    c->req = NULL;
    gh_worker_snapshot_put(c->w, req->snap);
    gh_arena arena = req->arena;
    gh_arena_free(&arena);
}

void gh_conn_close(gh_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    request_end(c);
    gh_worker *w = c->w;
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    w->nconns--;
    gh_metric_add(&w->metrics.open_connections, (unsigned long long)-1);
    gh_outq_reset(&c->out);
    gh_block_put(&w->blocks, c->in);
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
    set_timer(c, T_LINGER, GH_LINGER_MS);
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
    if (c->out.pending) {
        /* A client that never reads the rest must not hold the connection forever. */
        if (c->timer_kind != T_SEND)
            set_timer(c, T_SEND, c->w->config->limits.body_timeout_ms);
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
    stop_timer(c);
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
    if (c->timer_kind == T_SEND && q->pending < GH_OUTQ_HIGH)
        stop_timer(c);
    if (c->close_after_flush && q->pending == 0) {
        close_when_flushed(c);
        return;
    }
    if (c->req && q->pending < GH_OUTQ_HIGH)
        gh_proxy_client_drained(c->req);
}

int gh_conn_send(gh_request *req, const uv_buf_t *bufs, unsigned n)
{
    gh_conn *c = req->conn;
    for (unsigned i = 0; i < n; i++)
        req->bytes_out += bufs[i].len;
    req->resp_started = true;
    int r = gh_outq_write(&c->out, bufs, n);
    if (r == 0 && c->out.pending >= GH_OUTQ_HIGH && c->timer_kind != T_SEND)
        set_timer(c, T_SEND, req->config->limits.body_timeout_ms);
    return r;
}

bool gh_conn_output_full(const gh_request *req)
{
    return req->conn->out.pending >= GH_OUTQ_HIGH;
}

static void go_idle(gh_conn *c)
{
    c->state = GH_CS_IDLE;
    c->scanned = 0;
    if (c->in && c->in->off == c->in->len) {
        gh_block_put(&c->w->blocks, c->in);
        c->in = NULL;
    }
    if (c->in) {
        c->state = GH_CS_HEAD;
        set_timer(c, T_HEAD, c->w->config->limits.head_timeout_ms);
    } else {
        set_timer(c, T_IDLE, c->w->config->limits.idle_timeout_ms);
    }
}

void gh_conn_response_done(gh_request *req)
{
    gh_conn *c = req->conn;
    req->resp_done = true;
    if (!req->body_done)
        req->close_after = true;
    bool close = req->close_after || !req->h1.keep_alive || c->w->draining;
    request_end(c);
    if (close) {
        /* No request is left: nothing may pump a body or parse a head while the last output
         * drains (it can still be queued, and bytes may still arrive in this iteration). */
        c->state = GH_CS_WAIT;
        close_when_flushed(c);
        return;
    }
    go_idle(c);
    conn_process(c);
}

void gh_conn_refuse(gh_request *req, gh_reason reason, const char *detail)
{
    req->reason = reason;
    req->detail = detail;
    gh_metrics_refusal(&req->conn->w->metrics, reason);
    if (!req->body_done)
        req->close_after = true;
    gh_respond_problem(req, reason, detail);
    gh_conn_response_done(req);
}

void gh_conn_upstream_failed(gh_request *req, gh_reason reason, const char *detail)
{
    if (!req->resp_started) {
        gh_conn_refuse(req, reason, detail);
        return;
    }
    /* Part of the response is out: the only honest signal left is cutting the connection. */
    req->reason = reason;
    req->detail = detail;
    gh_metrics_refusal(&req->conn->w->metrics, reason);
    gh_conn_close(req->conn);
}

/* Dotted quad without printf: this runs for every request. */
static void format_ipv4(const unsigned char *a, char *out)
{
    for (int i = 0; i < 4; i++) {
        unsigned v = a[i];
        if (v >= 100)
            *out++ = (char)('0' + v / 100);
        if (v >= 10)
            *out++ = (char)('0' + v / 10 % 10);
        *out++ = (char)('0' + v % 10);
        *out++ = i < 3 ? '.' : '\0';
    }
}

static void format_peer(gh_conn *c, gh_request *req)
{
    int fam = c->peer_family == 6 ? AF_INET6 : AF_INET;
    if (fam == AF_INET)
        format_ipv4(c->peer_addr, req->client_ip);
    else if (!inet_ntop(fam, c->peer_addr, req->client_ip, sizeof(req->client_ip)))
        strcpy(req->client_ip, "-");
    const gh_config *cfg = req->config;
    for (size_t i = 0; i < cfg->ntrusted_proxies; i++) {
        const gh_cidr *t = &cfg->trusted_proxies[i];
        if (t->family != fam)
            continue;
        int bits = t->prefix, k = 0;
        for (; bits >= 8; bits -= 8, k++)
            if (t->addr[k] != c->peer_addr[k])
                break;
        if (bits >= 8)
            continue;
        unsigned char mask = (unsigned char)(0xff << (8 - bits));
        if (bits == 0 || (t->addr[k] & mask) == (c->peer_addr[k] & mask)) {
            req->trusted_peer = true;
            return;
        }
    }
}

/* A request in its own arena, on the worker's current snapshot, attached to the connection.
 * NULL (and the connection closed) when memory ran out. */
static gh_request *request_new(gh_conn *c)
{
    gh_arena a;
    gh_arena_init_spares(&a, GH_REQUEST_ARENA_CHUNK, GH_REQUEST_ARENA_LIMIT, &c->w->arena_spares);
    gh_request *req = gh_arena_zalloc(&a, sizeof(*req));
    if (!req) {
        gh_arena_free(&a);
        gh_conn_close(c);
        return NULL;
    }
    req->arena = a;
    req->conn = c;
    req->snap = gh_worker_snapshot_get(c->w);
    req->config = req->snap->config;
    req->start_us = gh_now_us();
    gh_worker_request_id(c->w, req->id);
    req->id_len = 32;
    format_peer(c, req);
    c->req = req;
    return req;
}

/* A refusal before a request exists (malformed head): a minimal request carries the log. */
static void refuse_head(gh_conn *c, gh_reason reason, const char *detail)
{
    gh_request *req = request_new(c);
    if (!req)
        return;
    req->close_after = true;
    if (c->in)
        c->in->off = c->in->len; /* nothing after a framing error can be trusted */
    gh_conn_refuse(req, reason, detail);
}

/* A trusted proxy's X-Request-Id becomes this request's id, so one id follows the request
 * through every hop; only a plain token is taken (it is echoed into logs and headers). */
static void adopt_request_id(gh_request *req)
{
    if (!req->trusted_peer)
        return;
    for (size_t i = 0; i < req->h1.nheaders; i++) {
        const gh_h1_header *h = &req->h1.headers[i];
        if (!GH_H1_NAME_IS(h, "x-request-id") || h->value_len == 0 || h->value_len > 64)
            continue;
        for (size_t k = 0; k < h->value_len; k++) {
            char ch = h->value[k];
            if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.'))
                return;
        }
        memcpy(req->id, h->value, h->value_len);
        req->id[h->value_len] = '\0';
        req->id_len = (uint8_t)h->value_len;
        return;
    }
}

/* Copies the head into the request's arena so the input block can be reused and compacted
 * while the request lives; pointers are rebased. */
static bool adopt_head(gh_request *req, const char *base, const gh_h1_request *h1,
                       const gh_h1_header *hdrs)
{
    char *copy = gh_arena_alloc(&req->arena, h1->head_len);
    gh_h1_header *h = gh_arena_alloc(&req->arena, (h1->nheaders ? h1->nheaders : 1) * sizeof(*h));
    if (!copy || !h)
        return false;
    memcpy(copy, base, h1->head_len);
    ptrdiff_t d = copy - base;
    req->h1 = *h1;
    req->h1.method += d;
    req->h1.target += d;
    if (req->h1.host)
        req->h1.host += d;
    for (size_t i = 0; i < h1->nheaders; i++) {
        h[i] = hdrs[i];
        h[i].name += d;
        h[i].value += d;
    }
    req->h1.headers = h;
    return true;
}

static void route_action(gh_request *req);

/* The route's stages from the first'th on; a stage that waits resumes through
 * gh_request_resume. */
static void run_stages(gh_request *req, size_t first)
{
    const gh_route_conf *route = req->match.route;
    for (size_t i = first; i < route->nstages; i++) {
        gh_verdict v = route->stages[i].stage->run(req, route->stages[i].conf);
        if (v == GH_DONE)
            return;
        if (v == GH_WAIT) {
            req->stage_at = (uint8_t)i;
            return;
        }
    }
    route_action(req);
}

void gh_request_resume(gh_request *req, gh_verdict v)
{
    gh_conn *c = req->conn;
    req->wait_abort = NULL;
    if (v == GH_NEXT)
        run_stages(req, (size_t)req->stage_at + 1);
    if (!c->closing)
        conn_process(c); /* body bytes that arrived meanwhile, or the next pipelined request */
}

static void dispatch(gh_request *req)
{
    const gh_config *cfg = req->config;
    const char *t = req->h1.target;
    size_t tlen = req->h1.target_len;
    const char *q = memchr(t, '?', tlen);
    size_t plen = q ? (size_t)(q - t) : tlen;
    if (q) {
        req->query = q;
        req->query_len = tlen - plen;
    }
    const char *detail = NULL;
    req->path = gh_arena_alloc(&req->arena, plen + 2);
    if (!req->path) {
        gh_conn_refuse(req, GH_R_INTERNAL, "out of request memory");
        return;
    }
    gh_reason r = gh_normalize_path(t, plen, req->path, &req->path_len, &detail);
    if (r != GH_R_OK) {
        req->path_len = 0;
        gh_conn_refuse(req, r, detail);
        return;
    }
    unsigned m = gh_route_method_bit(req->h1.method, req->h1.method_len);
    r = gh_route_find(cfg, req->h1.host, req->h1.host_len, req->path, req->path_len, m,
                      &req->match);
    if (r != GH_R_OK) {
        gh_conn_refuse(req, r,
                       r == GH_R_NOT_FOUND ? "no route matches this host and path"
                                           : "the route does not allow this method");
        return;
    }
    run_stages(req, 0);
}

/* The route's action, once every stage has let the request through. */
static void route_action(gh_request *req)
{
    gh_conn *c = req->conn;
    const gh_config *cfg = req->config;
    const gh_route_conf *route = req->match.route;
    if (req->h1.body == GH_BODY_LENGTH && req->h1.content_length > cfg->limits.max_body_bytes) {
        gh_conn_refuse(req, GH_R_BODY_TOO_LARGE, "Content-Length exceeds limits.max_body_bytes");
        return;
    }
    if (!route->upstream) {
        /* A direct response reads and discards the body first, so the connection stays
         * usable; a client waiting for 100-continue gets the answer without sending it. */
        if (!req->body_done && !req->h1.expect_continue) {
            req->discard_body = true;
            c->state = GH_CS_BODY;
            set_timer(c, T_BODY, cfg->limits.body_timeout_ms);
            return;
        }
        gh_respond_direct(req);
        gh_conn_response_done(req);
        return;
    }
    if (!req->body_done) {
        c->state = GH_CS_BODY;
        set_timer(c, T_BODY, cfg->limits.body_timeout_ms);
    }
    gh_proxy_start(req);
}

static void request_begin(gh_conn *c, const gh_h1_request *h1, const gh_h1_header *hdrs)
{
    gh_request *req = request_new(c);
    if (!req)
        return;
    const char *base = c->in->data + c->in->off;
    c->in->off += (uint32_t)h1->head_len;
    c->scanned = 0;
    if (!adopt_head(req, base, h1, hdrs)) {
        gh_conn_refuse(req, GH_R_INTERNAL, "out of request memory");
        return;
    }
    adopt_request_id(req);
    req->body_left = req->h1.body == GH_BODY_LENGTH ? req->h1.content_length : 0;
    req->body_done = req->h1.body == GH_BODY_NONE;
    if (req->h1.ambiguous)
        req->close_after = true;
    c->state = GH_CS_WAIT;
    stop_timer(c);
    dispatch(req);
}

/* Moves buffered body bytes to the upstream. Returns false when it must wait for bytes or for
 * the upstream. */
static bool body_pump(gh_conn *c)
{
    gh_request *req = c->req;
    gh_block *in = c->in;
    if (!req || (!req->up_ready && !req->discard_body) || !in || in->off == in->len)
        return false;
    uint64_t max = req->config->limits.max_body_bytes;
    while (in->off < in->len && !req->body_done) {
        if (!req->discard_body && gh_proxy_body_full(req))
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
                                    "the body exceeds limits.max_body_bytes");
            return false;
        }
        if (req->discard_body)
            continue;
        if ((n && gh_proxy_body(req, data, n) != 0) ||
            (req->body_done && gh_proxy_body_end(req) != 0))
            return false; /* the proxy reported the failure */
    }
    if (req->body_done) {
        c->state = GH_CS_WAIT;
        stop_timer(c);
        if (req->discard_body) {
            gh_respond_direct(req);
            gh_conn_response_done(req);
        }
        return true;
    }
    set_timer(c, T_BODY, req->config->limits.body_timeout_ms);
    return false;
}

/* Runs the connection's state machine over buffered bytes. Re-entry (a response finished from
 * inside the loop) returns at once: the outer loop sees the new state, so pipelined requests
 * are served iteratively, not recursively. */
static void conn_process(gh_conn *c)
{
    if (c->in_process)
        return;
    c->in_process = true;
    gh_worker *w = c->w;
    const gh_limits_conf *lim = &w->config->limits;
    while (!c->closing && c->state != GH_CS_LINGER) {
        gh_block *in = c->in;
        if (c->state == GH_CS_BODY) {
            if (!body_pump(c))
                break;
            continue;
        }
        if (c->state == GH_CS_WAIT || !in || in->off == in->len)
            break;
        gh_h1_limits hl = {lim->max_head_bytes, lim->max_headers, lim->max_target_bytes,
                           w->config->defensive};
        gh_h1_request h1;
        gh_reason r = gh_h1_parse_request(in->data + in->off, in->len - in->off, &c->scanned, &hl,
                                          w->hdr_scratch, &h1);
        if (r == GH_R_AGAIN) {
            /* The head timer starts with the first byte of a head that did not arrive whole. */
            if (c->state == GH_CS_IDLE) {
                c->state = GH_CS_HEAD;
                set_timer(c, T_HEAD, lim->head_timeout_ms);
            }
            break;
        }
        if (r != GH_R_OK) {
            refuse_head(c, r, h1.detail);
            break;
        }
        request_begin(c, &h1, w->hdr_scratch);
    }
    c->in_process = false;
    if (!c->closing)
        update_reading(c);
}

void gh_conn_upstream_ready(gh_request *req)
{
    gh_conn *c = req->conn;
    if (req->h1.expect_continue && !req->body_done && req->bytes_in == 0 &&
        (!c->in || c->in->off == c->in->len)) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        uv_buf_t b = uv_buf_init((char *)cont, sizeof(cont) - 1);
        if (gh_outq_write(&c->out, &b, 1) != 0) {
            gh_conn_close(c);
            return;
        }
    }
    conn_process(c);
}

void gh_conn_upstream_drained(gh_request *req)
{
    conn_process(req->conn);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)hint;
    gh_conn *c = h->data;
    if (!c->in)
        c->in = gh_block_get(&c->w->blocks);
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
    (void)buf;
    gh_conn *c = s->data;
    if (nread > 0) {
        c->in->len += (uint32_t)nread;
        if (c->state == GH_CS_LINGER) {
            c->in->off = c->in->len = 0;
            return;
        }
        conn_process(c);
        return;
    }
    if (nread == 0)
        return;
    if (c->state == GH_CS_WAIT && nread == UV_EOF && c->req) {
        /* A half-closed client may still read the response: finish it, then close. */
        c->req->close_after = true;
        uv_read_stop(s);
        c->reading = false;
        return;
    }
    gh_conn_close(c);
}

/* Reads while there is room and the current stage wants bytes. */
static void update_reading(gh_conn *c)
{
    gh_block *in = c->in;
    if (in && in->off > 0 &&
        (c->state == GH_CS_HEAD || c->state == GH_CS_BODY || c->state == GH_CS_WAIT)) {
        memmove(in->data, in->data + in->off, in->len - in->off);
        in->len -= in->off;
        in->off = 0;
    }
    bool want = !c->closing && !(in && in->len == GH_BLOCK_SIZE);
    if (c->state == GH_CS_BODY && c->req && !c->req->discard_body &&
        (!c->req->up_ready || gh_proxy_body_full(c->req)))
        want = want && !(in && in->len > 0);
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
        if (c->in && c->in->len > c->in->off) {
            refuse_head(c, GH_R_HEAD_TIMEOUT,
                        "the request head did not arrive within limits.head_timeout");
            return;
        }
        gh_conn_close(c);
        return;
    case T_BODY:
        if (c->req) {
            gh_conn_upstream_failed(c->req, GH_R_BODY_TIMEOUT,
                                    "the request body stalled longer than limits.body_timeout");
            return;
        }
        gh_conn_close(c);
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
    if (!c->req && c->state != GH_CS_LINGER && !c->close_after_flush) {
        gh_conn_close(c); /* idle: nothing to finish */
        return;
    }
    if (c->req)
        c->req->close_after = true;
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

void gh_conn_accept(gh_worker *w, uv_stream_t *server)
{
    gh_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return;
    c->w = w;
    uv_tcp_init(&w->loop, &c->tcp);
    gh_deadline_init(&w->loop, &c->timer, on_timer, c);
    c->tcp.data = c;
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    w->nconns++;
    gh_metric_add(&w->metrics.open_connections, 1);
    gh_outq_init(&c->out, (uv_stream_t *)&c->tcp, &w->blocks, on_out_drain, &w->batch);
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 ||
        w->nconns > w->config->limits.max_connections || w->draining) {
        gh_conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    store_peer(c);
    c->state = GH_CS_IDLE;
    set_timer(c, T_HEAD, w->config->limits.head_timeout_ms);
    update_reading(c);
}
