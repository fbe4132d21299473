/* Forwarding: the tries of a request (an endpoint, a pooled or new connection, retries), the
 * request to the upstream (its head from heads.c) and its body, the connection's reads handed
 * to the response side (proxy_response.c), and the upstream's failures mapped to 502/503/504. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/clock.h"
#include "core/tls.h"
#include "tls/client_cert.h"
#include "gate/pipeline.h"
#include "gate/span.h"
#include "store/upstream_state.h"
#include "upstream/proxy.h"
#include "upstream/upconn.h"
#include "wire/ws_frame.h"

static bool start_try(gh_request *req, uint64_t now_us);
static bool connect_fresh(gh_request *req, gh_pool *pool);
static void send_head(gh_upconn *up);

/* The try holds its endpoint's in-flight count (least_request and bounded load read it) from
 * the pick until the try ends; each try gives it back once, whichever way it ends. */
static void hold_endpoint(gh_request *req)
{
    req->endpoint_held = req->endpoint->state;
    if (req->endpoint_held)
        atomic_fetch_add_explicit(&req->endpoint_held->inflight, 1, memory_order_relaxed);
}

static void release_endpoint(gh_request *req)
{
    if (req->endpoint_held) {
        atomic_fetch_sub_explicit(&req->endpoint_held->inflight, 1, memory_order_relaxed);
        req->endpoint_held = NULL;
    }
}

void gh__release_upstream_slot(gh_request *req)
{
    if (req->slot_held) {
        gh_upstream_release(req->upstream->state);
        req->slot_held = false;
    }
}

static void release_slot(gh_request *req)
{
    release_endpoint(req);
    gh__release_upstream_slot(req);
}

void gh__up_record(gh_request *req, gh_upstream_result r)
{
    gh_metrics_upstream(&req->svc->metrics, req->upstream->name, r);
    gh_span_attempt_end(req, r == GH_UP_SUCCESS ? NULL : gh_upstream_result_name(r));
}

/* Detaches the request from the upstream connection: back to the pool or closed. */
void gh__up_detach(gh_upconn *up, bool reusable)
{
    gh_request *req = up->req;
    if (req) {
        req->up = NULL;
        release_slot(req);
    }
    up->req = NULL;
    gh_deadline_clear(&up->timer);
    if (reusable && req)
        gh__pool_put(up, req->upstream->keepalive_max_idle,
                     req->upstream->keepalive_idle_timeout_ms);
    else
        gh__upconn_close(up);
}

/* What a failed try was, for retry.on: nothing sent (connect), nothing received (reset), no
 * head in time (timeout); 0 for a failure that is never retried. */
static unsigned retry_cause(const gh_upconn *up, gh_upstream_result result)
{
    if (up->got_bytes)
        return 0;
    if (!up->req->up_ready) /* connecting, or the TLS handshake: nothing of it was sent */
        return result == GH_UP_BAD_RESPONSE ? 0 : GH_RETRY_CONNECT;
    return result == GH_UP_RESET ? GH_RETRY_RESET : result == GH_UP_TIMEOUT ? GH_RETRY_TIMEOUT : 0;
}

/* No try could be started: the request fails with why (no endpoint left in rotation, or no
 * connection to the one picked). */
static void fail_untried(gh_request *req)
{
    release_slot(req);
    gh_request_fail(req, req->reason ? req->reason : GH_R_UPSTREAM_CONNECT,
                    req->detail ? req->detail : "no connection to the upstream");
}

/* Leaves up (closed) and sends the request again; when no try can be started the request
 * fails there. */
void gh__retry_now(gh_upconn *up, gh_retry_target target)
{
    gh_request *req = up->req;
    gh_pool *pool = up->pool;
    req->up = NULL;
    up->req = NULL;
    gh__upconn_close(up);
    req->up_ready = false;
    bool started;
    if (target == GH_TRY_SAME_ENDPOINT) {
        gh_span_attempt_begin(req);
        started = connect_fresh(req, pool);
        if (started)
            req->up->retried = true;
        else
            gh__up_record(req, GH_UP_CONNECT_FAILED);
    } else {
        /* A retry may come long after the request began (a timeout): the clock is read again,
         * off the path every request takes. */
        release_endpoint(req);
        started = start_try(req, gh_now_us());
    }
    if (!started)
        fail_untried(req);
}

