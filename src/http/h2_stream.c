#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/conn.h"
#include "http/h2_stream.h"

#define GH_H2_RESPONSE_HEAD_MAX (64u * 1024u)
#define GH_H2_RESPONSE_HEADERS 160
#define GH_H2_REQ_BUFFER_LOW (32u * 1024u) /* below this, consumed body reopens the window */

static int bytes_add(gh_bytes *b, const char *p, size_t n, size_t max)
{
    if (b->off && b->off == b->len)
        b->off = b->len = 0;
    if (b->len + n > max)
        return -1;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        char *p2 = realloc(b->p, cap);
        if (!p2)
            return -1;
        b->p = p2;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}

#define BYTES_LIT(b, lit, max) bytes_add((b), lit, sizeof(lit) - 1, (max))

static size_t pending(const gh_bytes *b)
{
    return b->len - b->off;
}

gh_h2_stream *gh_h2_stream_new(gh_conn *parent, int32_t id)
{
    gh_h2_stream *st = calloc(1, sizeof(*st));
    if (st) {
        st->parent = parent;
        st->id = id;
    }
    return st;
}

gh_conn *gh_h2_stream_free(gh_h2_stream *st)
{
    gh_conn *sc = st->sc;
    st->sc = NULL;
    if (sc)
        sc->h2_stream = NULL; /* it no longer reports to this stream */
    gh_bytes *all[] = {&st->target, &st->authority, &st->host, &st->cookies, &st->fields,
                       &st->req,    &st->head,      &st->out};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        free(all[i]->p);
    free(st);
    return sc;
}

static size_t head_limit(const gh_h2_stream *st)
{
    return st->parent->w->config->limits.max_head_bytes;
}

void gh_h2_stream_header(gh_h2_stream *st, const char *name, size_t nl, const char *value, size_t vl)
{
    size_t max = head_limit(st);
    int r = 0;
    if (nl == 7 && memcmp(name, ":method", 7) == 0) {
        if (vl >= sizeof(st->method))
            st->too_large = true;
        else
            memcpy(st->method, value, vl), st->method[vl] = '\0';
    } else if (nl == 5 && memcmp(name, ":path", 5) == 0) {
        r = bytes_add(&st->target, value, vl, max);
    } else if (nl == 10 && memcmp(name, ":authority", 10) == 0) {
        r = bytes_add(&st->authority, value, vl, max);
    } else if (name[0] == ':') {
        return; /* :scheme: the listener knows whether it is https */
    } else if (nl == 4 && memcmp(name, "host", 4) == 0) {
        r = bytes_add(&st->host, value, vl, max);
    } else if (nl == 6 && memcmp(name, "cookie", 6) == 0) {
        /* HTTP/2 splits cookies into fields; HTTP/1.1 wants them in one (RFC 9113 8.2.3). */
        if (st->cookies.len)
            r = BYTES_LIT(&st->cookies, "; ", max);
        r = r ? r : bytes_add(&st->cookies, value, vl, max);
    } else if (nl == 6 && memcmp(name, "expect", 6) == 0) {
        return; /* the gateway does not answer 100 on a stream: the body simply follows */
    } else {
        if (nl == 14 && memcmp(name, "content-length", 14) == 0)
            st->has_length = true;
        r = bytes_add(&st->fields, name, nl, max);
        r = r ? r : BYTES_LIT(&st->fields, ": ", max);
        r = r ? r : bytes_add(&st->fields, value, vl, max);
        r = r ? r : BYTES_LIT(&st->fields, "\r\n", max);
    }
    if (r)
        st->too_large = true;
}

/* The request as HTTP/1.1: the stream connection parses and judges it like any other. */
static int synthesize_head(gh_h2_stream *st, bool end_stream)
{
    size_t max = 4 * head_limit(st) + 1024;
    gh_bytes *b = &st->req;
    const gh_bytes *host = st->authority.len ? &st->authority : &st->host;
    int r = bytes_add(b, st->method, strlen(st->method), max);
    r = r ? r : BYTES_LIT(b, " ", max);
    r = r ? r : bytes_add(b, st->target.p ? st->target.p : "", st->target.len, max);
    r = r ? r : BYTES_LIT(b, " HTTP/1.1\r\n", max);
    if (host->len) {
        r = r ? r : BYTES_LIT(b, "Host: ", max);
        r = r ? r : bytes_add(b, host->p, host->len, max);
        r = r ? r : BYTES_LIT(b, "\r\n", max);
    }
    if (st->cookies.len) {
        r = r ? r : BYTES_LIT(b, "Cookie: ", max);
        r = r ? r : bytes_add(b, st->cookies.p, st->cookies.len, max);
        r = r ? r : BYTES_LIT(b, "\r\n", max);
    }
    r = r ? r : bytes_add(b, st->fields.p ? st->fields.p : "", st->fields.len, max);
    st->chunked_in = !end_stream && !st->has_length;
    if (st->chunked_in)
        r = r ? r : BYTES_LIT(b, "Transfer-Encoding: chunked\r\n", max);
    return r ? r : BYTES_LIT(b, "Connection: close\r\n\r\n", max);
}

