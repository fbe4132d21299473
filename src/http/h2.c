#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "http/conn.h"
#include "wire/h1.h"
#include "http/h2.h"
#include "http/h2_stream.h"
#include "observe/events.h"

/* The bounds a client cannot talk its way past (the configurable ones are in http2:). */
#define GH_H2_MAX_CONTINUATIONS 16
#define GH_H2_RESET_WINDOW_US 10000000 /* rapid reset: judged over ten seconds */
#define GH_H2_RESET_MAX 200            /* resets in that window beyond which it may be a flood */
#define GH_H2_RESET_CEILING 1000       /* resets in that window that are a flood whatever else came */

struct gh_h2 {
    nghttp2_session *ng;
    gh_conn *conn;
    gh_list streams; /* gh_h2_stream.link */
    size_t nstreams;
    uint64_t reset_window_us;
    uint32_t resets, completed; /* in the current window */
    uint64_t progress; /* streams begun and DATA frames sent: what a client's frames moved */
    bool failed, in_send, in_recv;
    bool terminated; /* GOAWAY with an error is queued: no new stream starts */
    bool queued;            /* in the worker's list of sessions to send at the iteration's end */
    gh_link queued_link;
    /* streams (gh_h2_stream.link) closed in the session (either side reset them, the response
     * went out, the connection is ending): their requests end at the next safe point, never from
     * inside a response being written */
    gh_list doomed;
};

/* Ends the closed streams' requests and frees them (from top-level events only). */
static void close_doomed(gh_h2 *h2)
{
    for (gh_link *l; (l = gh_list_pop(&h2->doomed));)
        gh_h2_stream_end(GH_CONTAINER(l, gh_h2_stream, link));
}

static gh_h2_stream *stream_of(gh_h2 *h2, int32_t id)
{
    return nghttp2_session_get_stream_user_data(h2->ng, id);
}

/* Streams whose buffered response fell low: their actions may produce more. The next stream
 * is taken first: a drained action may end its request, not its stream. */
static void wake_streams(gh_h2 *h2)
{
    for (gh_h2_stream *st = GH_LIST_FIRST(&h2->streams, gh_h2_stream, link), *next; st; st = next) {
        next = GH_LIST_NEXT(st, gh_h2_stream, link);
        if (!st->wake)
            continue;
        st->wake = false;
        gh_h2_stream_drained(st);
    }
}

/* Frames gathered into one write (one TLS record run, one syscall) per session per send. */
#define GH_H2_GATHER 16384

/* Sends what the session has, now: frames gathered and written while the connection keeps up. */
static void send_now(gh_h2 *h2)
{
    /* nghttp2 must not be asked to send from inside its own callbacks: the caller that left
     * them sends. */
    if (h2->in_send || h2->in_recv || h2->failed)
        return;
    h2->in_send = true;
    char gather[GH_H2_GATHER];
    size_t gathered = 0;
    for (;;) {
        const uint8_t *data = NULL;
        ssize_t n = gh_conn_output_full_raw(h2->conn) ? 0 : nghttp2_session_mem_send(h2->ng, &data);
        if (n < 0) {
            h2->failed = true;
            break;
        }
        if (gathered && (n == 0 || gathered + (size_t)n > sizeof(gather))) {
            uv_buf_t b = uv_buf_init(gather, (unsigned)gathered);
            gathered = 0;
            if (gh_conn_write_raw(h2->conn, &b, 1) != 0) {
                h2->failed = true;
                break;
            }
        }
        if (n == 0)
            break;
        if ((size_t)n > sizeof(gather)) {
            uv_buf_t b = uv_buf_init((char *)data, (unsigned)n);
            if (gh_conn_write_raw(h2->conn, &b, 1) != 0) {
                h2->failed = true;
                break;
            }
            continue;
        }
        memcpy(gather + gathered, data, (size_t)n);
        gathered += (size_t)n;
    }
    h2->in_send = false;
    wake_streams(h2);
}

/* The worker sends every session that has frames once, at the end of the loop iteration:
 * responses of the streams that completed in one iteration leave in one write. */