/* Tries the request again when its route and the budget allow. True when it went on (or
 * failed there): up is no longer the caller's. */
static bool try_elsewhere(gh_upconn *up, unsigned cause)
{
    if (!cause || !gh__may_retry(up->req, cause))
        return false;
    gh__retry_now(up, GH_TRY_NEXT_ENDPOINT);
    return true;
}

void gh__up_fail(gh_upconn *up, gh_reason reason, gh_upstream_result result, const char *detail)
{
    gh_request *req = up->req;
    if (!req) {
        gh__upconn_close(up);
        return;
    }
    gh__up_record(req, result);
    /* The gateway's own failures (the client left, a head too big) say nothing of the
     * endpoint; the rest count towards its ejection. */
    if (result != GH_UP_SUCCESS && reason != GH_R_INTERNAL) {
        gh__endpoint_outcome(req, true);
        if (try_elsewhere(up, retry_cause(up, result)))
            return;
    }
    gh__up_detach(up, false);
    gh_request_fail(req, reason, detail);
}

void gh__upconn_timeout(uv_timer_t *t)
{
    gh_upconn *up = t->data;
    if (!gh_deadline_due(&up->timer) || !up->req)
        return;
    if (up->ws) {
        gh__ws_idle(up);
        return;
    }
    if (up->state == GH_UP_CONNECTING)
        gh__up_fail(up, GH_R_UPSTREAM_TIMEOUT, GH_UP_TIMEOUT, "connecting to the upstream timed out");
    else
        gh__up_fail(up, GH_R_UPSTREAM_TIMEOUT, GH_UP_TIMEOUT,
                "the upstream did not answer within its timeout");
}

static void arm_timeout(gh_upconn *up, uint64_t ms)
{
    gh_deadline_set(&up->timer, ms);
}

/* How long the upstream may stay silent: per_try_timeout until the response head, then the
 * upstream's timeout between reads. */
static uint64_t silence_allowed(const gh_upconn *up)
{
    const gh_upstream_conf *u = up->req->upstream;
    return up->head_done ? u->timeout_ms : u->retry.per_try_timeout_ms;
}

static void update_up_reading(gh_upconn *up);

void gh__upconn_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)hint;
    gh_upconn *up = h->data;
    if (up->tls) { /* ciphertext: handed to the session at once */
        *buf = uv_buf_init(up->svc->tls_io.rbuf, (unsigned)up->svc->tls_io.rcap);
        return;
    }
    if (!up->req) {
        *buf = uv_buf_init(up->idle_sink, sizeof(up->idle_sink));
        return;
    }
    if (!up->in)
        up->in = gh_block_get(&up->svc->blocks);
    if (!up->in) {
        *buf = uv_buf_init(NULL, 0);
        return;
    }
    *buf = uv_buf_init(up->in->data + up->in->len, GH_BLOCK_SIZE - up->in->len);
}

static bool retry_on_fresh(gh_upconn *up);

/* The upstream ended its side (or the socket failed) before the response was complete. */
static void up_ended(gh_upconn *up, bool eof)
{
    if (up->ws) {
        gh__ws_upstream_ended(up);
        return;
    }
    if (!up->got_bytes && retry_on_fresh(up))
        return;
    if (eof && up->head_done && up->resp.body == GH_BODY_UNTIL_CLOSE) {
        gh__response_finished(up, false);
        return;
    }
    gh__up_fail(up, GH_R_UPSTREAM_RESET, GH_UP_RESET,
            up->head_done ? "the upstream closed the connection mid-response"
                          : "the upstream closed the connection before responding");
}

/* Response bytes arrived in up->in: parsed and passed on. False when the request ended. */
static bool consume(gh_upconn *up)
{
    up->got_bytes = true;
    if (!up->head_done && !gh__parse_head(up))
        return false;
    if (up->ws)
        return gh__ws_from_upstream(up);
    return !up->head_done || gh__pump_response(up);
}

