/* One HTTP/2 request on a connection of its own, for the cases that attack the gateway's
 * HTTP/2 to HTTP/1.1 downgrade: fields are sent exactly as the case gives them (uppercase
 * names, CR LF in values, connection-specific fields), which nghttp2 lets a client do when
 * its HTTP messaging checks are off. Blocking reads under the exchange's deadline, as in
 * client.c; at most one stream, so the loop ends on that stream's end, its reset, GOAWAY, the
 * close or the deadline. */
#include <nghttp2/nghttp2.h>
#include <stdlib.h>
#include <string.h>

#include "probe/framing.h"

#define H2_READ 16384
#define H2_HEAD_MAX 4096 /* bytes of the response's fields kept as evidence */

typedef struct h2_state {
    gh_probe *p;
    gh_probe_conn *c;
    double deadline;
    bool write_failed, done;
    int32_t stream;
    const gh_probe_h2_request *req;
    size_t data_off;
    gh_probe_h2_answer *a;
    char head[H2_HEAD_MAX];
    size_t head_len;
} h2_state;

static ssize_t on_send(nghttp2_session *s, const uint8_t *data, size_t len, int flags, void *u)
{
    (void)s, (void)flags;
    h2_state *st = u;
    if (gh_probe_conn_write(st->c, (const char *)data, len, st->deadline) != 0) {
        st->write_failed = true;
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    return (ssize_t)len;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nlen,
                     const uint8_t *value, size_t vlen, uint8_t flags, void *u)
{
    (void)s, (void)flags;
    h2_state *st = u;
    if (f->hd.stream_id != st->stream)
        return 0;
    if (nlen == 7 && memcmp(name, ":status", 7) == 0 && vlen == 3 && !st->a->status)
        st->a->status = (value[0] - '0') * 100 + (value[1] - '0') * 10 + (value[2] - '0');
    if (st->head_len + nlen + vlen + 4 < sizeof(st->head)) {
        memcpy(st->head + st->head_len, name, nlen);
        st->head_len += nlen;
        memcpy(st->head + st->head_len, ": ", 2);
        memcpy(st->head + st->head_len + 2, value, vlen);
        st->head_len += vlen + 2;
        st->head[st->head_len++] = '\n';
    }
    return 0;
}

static int on_frame(nghttp2_session *s, const nghttp2_frame *f, void *u)
{
    (void)s;
    h2_state *st = u;
    if (f->hd.type == NGHTTP2_SETTINGS)
        st->a->spoke_h2 = true;
    if (f->hd.type == NGHTTP2_GOAWAY) {
        st->a->goaway = true;
        st->a->goaway_code = f->goaway.error_code;
        st->done = true;
    }
    if (f->hd.type == NGHTTP2_RST_STREAM && f->hd.stream_id == st->stream) {
        st->a->reset = true;
        st->a->reset_code = f->rst_stream.error_code;
    }
    return 0; /* the stream's close ends the exchange: a reset may follow its answer */
}

static int on_close(nghttp2_session *s, int32_t id, uint32_t code, void *u)
{
    (void)s, (void)code;
    h2_state *st = u;
    if (id == st->stream)
        st->done = true;
    return 0;
}

static ssize_t read_data(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                         nghttp2_data_source *src, void *u)
{
    (void)s, (void)id, (void)src;
    h2_state *st = u;
    size_t left = st->req->data_len - st->data_off, n = left < len ? left : len;
    memcpy(buf, st->req->data + st->data_off, n);
    st->data_off += n;
    if (st->data_off == st->req->data_len)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

static nghttp2_session *session_new(h2_state *st)
{
    nghttp2_session_callbacks *cb;
    nghttp2_option *opt;
    nghttp2_session *s = NULL;
    if (nghttp2_session_callbacks_new(&cb) != 0)
        return NULL;
    if (nghttp2_option_new(&opt) != 0) {
        nghttp2_session_callbacks_del(cb);
        return NULL;
    }
    nghttp2_session_callbacks_set_send_callback(cb, on_send);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_close);
    nghttp2_option_set_no_http_messaging(opt, 1); /* send what the case wrote, read what comes */
    if (nghttp2_session_client_new2(&s, cb, st, opt) != 0)
        s = NULL;
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cb);
    return s;
}

