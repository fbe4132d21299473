#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/conn.h"
#include "http/h2_stream.h"

#define GH_H2_RESPONSE_HEAD_MAX (64u * 1024u)
#define GH_H2_RESPONSE_HEADERS 300 /* an upstream's 128 and every field the gateway may add */
#define GH_H2_REQ_BUFFER_LOW (32u * 1024u) /* below this, consumed body reopens the window */

gh_h2_stream *gh_h2_stream_new(gh_conn *parent, int32_t id)
{
    gh_h2_stream *st = calloc(1, sizeof(*st));
    if (st) {
        st->parent = parent;
        st->id = id;
    }
    return st;
}

static void release_pseudo(gh_h2_stream *st)
{
    if (st->path)
        nghttp2_rcbuf_decref(st->path);
    if (st->authority)
        nghttp2_rcbuf_decref(st->authority);
    st->path = st->authority = NULL;
}

gh_conn *gh_h2_stream_free(gh_h2_stream *st)
{
    gh_conn *sc = st->sc;
    st->sc = NULL;
    if (sc)
        sc->h2_stream = NULL; /* it no longer reports to this stream */
    release_pseudo(st);
    free(st->cookies.p);
    free(st->req.p);
    free(st->head.p);
    free(st->out.p);
    free(st);
    return sc;
}

/* The request head's bound: the stream connection's parser judges it against
 * limits.max_head_bytes (431); this only keeps a stream from holding more than that allows. */
static size_t head_bound(const gh_h2_stream *st)
{
    return 4 * st->parent->svc->snapshots.config->limits.max_head_bytes + 1024;
}

static int add_rcbuf(gh_bytes *b, nghttp2_rcbuf *rc, size_t max)
{
    nghttp2_vec v = nghttp2_rcbuf_get_buf(rc);
    return gh_bytes_add(b, (const char *)v.base, v.len, max);
}

/* "METHOD target HTTP/1.1" and the Host line from :authority, once. */
static int write_request_line(gh_h2_stream *st)
{
    size_t max = head_bound(st);
    gh_bytes *b = &st->req;
    st->line_done = true;
    int r = gh_bytes_add(b, st->method, strlen(st->method), max);
    r = r ? r : GH_BYTES_LIT(b, " ", max);
    r = r || !st->path ? r : add_rcbuf(b, st->path, max);
    r = r ? r : GH_BYTES_LIT(b, " HTTP/1.1\r\n", max);
    if (st->authority && nghttp2_rcbuf_get_buf(st->authority).len) {
        st->host_done = true; /* :authority wins over a host field (RFC 9113 8.3.1) */
        r = r ? r : GH_BYTES_LIT(b, "Host: ", max);
        r = r ? r : add_rcbuf(b, st->authority, max);
        r = r ? r : GH_BYTES_LIT(b, "\r\n", max);
    }
    release_pseudo(st);
    return r;
}

static void hold(nghttp2_rcbuf **slot, nghttp2_rcbuf *rc)
{
    if (*slot)
        nghttp2_rcbuf_decref(*slot);
    nghttp2_rcbuf_incref(rc);
    *slot = rc;
}

void gh_h2_stream_header(gh_h2_stream *st, nghttp2_rcbuf *name_rc, nghttp2_rcbuf *value_rc)
{
    nghttp2_vec nv = nghttp2_rcbuf_get_buf(name_rc), vv = nghttp2_rcbuf_get_buf(value_rc);
    const char *name = (const char *)nv.base, *value = (const char *)vv.base;
    size_t nl = nv.len, vl = vv.len, max = head_bound(st);
    gh_bytes *b = &st->req;
    int r = 0;
    if (name[0] == ':') {
        if (nl == 7 && memcmp(name, ":method", 7) == 0) {
            if (vl >= sizeof(st->method))
                st->too_large = true;
            else
                memcpy(st->method, value, vl), st->method[vl] = '\0';
        } else if (nl == 5 && memcmp(name, ":path", 5) == 0) {
            hold(&st->path, value_rc);
        } else if (nl == 10 && memcmp(name, ":authority", 10) == 0) {
            hold(&st->authority, value_rc);
        }
        return; /* :scheme: the listener knows whether it is https */
    }
    if (!st->line_done)
        r = write_request_line(st);
    if (nl == 4 && memcmp(name, "host", 4) == 0) {
        if (st->host_done)
            return;
        r = r ? r : GH_BYTES_LIT(b, "Host", max); /* a second one is refused like in HTTP/1.1 */
    } else if (nl == 6 && memcmp(name, "cookie", 6) == 0) {
        if (st->cookies.len)
            r = r ? r : GH_BYTES_LIT(&st->cookies, "; ", max);
        r = r ? r : gh_bytes_add(&st->cookies, value, vl, max);
        st->too_large |= r != 0;
        return;
    } else if (nl == 6 && memcmp(name, "expect", 6) == 0) {
        return; /* the gateway does not answer 100 on a stream: the body simply follows */
    } else {
        if (nl == 14 && memcmp(name, "content-length", 14) == 0)
            st->has_length = true;
        r = r ? r : gh_bytes_add(b, name, nl, max);
    }
    r = r ? r : GH_BYTES_LIT(b, ": ", max);
    r = r ? r : gh_bytes_add(b, value, vl, max);
    r = r ? r : GH_BYTES_LIT(b, "\r\n", max);
    if (r)
        st->too_large = true;
}