/* After the bytes of a read were passed on: the rest is awaited. */
static void await_more(gh_upconn *up)
{
    if (up->ws) { /* a session: the idle timer runs instead */
        update_up_reading(up);
        gh__ws_settled(up);
        return;
    }
    /* Still waiting for the rest: the timeout counts from this read. */
    arm_timeout(up, silence_allowed(up));
    if (gh__flush_response_head(up) != 0) {
        gh__up_fail(up, GH_R_CLIENT_CLOSED, GH_UP_SUCCESS, "the client stopped reading");
        return;
    }
    update_up_reading(up);
}

/* Decrypted response bytes through the response while the client keeps up: a socket read may
 * hold more than one block's worth, and no other read event would bring the rest. */
static void tls_pump(gh_upconn *up)
{
    gh_request *req = up->req;
    while (up->req == req && !up->closing && !req->ds->output_full(req)) {
        size_t got;
        int rc = gh__up_tls_fill(up, &got);
        if (got && !consume(up))
            return;
        if (rc != 0) {
            up_ended(up, rc > 0); /* close_notify is the end of the stream */
            return;
        }
        if (!got)
            break;
    }
    if (up->req == req && !up->closing)
        await_more(up);
}

static void tls_input(gh_upconn *up, const char *data, size_t len)
{
    char why[300];
    bool was = up->tls->established;
    int r = gh__up_tls_feed(up, data, len, why, sizeof(why));
    if (r < 0) {
        gh__up_fail(up, GH_R_UPSTREAM_TLS, GH_UP_TLS_FAILED, gh_arena_strndup(&up->req->arena, why, strlen(why)));
        return;
    }
    if (r == 0)
        return; /* the handshake goes on, under the connect timeout */
    if (!was) {
        send_head(up);
        if (!up->req || up->closing)
            return;
    }
    tls_pump(up);
}

void gh__upconn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    gh_upconn *up = s->data;
    if (nread == 0)
        return;
    if (!up->req) {
        /* Idle in the pool: any byte or a close retires it (TLS's own records aside). */
        if (!(nread > 0 && up->tls && gh__up_tls_idle_input(up, buf->base, (size_t)nread)))
            gh__upconn_close(up);
        return;
    }
    if (nread < 0) {
        /* On TLS only close_notify (tls_pump) ends a body that runs to the close: a bare FIN
         * may be anyone on the path cutting it short. */
        up_ended(up, nread == UV_EOF && !up->tls);
        return;
    }
    if (up->tls) {
        tls_input(up, buf->base, (size_t)nread);
        return;
    }
    up->in->len += (uint32_t)nread;
    if (consume(up))
        await_more(up);
}

/* Reads the response while the client keeps up with it. */
static void update_up_reading(gh_upconn *up)
{
    bool want =
        !up->req || (!up->req->ds->output_full(up->req) && !(up->in && up->in->len == GH_BLOCK_SIZE));
    if (want && !up->reading)
        up->reading =
            uv_read_start((uv_stream_t *)&up->tcp, gh__upconn_alloc, gh__upconn_read) == 0;
    else if (!want && up->reading) {
        uv_read_stop((uv_stream_t *)&up->tcp);
        up->reading = false;
    }
}

static void on_up_drain(gh_outq *q, int status)
{
    gh_upconn *up = (gh_upconn *)((char *)q - offsetof(gh_upconn, out));
    if (up->closing || !up->req)
        return;
    if (status < 0) {
        if (up->ws) {
            gh__ws_upstream_ended(up);
            return;
        }
        if (!up->got_bytes && retry_on_fresh(up))
            return;
        gh__up_fail(up, GH_R_UPSTREAM_RESET, GH_UP_RESET, "the upstream reset the connection");
        return;
    }
    if (q->pending < GH_OUTQ_HIGH)
        up->req->ds->body_drained(up->req);
}