/* The request submitted: its fields as they are. -1 when nghttp2 refuses them. */
static int submit(nghttp2_session *s, h2_state *st)
{
    const gh_probe_h2_request *req = st->req;
    nghttp2_nv nv[32];
    size_t n = req->nfields < 32 ? req->nfields : 32;
    for (size_t i = 0; i < n; i++)
        nv[i] = (nghttp2_nv){(uint8_t *)req->fields[i].name, (uint8_t *)req->fields[i].value,
                             req->fields[i].name_len, req->fields[i].value_len,
                             /* copied, nghttp2 would lowercase the name: the case's bytes go as
                              * they are (they outlive the session, in the run's arena) */
                             NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE};
    nghttp2_data_provider prd = {.read_callback = read_data};
    if (nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, NULL, 0) != 0)
        return -1;
    st->stream = nghttp2_submit_request(s, NULL, nv, n, req->data ? &prd : NULL, NULL);
    return st->stream > 0 ? 0 : -1;
}

/* Sends and reads until the stream ends or the connection does. */
static void exchange(gh_probe *p, nghttp2_session *s, h2_state *st, gh_probe_exchange *x)
{
    char *buf = malloc(H2_READ);
    while (buf && !st->done) {
        if (nghttp2_session_send(s) != 0 || st->write_failed) {
            x->closed = true;
            break;
        }
        int ms = (int)((st->deadline - gh_probe_now()) * 1000);
        if (ms <= 0) {
            x->timed_out = true;
            break;
        }
        bool gone;
        ssize_t n = gh_probe_conn_read(st->c, buf, H2_READ, ms, &gone);
        if (n == 0) {
            x->closed = true;
            break;
        }
        if (n < 0)
            continue;
        p->used.bytes += (uint64_t)n;
        if (!st->a->spoke_h2 && n >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
            x->closed = true; /* an HTTP/1.x answer to the preface: no HTTP/2 here */
            break;
        }
        if (nghttp2_session_mem_recv(s, (const uint8_t *)buf, (size_t)n) < 0 ||
            (!nghttp2_session_want_read(s) && !nghttp2_session_want_write(s))) {
            x->closed = true; /* not HTTP/2, or broken: the connection is over for the probe */
            break;
        }
    }
    free(buf);
}

int gh_probe_h2_send(gh_probe *p, gh_probe_result *r, const gh_probe_target *t,
                     const gh_probe_h2_request *req, gh_probe_exchange *x, gh_probe_h2_answer *a)
{
    *x = (gh_probe_exchange){0};
    *a = (gh_probe_h2_answer){0};
    size_t total = req->data_len;
    for (size_t i = 0; i < req->nfields; i++)
        total += req->fields[i].name_len + req->fields[i].value_len;
    const char *over = gh_probe_over_caps(p, total);
    if (over) {
        gh_probe_skip(r, "%s", over);
        return -1;
    }
    p->used.connections++;
    p->used.requests++;
    p->used.bytes += total;
    const char *text = "";
    for (size_t i = 0; i < req->nfields; i++)
        text = gh_arena_printf(&p->arena, "%s%s: %s\n", text,
                               gh_probe_escape(p, req->fields[i].name, req->fields[i].name_len),
                               gh_probe_escape(p, req->fields[i].value, req->fields[i].value_len));
    x->sent = gh_arena_printf(&p->arena, "(HTTP/2 HEADERS)\n%s%s%s", text, req->data ? "(DATA) " : "",
                              req->data ? gh_probe_escape(p, req->data, req->data_len) : "");
    double deadline = gh_probe_exchange_deadline(p);
    gh_probe_conn c;
    if (gh_probe_conn_open(p, t, &(gh_probe_opts){.alpn = "h2"}, deadline, &c, x) != 0)
        return 0;
    if (t->tls && (!x->alpn || strcmp(x->alpn, "h2") != 0)) {
        gh_probe_conn_close(&c); /* the server did not choose h2: a->spoke_h2 stays false */
        return 0;
    }
    h2_state st = {.p = p, .c = &c, .deadline = deadline, .req = req, .a = a};
    nghttp2_session *s = session_new(&st);
    if (!s || submit(s, &st) != 0) {
        if (s)
            nghttp2_session_del(s);
        gh_probe_conn_close(&c);
        gh_probe_error(r, "nghttp2 would not make the request");
        return -1;
    }
    exchange(p, s, &st, x);
    gh_probe_count_exchange(p, x);
    nghttp2_session_del(s);
    gh_probe_conn_close(&c);
    a->head = gh_arena_strndup(&p->arena, st.head, st.head_len);
    return 0;
}