static void send_queued(gh_services *svc)
{
    for (int round = 0; round < 8 && !gh_list_empty(&svc->conns->h2_queued); round++) {
        gh_list list = svc->conns->h2_queued;
        svc->conns->h2_queued = (gh_list){0};
        for (gh_link *l; (l = gh_list_pop(&list));) {
            gh_h2 *h2 = GH_CONTAINER(l, gh_h2, queued_link);
            h2->queued = false;
            send_now(h2);
            close_doomed(h2);
            /* A GOAWAY that ends the session has just gone out, or the socket failed. */
            bool over = h2->failed || !(nghttp2_session_want_read(h2->ng) || nghttp2_session_want_write(h2->ng));
            gh_conn_h2_settle(h2->conn, over);
        }
    }
    if (gh_list_empty(&svc->conns->h2_queued)) {
        uv_check_stop(&svc->conns->h2_check);
        uv_prepare_stop(&svc->conns->h2_prepare);
    }
}

static void on_h2_check(uv_check_t *h)
{
    send_queued(h->data);
}

static void on_h2_prepare(uv_prepare_t *h)
{
    send_queued(h->data);
}

void gh_h2_worker_init(gh_services *svc)
{
    uv_check_init(svc->loop, &svc->conns->h2_check);
    uv_prepare_init(svc->loop, &svc->conns->h2_prepare);
    svc->conns->h2_check.data = svc->conns->h2_prepare.data = svc;
}

void gh_h2_worker_close(gh_services *svc, uv_close_cb last)
{
    uv_close((uv_handle_t *)&svc->conns->h2_check, NULL);
    uv_close((uv_handle_t *)&svc->conns->h2_prepare, last);
}

/* Frames are waiting: they go at the end of this iteration. */
static void flush(gh_h2 *h2)
{
    if (h2->queued || h2->failed)
        return;
    gh_services *svc = h2->conn->svc;
    h2->queued = true;
    if (gh_list_empty(&svc->conns->h2_queued)) {
        uv_check_start(&svc->conns->h2_check, on_h2_check);
        uv_prepare_start(&svc->conns->h2_prepare, on_h2_prepare);
    }
    gh_list_push(&svc->conns->h2_queued, &h2->queued_link);
}

static void unqueue(gh_h2 *h2)
{
    gh_list_unlink(&h2->conn->svc->conns->h2_queued, &h2->queued_link);
}

static void unlink_stream(gh_h2 *h2, gh_h2_stream *st)
{
    gh_list_unlink(&h2->streams, &st->link);
    h2->nstreams--;
}

static int on_begin_headers(nghttp2_session *ng, const nghttp2_frame *f, void *user)
{
    gh_h2 *h2 = user;
    if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    if (h2->terminated) /* the rest of a flood's input is not read: nghttp2 stops here */
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    h2->progress++;
    gh_h2_stream *st = gh_h2_stream_new(h2->conn, h2, f->hd.stream_id);
    if (!st)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    gh_list_push(&h2->streams, &st->link);
    h2->nstreams++;
    nghttp2_session_set_stream_user_data(ng, f->hd.stream_id, st);
    return 0;
}

static int on_header(nghttp2_session *ng, const nghttp2_frame *f, nghttp2_rcbuf *name,
                     nghttp2_rcbuf *value, uint8_t flags, void *user)
{
    (void)ng, (void)flags;
    gh_h2_stream *st = stream_of(user, f->hd.stream_id);
    if (!st || st->started)
        return 0; /* trailers are dropped: nothing upstream reads them */
    gh_h2_stream_header(st, name, value);
    return 0;
}

/* A field nghttp2 would drop without a word (a character HTTP/2 does not allow in its name,
 * upper case aside, which resets the stream; in its value; whitespace around its value): kept,
 * so that the head is refused as the same field in an HTTP/1.1 head is (400 bad-header-name or
 * bad-header-value, logged), and whitespace around a value, which an HTTP/1.1 head may have,
 * is refused on its own (RFC 9113 8.2.1). */
static int on_invalid_header(nghttp2_session *ng, const nghttp2_frame *f, nghttp2_rcbuf *name,
                             nghttp2_rcbuf *value, uint8_t flags, void *user)
{
    gh_h2_stream *st = stream_of(user, f->hd.stream_id);
    nghttp2_vec v = nghttp2_rcbuf_get_buf(value);
    if (st && v.len && (v.base[0] == ' ' || v.base[0] == '\t' || v.base[v.len - 1] == ' ' ||
                        v.base[v.len - 1] == '\t'))
        st->spaced_value = true;
    return on_header(ng, f, name, value, flags, user);
}