static void on_connect(uv_connect_t *cr, int status)
{
    gh_upconn *up = cr->data;
    if (up->closing)
        return;
    if (status < 0) {
        gh__up_fail(up, GH_R_UPSTREAM_CONNECT, GH_UP_CONNECT_FAILED, uv_strerror(status));
        return;
    }
    up->state = GH_UP_ACTIVE;
    uv_tcp_nodelay(&up->tcp, 1);
    if (!up->req->endpoint->tls) {
        send_head(up);
        return;
    }
    char why[300];
    if (gh__up_tls_start(up, why, sizeof(why)) != 0) {
        gh__up_fail(up, GH_R_UPSTREAM_TLS, GH_UP_TLS_FAILED, gh_arena_strndup(&up->req->arena, why, strlen(why)));
        return;
    }
    if (!up->reading) /* the server's flight; the request follows the handshake */
        up->reading = uv_read_start((uv_stream_t *)&up->tcp, gh__upconn_alloc, gh__upconn_read) == 0;
}

static void attach(gh_upconn *up, gh_request *req)
{
    up->req = req;
    req->up = up;
    up->got_bytes = up->head_done = up->chunk_out = false;
    memset(&up->chunked, 0, sizeof(up->chunked));
    gh_outq_init(&up->out, (uv_stream_t *)&up->tcp, &up->svc->blocks, on_up_drain, &up->svc->batch);
    /* Parsed response headers live in the request's arena, like everything of the request. */
    up->hdrs = gh_arena_alloc(&req->arena, GH_UP_MAX_HEADERS * sizeof(gh_h1_header));
}

static bool connect_fresh(gh_request *req, gh_pool *pool)
{
    gh_upconn *up = gh__upconn_new(req->svc, pool);
    if (!up)
        return false;
    attach(up, req);
    if (!up->hdrs ||
        uv_tcp_connect(&up->creq, &up->tcp, (const struct sockaddr *)&req->endpoint->addr.ss,
                       on_connect) != 0) {
        gh__upconn_close(up);
        return false;
    }
    arm_timeout(up, req->upstream->connect_timeout_ms);
    return true;
}

/* A pooled connection that the upstream closed just as it was reused is no fault of the
 * request: send it again on a new connection, once, if nothing of it is lost (no body). True
 * when it went on (or failed there): up is no longer the caller's. */
static bool retry_on_fresh(gh_upconn *up)
{
    gh_request *req = up->req;
    if (!up->reused || up->retried || !gh__replayable(req) || req->resp_started)
        return false;
    gh__retry_now(up, GH_TRY_SAME_ENDPOINT);
    return true;
}

static void send_head(gh_upconn *up)
{
    gh_request *req = up->req;
    size_t len;
    char *head = gh__request_head(req, &len);
    if (!head) {
        gh__up_fail(up, GH_R_INTERNAL, GH_UP_RESET, "the upstream request head did not fit");
        return;
    }
    uv_buf_t iov = uv_buf_init(head, (unsigned)len);
    if (gh__up_write(up, &iov, 1) != 0) {
        if (!retry_on_fresh(up))
            gh__up_fail(up, GH_R_UPSTREAM_RESET, GH_UP_RESET, "the upstream reset the connection");
        return;
    }
    req->up_start_us = gh_now_us();
    req->up_ready = true;
    /* The response timeout runs once the request is sent; while the client streams its body,
     * the connection's body timeout guards it. */
    if (req->body_done)
        arm_timeout(up, silence_allowed(up));
    else
        gh_deadline_clear(&up->timer);
    update_up_reading(up);
    req->ds->want_body(req);
}

/* A try on the next endpoint, picked as of now_us: over a pooled connection, or a new one.
 * False when there is no endpoint to try or no connection could be started (req->reason says
 * which). */