int gh_h2_stream_begin(gh_h2_stream *st, bool end_stream)
{
    st->started = true;
    st->ended_in = end_stream;
    st->is_head = strcmp(st->method, "HEAD") == 0;
    if (!(st->sc = gh_conn_stream_open(st->parent, st)))
        return -1;
    if (st->too_large || synthesize_head(st, end_stream) != 0) {
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
        r = bytes_add(&st->req, size, strlen(size), max);
    }
    r = r ? r : bytes_add(&st->req, data, len, max);
    if (st->chunked_in && len)
        r = r ? r : BYTES_LIT(&st->req, "\r\n", max);
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
    if (st->chunked_in && BYTES_LIT(&st->req, "0\r\n\r\n", (size_t)-1) != 0) {
        gh_h2_reset(st);
        return;
    }
    if (st->sc)
        gh_conn_stream_input(st->sc);
}

int gh_h2_stream_fill(gh_conn *sc)
{
    gh_h2_stream *st = sc->h2_stream;
    if (!st || !pending(&st->req))
        return 0;
    if (!sc->in && !(sc->in = gh_block_get(&sc->w->blocks)))
        return -1;
    gh_block *in = sc->in;
    if (in->off == in->len)
        in->off = in->len = 0;
    size_t n = pending(&st->req);
    if (n > GH_BLOCK_SIZE - in->len)
        n = GH_BLOCK_SIZE - in->len;
    memcpy(in->data + in->len, st->req.p + st->req.off, n);
    in->len += (uint32_t)n;
    st->req.off += n;
    if (st->owed && pending(&st->req) < GH_H2_REQ_BUFFER_LOW) {
        size_t owed = st->owed; /* the client may send as much again */
        st->owed = 0;
        gh_h2_consume(st, owed);
    }
    return 0;
}

size_t gh_h2_stream_pending(const gh_conn *sc)
{
    return sc->h2_stream ? pending(&sc->h2_stream->out) : 0;
}

/* The response head, complete: its fields (but HTTP/1.1's connection-specific ones) become the
 * stream's HEADERS, names lower-cased in place (the head is the stream's own copy). */
static int submit_head(gh_h2_stream *st, const gh_h1_response *resp)
{
    nghttp2_nv nv[GH_H2_RESPONSE_HEADERS + 1];
    char status[4];
    snprintf(status, sizeof(status), "%03d", resp->status);
    size_t n = 0;
    nv[n++] = (nghttp2_nv){(uint8_t *)":status", (uint8_t *)status, 7, 3, NGHTTP2_NV_FLAG_NONE};
    for (size_t i = 0; i < resp->nheaders && n <= GH_H2_RESPONSE_HEADERS; i++) {
        const gh_h1_header *h = &resp->headers[i];
        if (gh_h1_is_hop_by_hop(h) || GH_H1_NAME_IS(h, "transfer-encoding"))
            continue;
        char *lower = (char *)h->name;
        for (size_t k = 0; k < h->name_len; k++)
            lower[k] = (char)(h->name[k] >= 'A' && h->name[k] <= 'Z' ? h->name[k] + 32 : h->name[k]);
        nv[n++] = (nghttp2_nv){(uint8_t *)lower, (uint8_t *)h->value, h->name_len, h->value_len,
                               NGHTTP2_NV_FLAG_NONE};
    }
    st->submitted = true;
    st->body = resp->body;
    st->left = resp->content_length;
    bool body = resp->body != GH_BODY_NONE && !(resp->body == GH_BODY_LENGTH && resp->content_length == 0);
    st->out_eof = !body;
    return gh_h2_submit_response(st, nv, n, body);
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
        if (len && bytes_add(&st->out, data, len, (size_t)-1) != 0)
            return -1;
        p += consumed;
        n -= consumed;
        if (!consumed)
            break;
    }
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
            if (bytes_add(&st->head, p, len, GH_H2_RESPONSE_HEAD_MAX) != 0)
                return UV_EPIPE;
            gh_h1_header hdrs[GH_H2_RESPONSE_HEADERS];
            gh_h1_response resp;
            gh_reason r = gh_h1_parse_response(st->head.p, st->head.len, GH_H2_RESPONSE_HEAD_MAX,
                                               GH_H2_RESPONSE_HEADERS, st->is_head, hdrs, &resp);
            if (r == GH_R_AGAIN)
                continue;
            if (r != GH_R_OK || submit_head(st, &resp) != 0)
                return UV_EPIPE;
            st->head_done = true;
            p = st->head.p + resp.head_len;
            len = st->head.len - resp.head_len;
        }
        if (take_body(st, p, len) != 0)
            return UV_EPIPE;
    }
    if (st->out_deferred && (pending(&st->out) || st->out_eof)) {
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
    size_t n = pending(&st->out);
    if (!n && !st->out_eof) {
        st->out_deferred = true;
        return NGHTTP2_ERR_DEFERRED;
    }
    if (n > len)
        n = len;
    memcpy(buf, st->out.p + st->out.off, n);
    st->out.off += n;
    if (st->out_eof && !pending(&st->out))
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (st->sc && pending(&st->out) < GH_OUTQ_HIGH) /* the stream connection's own bound */
        st->wake = true; /* the proxy may read the upstream again (after this send) */
    return (ssize_t)n;
}