/* The connection error: GOAWAY with the code, then (once it is sent, RFC 9113 5.4.1) the
 * connection closes; nghttp2 reads nothing more of it. */
static void terminate(gh_h2 *h2, uint32_t code)
{
    h2->terminated = true;
    nghttp2_session_terminate_session2(h2->ng, nghttp2_session_get_last_proc_stream_id(h2->ng), code);
    flush(h2);
}

/* Every stream that ends without its response is a reset, whichever side sent RST_STREAM and
 * with whatever code: a client that cancels streams (rapid reset, CVE-2023-44487) or makes the
 * gateway reset them (MadeYouReset, CVE-2025-8671) more often than it lets them finish is cut
 * off past GH_H2_RESET_MAX, and any client past GH_H2_RESET_CEILING: cheap answers (a 404, a
 * static route) must not buy resets of streams whose upstream work costs far more. */
static void count_end(gh_h2 *h2, bool completed, bool by_peer)
{
    uint64_t now = gh_now_us();
    if (now - h2->reset_window_us > GH_H2_RESET_WINDOW_US) {
        h2->reset_window_us = now;
        h2->resets = h2->completed = 0;
    }
    if (completed) {
        h2->completed++;
        return;
    }
    h2->resets++;
    if (h2->terminated || h2->resets <= GH_H2_RESET_MAX ||
        (h2->resets <= h2->completed && h2->resets <= GH_H2_RESET_CEILING))
        return;
    terminate(h2, NGHTTP2_ENHANCE_YOUR_CALM);
    gh_h2_report(h2->conn, by_peer ? "rapid_reset" : "made_you_reset");
}

/* The one end of a stream, for every cause (either side's RST_STREAM, its response done, the
 * connection ending): its request, whatever it still waits for (an upstream, a key set, a Redis
 * answer), ends at the next safe point, which ends that work. Nothing of the stream is left to
 * outlive the connection. */
static void stream_end(gh_h2 *h2, gh_h2_stream *st)
{
    unlink_stream(h2, st);
    gh_h2_stream_closed(st);
    gh_list_push(&h2->doomed, &st->link);
    flush(h2); /* the end of the iteration ends it, if nothing sooner does */
}

static int on_frame_recv(nghttp2_session *ng, const nghttp2_frame *f, void *user)
{
    (void)ng;
    gh_h2 *h2 = user;
    gh_h2_stream *st = stream_of(h2, f->hd.stream_id);
    if (!st)
        return 0;
    if (f->hd.type == NGHTTP2_RST_STREAM) {
        st->peer_reset = true; /* counted when the stream closes, just after this */
        return 0;
    }
    bool end = f->hd.flags & NGHTTP2_FLAG_END_STREAM;
    if (f->hd.type == NGHTTP2_HEADERS && !st->started)
        return gh_h2_stream_begin(st, end) == 0 ? 0 : NGHTTP2_ERR_CALLBACK_FAILURE;
    if ((f->hd.type == NGHTTP2_DATA || f->hd.type == NGHTTP2_HEADERS) && end)
        gh_h2_stream_request_end(st);
    return 0;
}

/* A response sent whole while the client still sends its request: RST_STREAM NO_ERROR ends the
 * stream (RFC 9113 8.1), so it does not wait on the client with nothing left to do. Streams
 * nghttp2 resets without ever starting them (over the concurrency limit, say) count as resets. */
static int on_frame_send(nghttp2_session *ng, const nghttp2_frame *f, void *user)
{
    gh_h2 *h2 = user;
    gh_h2_stream *st = stream_of(h2, f->hd.stream_id);
    if (f->hd.type == NGHTTP2_DATA)
        h2->progress++;
    if (f->hd.type == NGHTTP2_RST_STREAM && !st && f->hd.stream_id)
        count_end(h2, false, false);
    if (st && (f->hd.type == NGHTTP2_DATA || f->hd.type == NGHTTP2_HEADERS) &&
        (f->hd.flags & NGHTTP2_FLAG_END_STREAM) && !nghttp2_session_get_stream_remote_close(ng, f->hd.stream_id))
        nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, f->hd.stream_id, NGHTTP2_NO_ERROR);
    return 0;
}