static bool start_try(gh_request *req, uint64_t now_us)
{
    const gh_upstream_conf *u = req->upstream;
    req->endpoint = gh__pick_endpoint(req, now_us);
    if (!req->endpoint) {
        gh_metrics_upstream(&req->svc->metrics, u->name, GH_UP_NO_ENDPOINT);
        req->reason = GH_R_UPSTREAM_UNAVAILABLE;
        req->detail = "no endpoint of the upstream is available";
        return false;
    }
    hold_endpoint(req);
    req->attempts++;
    gh_span_attempt_begin(req);
    req->up_status = 0;
    gh_pool *pool = gh__pool_get(req->svc, req->endpoint->pool_key);
    gh_upconn *up = pool ? gh__pool_take(pool) : NULL;
    if (up) {
        attach(up, req);
        send_head(up);
        return true;
    }
    if (pool && connect_fresh(req, pool))
        return true;
    gh__up_record(req, GH_UP_CONNECT_FAILED);
    return false;
}

static void proxy_start(gh_request *req)
{
    const gh_upstream_conf *u = req->match.route->upstream;
    req->upstream = u;
    if (!gh_upstream_acquire(u->state, u->max_concurrency)) {
        gh_metrics_upstream(&req->svc->metrics, u->name, GH_UP_AT_CAPACITY);
        gh_request_refuse(req, GH_R_UPSTREAM_FULL, "the upstream is at max_concurrency");
        return;
    }
    req->slot_held = true;
    gh_upstream_budget_request(u->state, req->start_us);
    /* The first try is picked as of the request's start, the clock read it already made: older
     * by its stages' waits at most, which can only leave an endpoint that came back during them
     * out of this pick, or give one in slow start a little less of its share. */
    if (!start_try(req, req->start_us))
        fail_untried(req);
}

static int proxy_body(gh_request *req, const char *data, size_t len)
{
    gh_upconn *up = req->up;
    if (!up)
        return -1;
    int r;
    if (req->h1.body == GH_BODY_CHUNKED) {
        char size[24];
        int sl = snprintf(size, sizeof(size), "%zx\r\n", len);
        uv_buf_t b[3] = {uv_buf_init(size, (unsigned)sl), uv_buf_init((char *)data, (unsigned)len),
                         uv_buf_init((char *)"\r\n", 2)};
        r = gh__up_write(up, b, 3);
    } else {
        uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
        r = gh__up_write(up, &b, 1);
    }
    if (r != 0)
        gh__up_fail(up, GH_R_UPSTREAM_RESET, GH_UP_RESET, "the upstream reset the connection");
    return r;
}

static int proxy_body_end(gh_request *req)
{
    gh_upconn *up = req->up;
    if (!up)
        return 0; /* the response already finished */
    if (!up->head_done)
        arm_timeout(up, silence_allowed(up));
    if (req->h1.body != GH_BODY_CHUNKED)
        return 0;
    static const char last[] = "0\r\n\r\n";
    uv_buf_t b = uv_buf_init((char *)last, sizeof(last) - 1);
    int r = gh__up_write(up, &b, 1);
    if (r != 0)
        gh__up_fail(up, GH_R_UPSTREAM_RESET, GH_UP_RESET, "the upstream reset the connection");
    return r;
}

/* Until the head is sent the body waits; then while enough of it is queued. */
static bool proxy_body_full(const gh_request *req)
{
    return !req->up_ready || !req->up || req->up->out.pending >= GH_OUTQ_HIGH;
}

static void proxy_abort(gh_request *req)
{
    if (req->ws.open && !req->ws.close_code) { /* the client went without a close frame */
        req->ws.close_code = GH_WS_ABNORMAL;
        req->ws.closed_by = "client";
    }
    if (req->up)
        gh__up_detach(req->up, false);
    release_slot(req);
}

static void proxy_client_drained(gh_request *req)
{
    if (req->up && req->up->tls && req->up->tls->established)
        tls_pump(req->up); /* what TLS decrypted ahead of the client */
    else if (req->up && req->up->head_done)
        update_up_reading(req->up);
}

const gh_action_ops gh_proxy_action = {
    .start = proxy_start,
    .body = proxy_body,
    .body_end = proxy_body_end,
    .body_full = proxy_body_full,
    .client_drained = proxy_client_drained,
    .tunnel_in = gh__ws_tunnel_in,
    .going_away = gh__ws_going_away,
    .abort = proxy_abort,
};