/* The rest of the request head: the stream connection parses and judges it like any other. */
static int finish_head(gh_h2_stream *st, bool end_stream)
{
    size_t max = head_bound(st);
    gh_bytes *b = &st->req;
    int r = st->line_done ? 0 : write_request_line(st);
    if (st->cookies.len) {
        r = r ? r : GH_BYTES_LIT(b, "Cookie: ", max);
        r = r ? r : gh_bytes_add(b, st->cookies.p, st->cookies.len, max);
        r = r ? r : GH_BYTES_LIT(b, "\r\n", max);
    }
    st->chunked_in = !end_stream && !st->has_length;
    if (st->chunked_in)
        r = r ? r : GH_BYTES_LIT(b, "Transfer-Encoding: chunked\r\n", max);
    return r ? r : GH_BYTES_LIT(b, "Connection: close\r\n\r\n", max);
}

int gh_h2_stream_begin(gh_h2_stream *st, bool end_stream)
{
    st->started = true;
    st->ended_in = end_stream;
    st->is_head = strcmp(st->method, "HEAD") == 0;
    if (!(st->sc = gh_conn_stream_open(st->parent, st)))
        return -1;
    if (st->too_large || finish_head(st, end_stream) != 0) {
        gh_conn_stream_refuse(st->sc, GH_R_HEAD_TOO_LARGE,
                              "the request's header list exceeds limits.max_head_bytes");
        return 0;
    }
    gh_conn_stream_input(st->sc);
    return 0;
}

void gh_h2_stream_body(gh_h2_stream *st, const char *data, size_t len)
{
    size_t max = (size_t)-1; /* bounded by the stream's window, which opens as it is consumed */
    char size[24];
    int r = 0;
    if (st->chunked_in && len) {
        snprintf(size, sizeof(size), "%zx\r\n", len);
        r = gh_bytes_add(&st->req, size, strlen(size), max);
    }
    r = r ? r : gh_bytes_add(&st->req, data, len, max);
    if (st->chunked_in && len)
        r = r ? r : GH_BYTES_LIT(&st->req, "\r\n", max);
    st->owed += len;
    if (r) {
        gh_h2_reset(st);
        return;
    }
    if (st->sc)
        gh_conn_stream_input(st->sc);
}

void gh_h2_stream_request_end(gh_h2_stream *st)
{
    st->ended_in = true;
    if (st->chunked_in && GH_BYTES_LIT(&st->req, "0\r\n\r\n", (size_t)-1) != 0) {
        gh_h2_reset(st);
        return;
    }
    if (st->sc)
        gh_conn_stream_input(st->sc);
}

int gh_h2_stream_fill(gh_conn *sc)
{
    gh_h2_stream *st = sc->h2_stream;
    if (!st || !gh_bytes_pending(&st->req))
        return 0;
    if (!sc->in && !(sc->in = gh_block_get(&sc->svc->blocks)))
        return -1;
    gh_block *in = sc->in;
    if (in->off == in->len)
        in->off = in->len = 0;
    size_t n = gh_bytes_pending(&st->req);
    if (n > GH_BLOCK_SIZE - in->len)
        n = GH_BLOCK_SIZE - in->len;
    memcpy(in->data + in->len, st->req.p + st->req.off, n);
    in->len += (uint32_t)n;
    st->req.off += n;
    if (st->owed && gh_bytes_pending(&st->req) < GH_H2_REQ_BUFFER_LOW) {
        size_t owed = st->owed; /* the client may send as much again */
        st->owed = 0;
        gh_h2_consume(st, owed);
    }
    return 0;
}

size_t gh_h2_stream_pending(const gh_conn *sc)
{
    return sc->h2_stream ? gh_bytes_pending(&sc->h2_stream->out) : 0;
}

