/* An HTTP/2 stream as a downstream: the request's body from DATA, its response as HEADERS and
 * DATA, its timers, and its one end. */
#include <stdlib.h>
#include <string.h>

#include "core/outq.h"
#include "gate/body.h"
#include "gate/pipeline.h"
#include "http/conn.h"
#include "http/h2_stream.h"

#define GH_H2_RESPONSE_HEADERS 300 /* an upstream's 128 and every field the gateway may add */
#define GH_H2_REQ_BUFFER_LOW (32u * 1024u) /* below this, taken body bytes reopen the windows */

enum { ST_NONE, ST_BODY, ST_SEND };

static void on_timer(uv_timer_t *t);

gh_h2_stream *gh_h2_stream_new(gh_conn *c, gh_h2 *h2, int32_t id)
{
    gh_h2_stream *st = calloc(1, sizeof(*st));
    if (!st)
        return NULL;
    st->conn = c;
    st->h2 = h2;
    st->id = id;
    gh_deadline_init(c->svc->loop, &st->timer, on_timer, st);
    return st;
}

static void set_timer(gh_h2_stream *st, int kind, uint64_t ms)
{
    st->timer_kind = (uint8_t)kind;
    gh_deadline_set(&st->timer, ms);
}

static void stop_timer(gh_h2_stream *st)
{
    st->timer_kind = ST_NONE;
    gh_deadline_clear(&st->timer);
}

/* The one timer follows what the request waits for. A response that fills the stream's buffer
 * comes first: from the moment it did, the client has limits.body_timeout to take it, whatever
 * the body does meanwhile (its end included). Otherwise the body's pace, while it is read. */
static void follow(gh_h2_stream *st)
{
    gh_request *req = st->req;
    if (req && gh_bytes_pending(&st->out) >= GH_OUTQ_HIGH) {
        if (st->timer_kind != ST_SEND)
            set_timer(st, ST_SEND, req->config->limits.body_timeout_ms);
    } else if (req && st->reading_body) {
        set_timer(st, ST_BODY, gh_body_timer_ms(req));
    } else {
        stop_timer(st);
    }
}

/* Resets the stream, unless it is closed already. */
static void reset(gh_h2_stream *st)
{
    if (st->h2)
        gh_h2_reset(st);
}

/* Logs, counts and frees the request; DATA it did not take opens the connection's window (the
 * stream's stays as it is: nothing reads it any more). */
static void request_end(gh_h2_stream *st)
{
    gh_request *req = st->req;
    if (!req)
        return;
    st->req = NULL;
    st->reading_body = false;
    stop_timer(st);
    gh_request_end(req);
    if (st->h2 && st->owed)
        gh_h2_consume_connection(st->h2, st->owed);
    st->owed = 0;
    gh_bytes_free(&st->in);
    if (st->h2)
        gh_h2_flush(st->h2); /* the connection now waits on the client, not on this stream */
}

void gh_h2_stream_closed(gh_h2_stream *st)
{
    if (st->h2 && st->owed)
        gh_h2_consume_connection(st->h2, st->owed);
    st->owed = 0;
    st->h2 = NULL;
}

static void free_stream(uv_handle_t *h)
{
    gh_h2_stream *st = h->data;
    gh_bytes_free(&st->text);
    gh_bytes_free(&st->fields);
    gh_bytes_free(&st->cookies);
    gh_bytes_free(&st->in);
    gh_bytes_free(&st->out);
    free(st);
}

void gh_h2_stream_end(gh_h2_stream *st)
{
    request_end(st);
    uv_close((uv_handle_t *)&st->timer.timer, free_stream);
}

/* Taken body bytes leave the stream's buffer; once little is left, the windows open by what
 * came since they last did. */
static void taken(gh_h2_stream *st, size_t n)
{
    st->in.off += n;
    if (st->owed && st->h2 && gh_bytes_pending(&st->in) < GH_H2_REQ_BUFFER_LOW) {
        size_t owed = st->owed; /* the client may send as much again */
        st->owed = 0;
        gh_h2_consume(st, owed);
    }
}

void gh_h2_stream_pump(gh_h2_stream *st)
{
    if (st->pumping)
        return; /* the pump below goes round again */
    st->pumping = true;
    while (st->req && st->reading_body) {
        gh_request *req = st->req;
        size_t used, avail = gh_bytes_pending(&st->in);
        if (!avail && !st->ended_in)
            break;
        const char *p = avail ? st->in.p + st->in.off : ""; /* an empty buffer may have none */
        gh_body_step step = gh_body_feed(req, p, avail, &used, st->ended_in);
        if (st->req == req)
            taken(st, used);
        if (step == GH_BODY_WANTS && st->req == req)
            follow(st);
        if (step == GH_BODY_WHOLE) {
            st->reading_body = false;
            follow(st);
            gh_body_finish(req);
        }
        if (step != GH_BODY_AGAIN)
            break;
    }
    st->pumping = false;
}