static int on_data(nghttp2_session *ng, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
                   void *user)
{
    (void)ng, (void)flags;
    gh_h2_stream *st = stream_of(user, id);
    if (st)
        gh_h2_stream_body(st, (const char *)data, len);
    else
        nghttp2_session_consume(ng, id, len); /* a stream gone: its window stays open */
    return 0;
}

static int on_stream_close(nghttp2_session *ng, int32_t id, uint32_t error, void *user)
{
    gh_h2 *h2 = user;
    gh_h2_stream *st = stream_of(h2, id);
    if (!st)
        return 0;
    nghttp2_session_set_stream_user_data(ng, id, NULL);
    bool by_peer = st->peer_reset;
    stream_end(h2, st);
    count_end(h2, error == NGHTTP2_NO_ERROR && !by_peer, by_peer);
    return 0;
}

static ssize_t read_body(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                         nghttp2_data_source *src, void *user)
{
    (void)ng, (void)id, (void)user;
    return gh_h2_stream_read_response(src->ptr, (char *)buf, len, flags);
}

int gh_h2_submit_response(gh_h2_stream *st, const nghttp2_nv *nv, size_t n, bool body)
{
    nghttp2_data_provider prd = {.source.ptr = st, .read_callback = read_body};
    int r = nghttp2_submit_response(st->h2->ng, st->id, nv, n, body ? &prd : NULL);
    flush(st->h2);
    return r == 0 ? 0 : -1;
}

void gh_h2_resume(gh_h2_stream *st)
{
    nghttp2_session_resume_data(st->h2->ng, st->id);
    flush(st->h2);
}

void gh_h2_reset(gh_h2_stream *st)
{
    nghttp2_submit_rst_stream(st->h2->ng, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
    flush(st->h2);
}

void gh_h2_consume(gh_h2_stream *st, size_t n)
{
    nghttp2_session_consume(st->h2->ng, st->id, n);
    flush(st->h2);
}

void gh_h2_consume_connection(gh_h2 *h2, size_t n)
{
    nghttp2_session_consume_connection(h2->ng, n);
    flush(h2);
}

void gh_h2_flush(gh_h2 *h2)
{
    flush(h2);
}

int gh_h2_start(gh_conn *c)
{
    gh_h2 *h2 = calloc(1, sizeof(*h2));
    nghttp2_session_callbacks *cbs = NULL;
    nghttp2_option *opt = NULL;
    if (!h2 || nghttp2_session_callbacks_new(&cbs) != 0 || nghttp2_option_new(&opt) != 0) {
        free(h2);
        nghttp2_session_callbacks_del(cbs);
        return -1;
    }
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback2(cbs, on_header);
    nghttp2_session_callbacks_set_on_invalid_header_callback2(cbs, on_invalid_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
    nghttp2_session_callbacks_set_on_frame_send_callback(cbs, on_frame_send);
    /* Windows open as request bodies are consumed, not as they arrive: memory stays bounded. */
    nghttp2_option_set_no_auto_window_update(opt, 1);
    nghttp2_option_set_max_continuations(opt, GH_H2_MAX_CONTINUATIONS);
    nghttp2_option_set_max_outbound_ack(opt, 1000);
    nghttp2_option_set_max_settings(opt, 32);
    int r = nghttp2_session_server_new2(&h2->ng, cbs, h2, opt);
    nghttp2_session_callbacks_del(cbs);
    nghttp2_option_del(opt);
    if (r != 0) {
        free(h2);
        return -1;
    }
    h2->conn = c;
    h2->reset_window_us = gh_now_us();
    const gh_http2_conf *hc = &c->svc->snapshots.config->http2;
    uint32_t max_list = hc->max_header_list ? hc->max_header_list : (uint32_t)c->svc->snapshots.config->limits.max_head_bytes;
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, hc->max_streams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, hc->window},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, max_list},
        {NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, hc->table_size},
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
    };
    nghttp2_submit_settings(h2->ng, NGHTTP2_FLAG_NONE, iv, sizeof(iv) / sizeof(iv[0]));
    c->h2 = h2;
    return 0;
}