/* A response head: its fields (but HTTP/1.1's connection-specific ones) become the stream's
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
    st->head_done = st->submitted = true;
    st->body = body_kind;
    st->left = length;
    bool body = body_kind != GH_BODY_NONE && !(body_kind == GH_BODY_LENGTH && length == 0);
    st->out_eof = !body;
    int r = gh_h2_submit_response(st, nv, n, body);
    if (names != small)
        free(names);
    return r;
}

int gh_h2_stream_respond(gh_conn *sc, int status, const gh_h1_header *fields, size_t n, int body,
                         uint64_t length)
{
    gh_h2_stream *st = sc->h2_stream;
    if (!st || st->head_done || submit_head(st, status, fields, n, body, length) != 0)
        return UV_EPIPE;
    return 0;
}

/* Body bytes of the HTTP/1.1 response, unframed, for the client's window. */
static int take_body(gh_h2_stream *st, const char *p, size_t n)
{
    while (n && !st->out_eof) {
        const char *data = p;
        size_t consumed, len;
        if (st->body == GH_BODY_CHUNKED) {
            if (gh_chunked_step(&st->chunked, p, n, &consumed, &data, &len) != GH_R_OK)
                return -1;
            st->out_eof = gh_chunked_done(&st->chunked);
        } else if (st->body == GH_BODY_LENGTH) {
            len = consumed = n < st->left ? n : (size_t)st->left;
            st->left -= len;
            st->out_eof = st->left == 0;
        } else {
            len = consumed = n;
        }
        if (len && gh_bytes_add(&st->out, data, len, (size_t)-1) != 0)
            return -1;
        if (st->sc && st->sc->req)
            st->sc->req->bytes_out += len;
        p += consumed;
        n -= consumed;
        if (!consumed)
            break;
    }
    return 0;
}

/* The response head, when p..len (or what st->head holds with it) completes one: submitted,
 * and *body_at set past it. 0, 1 while incomplete, -1 when malformed. */
static int take_head(gh_h2_stream *st, const char *p, size_t len, const char **body_at, size_t *body_len)
{
    gh_h1_header hdrs[GH_H2_RESPONSE_HEADERS];
    gh_h1_response resp;
    bool held = st->head.len > 0; /* the head came in pieces: gather them */
    if (held && gh_bytes_add(&st->head, p, len, GH_H2_RESPONSE_HEAD_MAX) != 0)
        return -1;
    const char *head = held ? st->head.p : p;
    size_t head_len = held ? st->head.len : len;
    gh_reason r = gh_h1_parse_response(head, head_len, GH_H2_RESPONSE_HEAD_MAX,
                                       GH_H2_RESPONSE_HEADERS, st->is_head, hdrs, &resp);
    if (r == GH_R_AGAIN)
        return held || gh_bytes_add(&st->head, p, len, GH_H2_RESPONSE_HEAD_MAX) == 0 ? 1 : -1;
    if (r != GH_R_OK ||
        submit_head(st, resp.status, hdrs, resp.nheaders, resp.body, resp.content_length) != 0)
        return -1;
    *body_at = head + resp.head_len;
    *body_len = head_len - resp.head_len;
    return 0;
}

int gh_h2_stream_write(gh_conn *sc, const uv_buf_t *bufs, unsigned n)
{
    gh_h2_stream *st = sc->h2_stream;
    if (!st)
        return UV_EPIPE;
    for (unsigned i = 0; i < n; i++) {
        const char *p = bufs[i].base;
        size_t len = bufs[i].len;
        if (!st->head_done) {
            int r = take_head(st, p, len, &p, &len);
            if (r < 0)
                return UV_EPIPE;
            if (r > 0)
                continue;
        }
        if (take_body(st, p, len) != 0)
            return UV_EPIPE;
    }
    if (st->out_deferred && (gh_bytes_pending(&st->out) || st->out_eof)) {
        st->out_deferred = false;
        gh_h2_resume(st);
    }
    return 0;
}

void gh_h2_stream_done(gh_conn *sc, bool complete)
{
    gh_h2_stream *st = sc->h2_stream;
    if (!st)
        return;
    sc->h2_stream = NULL;
    st->sc = NULL;
    if (st->submitted && !st->out_eof && complete && st->body == GH_BODY_UNTIL_CLOSE)
        st->out_eof = true; /* a response that ends with its connection ends with the stream */
    if (!st->submitted || !st->out_eof) {
        gh_h2_reset(st);
        return;
    }
    if (st->out_deferred) {
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
    memcpy(buf, st->out.p + st->out.off, n);
    st->out.off += n;
    if (st->out_eof && !gh_bytes_pending(&st->out))
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (st->sc && gh_bytes_pending(&st->out) < GH_OUTQ_HIGH) /* the stream connection's own bound */
        st->wake = true; /* the proxy may read the upstream again (after this send) */
    return (ssize_t)n;
}