void gh_h2_stream_body(gh_h2_stream *st, const char *data, size_t len)
{
    if (!st->req) { /* answered already: nothing takes it */
        gh_h2_consume_connection(st->h2, len);
        return;
    }
    st->owed += len;
    /* Bounded by the stream's window, which opens only as the request takes the bytes. */
    if (gh_bytes_add(&st->in, data, len, (size_t)-1) != 0) {
        gh_request_fail(st->req, GH_R_INTERNAL, "out of memory for the request body");
        return;
    }
    gh_h2_stream_pump(st);
}

void gh_h2_stream_request_end(gh_h2_stream *st)
{
    st->ended_in = true;
    gh_h2_stream_pump(st);
}

/* The response head: its fields (but HTTP/1.1's connection-specific ones) become the stream's
 * HEADERS, names lower-cased into scratch (nghttp2 copies them). X-Request-Id is new on every
 * response: kept out of the HPACK table, where it would only push out fields that repeat. */
static int submit_head(gh_h2_stream *st, int status_code, const gh_h1_header *fields, size_t nfields,
                       int body_kind, uint64_t length)
{
    nghttp2_nv nv[GH_H2_RESPONSE_HEADERS + 1];
    char status[3] = {(char)('0' + status_code / 100 % 10), (char)('0' + status_code / 10 % 10),
                      (char)('0' + status_code % 10)};
    char small[2048];
    size_t names_len = 0;
    for (size_t i = 0; i < nfields; i++)
        names_len += fields[i].name_len;
    char *names = names_len <= sizeof(small) ? small : malloc(names_len);
    if (!names)
        return -1;
    size_t n = 0, used = 0;
    nv[n++] = (nghttp2_nv){(uint8_t *)":status", (uint8_t *)status, 7, 3, NGHTTP2_NV_FLAG_NONE};
    for (size_t i = 0; i < nfields && n <= GH_H2_RESPONSE_HEADERS; i++) {
        const gh_h1_header *h = &fields[i];
        if (gh_h1_is_hop_by_hop(h))
            continue;
        char *lower = names + used;
        for (size_t k = 0; k < h->name_len; k++)
            lower[k] = (char)(h->name[k] >= 'A' && h->name[k] <= 'Z' ? h->name[k] + 32 : h->name[k]);
        used += h->name_len;
        uint8_t flags = GH_H1_NAME_IS(h, "x-request-id") ? NGHTTP2_NV_FLAG_NO_INDEX : NGHTTP2_NV_FLAG_NONE;
        nv[n++] = (nghttp2_nv){(uint8_t *)lower, (uint8_t *)h->value, h->name_len, h->value_len, flags};
    }
    st->submitted = true;
    st->body = body_kind;
    st->left = length;
    if (st->is_head)
        st->body = GH_BODY_NONE;
    bool body = st->body != GH_BODY_NONE && !(st->body == GH_BODY_LENGTH && length == 0);
    st->out_eof = !body;
    int r = gh_h2_submit_response(st, nv, n, body);
    if (names != small)
        free(names);
    return r;
}

/* nghttp2 waits for body bytes: they (or the end) are there now. */
static void resume_output(gh_h2_stream *st)
{
    if (st->out_deferred && st->h2 && (gh_bytes_pending(&st->out) || st->out_eof)) {
        st->out_deferred = false;
        gh_h2_resume(st);
    }
}

ssize_t gh_h2_stream_read_response(gh_h2_stream *st, char *buf, size_t len, uint32_t *flags)
{
    size_t n = gh_bytes_pending(&st->out);
    if (!n && !st->out_eof) {
        st->out_deferred = true;
        return NGHTTP2_ERR_DEFERRED;
    }
    if (n > len)
        n = len;
    if (n) { /* an empty buffer may have no memory at all */
        memcpy(buf, st->out.p + st->out.off, n);
        st->out.off += n;
    }
    if (st->out_eof && !gh_bytes_pending(&st->out))
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (st->req && gh_bytes_pending(&st->out) < GH_OUTQ_HIGH)
        st->wake = true; /* the action may produce more (after this send) */
    return (ssize_t)n;
}

void gh_h2_stream_drained(gh_h2_stream *st)
{
    gh_request *req = st->req;
    if (!req || gh_bytes_pending(&st->out) >= GH_OUTQ_HIGH)
        return;
    if (st->timer_kind == ST_SEND)
        follow(st); /* the body's pace again, if it is still read */
    if (req->action)
        req->action->client_drained(req);
}