bool gh_h2_input(gh_conn *c)
{
    gh_h2 *h2 = c->h2;
    /* One read may start many streams: their upstream requests (and what answers them) are
     * held to the end of the iteration, so each peer is woken once, not once per stream. */
    gh_outq_batch_heavy(&c->svc->batch);
    gh_block *in = c->in;
    if (in && in->off < in->len) {
        h2->in_recv = true;
        ssize_t n = nghttp2_session_mem_recv(h2->ng, (const uint8_t *)in->data + in->off, in->len - in->off);
        h2->in_recv = false;
        if (n < 0) {
            /* A protocol error or a flood (a stream begun after terminate() was reported
             * there): GOAWAY with the reason, which nghttp2 queues only for some of them. */
            bool flood = n == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS || n == NGHTTP2_ERR_FLOODED;
            if (!h2->terminated)
                gh_h2_report(c, n == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS ? "continuation_flood"
                                : n == NGHTTP2_ERR_FLOODED           ? "flood"
                                                                     : "protocol_error");
            terminate(h2, flood ? NGHTTP2_ENHANCE_YOUR_CALM : NGHTTP2_PROTOCOL_ERROR);
            in->off = in->len;
            send_now(h2); /* the GOAWAY, before the connection closes */
            close_doomed(h2);
            return false;
        }
        in->off += (uint32_t)n;
    }
    flush(h2);
    close_doomed(h2);
    if (!(nghttp2_session_want_read(h2->ng) || nghttp2_session_want_write(h2->ng)))
        send_now(h2); /* the last frames, before the connection closes */
    return !h2->failed && (nghttp2_session_want_read(h2->ng) || nghttp2_session_want_write(h2->ng));
}

void gh_h2_output_drained(gh_conn *c)
{
    if (c->h2) {
        flush(c->h2);
        close_doomed(c->h2);
    }
}

void gh_h2_drain(gh_conn *c)
{
    gh_h2 *h2 = c->h2;
    nghttp2_submit_goaway(h2->ng, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(h2->ng),
                          NGHTTP2_NO_ERROR, NULL, 0);
    send_now(h2);
}

void gh_h2_report(gh_conn *c, const char *why)
{
    gh_metrics_refusal(&c->svc->metrics, strcmp(why, "protocol_error") == 0 ? GH_R_H2_PROTOCOL : GH_R_H2_FLOOD);
    int64_t now = (int64_t)time(NULL);
    if (c->svc->conns->h2_event_at == now)
        return;
    c->svc->conns->h2_event_at = now;
    char fields[96];
    snprintf(fields, sizeof(fields), ",\"reason\":\"%s\"", why);
    gh_event("warn", "http2_connection_closed", "an HTTP/2 client broke the protocol or flooded: GOAWAY "
             "(at most one event a second)", fields);
}

uint64_t gh_h2_progress(const gh_conn *c)
{
    return c->h2->progress;
}

bool gh_h2_idle(const gh_conn *c)
{
    return !c->h2->nstreams && !nghttp2_session_want_write(c->h2->ng);
}

gh_h2_wait gh_h2_waits_on(const gh_conn *c)
{
    /* Without streams the connection is idle, whatever control frames (a PING's or a
     * SETTINGS' ACK) wait to go: answering them must not restart the idle timeout. */
    if (!c->h2->nstreams)
        return GH_H2_IDLE;
    bool working = false;
    for (const gh_h2_stream *st = GH_LIST_FIRST(&c->h2->streams, gh_h2_stream, link); st;
         st = GH_LIST_NEXT(st, gh_h2_stream, link)) {
        if (!st->started)
            return GH_H2_HEAD; /* a header block is arriving: nothing else may come between */
        working |= st->req != NULL;
    }
    return working ? GH_H2_WORKING : GH_H2_CLIENT;
}

void gh_h2_end(gh_conn *c)
{
    gh_h2 *h2 = c->h2;
    if (!h2)
        return;
    c->h2 = NULL;
    while (!gh_list_empty(&h2->streams))
        stream_end(h2, GH_CONTAINER(h2->streams.first, gh_h2_stream, link));
    close_doomed(h2);
    if (h2->queued)
        unqueue(h2);
    nghttp2_session_del(h2->ng);
    free(h2);
}