static void on_timer(uv_timer_t *t)
{
    gh_h2_stream *st = t->data;
    if (!gh_deadline_due(&st->timer))
        return;
    int kind = st->timer_kind;
    st->timer_kind = ST_NONE;
    if (kind == ST_BODY && st->req) {
        if (gh_body_timer_fired(st->req)) /* else refused for its pace: it ended */
            follow(st);
        return;
    }
    if (kind == ST_SEND) { /* the client does not take the response: it cannot be finished */
        request_end(st);
        reset(st);
    }
}

/* Downstream ops. */

static gh_h2_stream *stream_of(const gh_request *req)
{
    return req->downstream;
}

static bool ds_takes_fields(const gh_request *req)
{
    (void)req;
    return true;
}

static int ds_send_fields(gh_request *req, int status, const gh_h1_header *fields, size_t n,
                          int body, uint64_t length)
{
    gh_h2_stream *st = stream_of(req);
    req->resp_started = true;
    if (!st->h2 || st->submitted || submit_head(st, status, fields, n, body, length) != 0)
        return UV_EPIPE;
    return 0;
}

/* Body bytes of the response, unframed, for the client's window. */
static int ds_send(gh_request *req, const uv_buf_t *bufs, unsigned n)
{
    gh_h2_stream *st = stream_of(req);
    if (!st->h2 || !st->submitted)
        return UV_EPIPE;
    for (unsigned i = 0; i < n && !st->out_eof; i++) {
        size_t len = bufs[i].len;
        if (st->body == GH_BODY_LENGTH) {
            len = len < st->left ? len : (size_t)st->left;
            st->left -= len;
            st->out_eof = st->left == 0;
        }
        if (len && gh_bytes_add(&st->out, bufs[i].base, len, (size_t)-1) != 0)
            return UV_ENOMEM;
        req->bytes_out += len;
    }
    resume_output(st);
    if (gh_bytes_pending(&st->out) >= GH_OUTQ_HIGH)
        follow(st);
    return 0;
}

static bool ds_output_full(const gh_request *req)
{
    return gh_bytes_pending(&stream_of(req)->out) >= GH_OUTQ_HIGH;
}

/* The response is whole: a body that ends with its connection in HTTP/1.1 ends with the
 * stream. A response never begun, or cut short, resets the stream. */
static void ds_finish(gh_request *req)
{
    gh_h2_stream *st = stream_of(req);
    req->resp_done = true;
    request_end(st);
    if (st->submitted && !st->out_eof && st->body == GH_BODY_UNTIL_CLOSE)
        st->out_eof = true;
    if (!st->submitted || !st->out_eof) {
        reset(st);
        return;
    }
    resume_output(st);
}

static void ds_cut(gh_request *req)
{
    gh_h2_stream *st = stream_of(req);
    request_end(st);
    reset(st);
}

static void ds_read_body(gh_request *req)
{
    gh_h2_stream *st = stream_of(req);
    st->reading_body = true;
    gh_body_pace_start(req);
    follow(st);
}

static void ds_collect_body(gh_request *req, uint64_t max, void (*then)(gh_request *req))
{
    req->on_body = then;
    req->collect_body = true;
    req->collect_max = max;
    ds_read_body(req);
}

static void ds_resume_input(void *downstream)
{
    gh_h2_stream_pump(downstream);
}

static void ds_body_drained(gh_request *req)
{
    gh_h2_stream_pump(stream_of(req));
}

static void ds_want_body(gh_request *req)
{
    gh_h2_stream *st = stream_of(req);
    if (gh_body_replay(req))
        gh_h2_stream_pump(st);
}

/* A stream carries no tunnel: WebSocket over HTTP/2 (RFC 8441's extended CONNECT) is not
 * offered (no SETTINGS_ENABLE_CONNECT_PROTOCOL), and the handshake is refused before this. */
static int ds_tunnel(gh_request *req)
{
    (void)req;
    return -1;
}

static const struct gh_client_cert *ds_client_cert(const gh_request *req)
{
    return gh_conn_client_cert(stream_of(req)->conn);
}

const gh_downstream_ops gh_h2_downstream = {
    .takes_fields = ds_takes_fields,
    .send_fields = ds_send_fields,
    .send = ds_send,
    .output_full = ds_output_full,
    .finish = ds_finish,
    .cut = ds_cut,
    .read_body = ds_read_body,
    .collect_body = ds_collect_body,
    .resume_input = ds_resume_input,
    .body_drained = ds_body_drained,
    .want_body = ds_want_body,
    .tunnel = ds_tunnel,
    .client_cert = ds_client_cert,
};
