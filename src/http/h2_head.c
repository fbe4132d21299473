/* An HTTP/2 stream's request head: gathered field by field while its header block arrives, then
 * judged by the rules of an HTTP/1.1 head (gh_h1_check_request) and started as a request. */
#include <string.h>

#include "gate/pipeline.h"
#include "gate/request.h"
#include "gate/trace.h"
#include "http/conn.h"
#include "http/h2_stream.h"

/* The fields of one head, their names and values: the head's own limit (limits.max_head_bytes,
 * 431 beyond) is judged once it is complete; this only keeps a stream from holding more than
 * that allows while its block arrives. */
static size_t text_bound(const gh_h2_stream *st)
{
    return 4 * st->conn->svc->snapshots.config->limits.max_head_bytes + 1024;
}

static int add_rcbuf(gh_h2_stream *st, nghttp2_rcbuf *rc, gh_h2_span *at)
{
    nghttp2_vec v = nghttp2_rcbuf_get_buf(rc);
    at->off = (uint32_t)st->text.len;
    at->len = (uint32_t)v.len;
    return gh_bytes_add(&st->text, (const char *)v.base, v.len, text_bound(st));
}

static bool name_is(nghttp2_vec n, const char *lit, size_t len)
{
    return n.len == len && memcmp(n.base, lit, len) == 0;
}
#define NAME_IS(n, lit) name_is((n), lit, sizeof(lit) - 1)

/* nghttp2 has checked the field's syntax as HTTP/2 defines it (lower-case names, pseudo-header
 * fields first and once, no connection-specific field); what HTTP/1.1 would refuse besides is
 * judged when the head is complete. */
void gh_h2_stream_header(gh_h2_stream *st, nghttp2_rcbuf *name_rc, nghttp2_rcbuf *value_rc)
{
    nghttp2_vec name = nghttp2_rcbuf_get_buf(name_rc);
    int r = 0;
    if (name.len && name.base[0] == ':') {
        if (NAME_IS(name, ":method"))
            r = add_rcbuf(st, value_rc, &st->method);
        else if (NAME_IS(name, ":path"))
            r = add_rcbuf(st, value_rc, &st->path);
        else if (NAME_IS(name, ":authority"))
            r = add_rcbuf(st, value_rc, &st->authority);
        /* :scheme: the listener knows whether it is https */
    } else if (NAME_IS(name, "cookie")) {
        nghttp2_vec v = nghttp2_rcbuf_get_buf(value_rc);
        if (st->cookies.len)
            r = GH_BYTES_LIT(&st->cookies, "; ", text_bound(st));
        r = r ? r : gh_bytes_add(&st->cookies, (const char *)v.base, v.len, text_bound(st));
    } else if (!NAME_IS(name, "expect")) { /* no 100 on a stream: the body simply follows */
        gh_h2_span f[2];
        st->has_length |= NAME_IS(name, "content-length");
        r = add_rcbuf(st, name_rc, &f[0]);
        r = r ? r : add_rcbuf(st, value_rc, &f[1]);
        r = r ? r : gh_bytes_add(&st->fields, (const char *)f, sizeof(f), text_bound(st));
    }
    if (r)
        st->too_large = true;
}

static void put(gh_h1_header *h, const char *name, size_t nl, const char *value, size_t vl)
{
    *h = (gh_h1_header){name, value, (uint32_t)nl, (uint32_t)vl};
}

/* The head as fields in req's arena, pointing into the stream's text (kept until the stream
 * ends, after its request): :authority first as Host (it wins over a host field, RFC 9113
 * 8.3.1; without it a host field is the Host), the fields in their order, the cookies as one
 * field last. Its size and count are what an HTTP/1.1 head of these fields would take. */
static bool build_head(gh_h2_stream *st, gh_request *req, gh_h1_request *h1)
{
    const gh_h2_span *f = (const gh_h2_span *)st->fields.p;
    size_t nf = st->fields.len / (2 * sizeof(*f));
    gh_h1_header *h = gh_arena_alloc(&req->arena, (nf + 2) * sizeof(*h));
    if (!h)
        return false;
    const char *t = st->text.p;
    /* "METHOD target HTTP/1.1" CRLF, the fields, the final CRLF. */
    size_t n = 0, size = st->method.len + 1 + st->path.len + sizeof(" HTTP/1.1\r\n\r\n") - 1;
    if (st->authority.len)
        put(&h[n++], "Host", 4, t + st->authority.off, st->authority.len);
    for (size_t i = 0; i < nf; i++) {
        const char *name = t + f[2 * i].off, *value = t + f[2 * i + 1].off;
        size_t nl = f[2 * i].len, vl = f[2 * i + 1].len;
        bool host = nl == 4 && memcmp(name, "host", 4) == 0;
        if (host && st->authority.len)
            continue;
        put(&h[n++], host ? "Host" : name, nl, value, vl);
    }
    if (st->cookies.len)
        put(&h[n++], "Cookie", 6, st->cookies.p, st->cookies.len);
    for (size_t i = 0; i < n; i++)
        size += h[i].name_len + h[i].value_len + 4;
    *h1 = (gh_h1_request){.method = t ? t + st->method.off : "",
                          .method_len = st->method.len,
                          .target = t ? t + st->path.off : "",
                          .target_len = st->path.len,
                          .minor = 1,
                          .headers = h,
                          .nheaders = n,
                          .head_len = size,
                          .unframed = !st->ended_in && !st->has_length};
    return true;
}

/* The request's head judged and taken: GH_R_OK, or why it is refused (detail set). */
static gh_reason judge_head(gh_h2_stream *st, gh_request *req, const char **detail)
{
    const gh_limits_conf *lim = &req->config->limits;
    gh_h1_limits hl = {lim->max_head_bytes, lim->max_headers, lim->max_target_bytes,
                       req->config->defensive};
    gh_h1_request h1;
    *detail = "the request's header list exceeds limits.max_head_bytes";
    if (st->too_large)
        return GH_R_HEAD_TOO_LARGE;
    *detail = "a field value that begins or ends with whitespace";
    if (st->spaced_value)
        return GH_R_BAD_HEADER_VALUE;
    *detail = "out of request memory";
    if (!build_head(st, req, &h1))
        return GH_R_INTERNAL;
    gh_reason r = gh_h1_check_request(&hl, &h1);
    *detail = h1.detail;
    if (r != GH_R_OK)
        return r;
    h1.keep_alive = false; /* a stream carries one request */
    *detail = "out of request memory";
    return gh_request_take_head(req, &h1) ? GH_R_OK : GH_R_INTERNAL;
}

int gh_h2_stream_begin(gh_h2_stream *st, bool end_stream)
{
    st->started = true;
    st->ended_in = end_stream;
    st->is_head = st->method.len == 4 && memcmp(st->text.p + st->method.off, "HEAD", 4) == 0;
    gh_peer peer = gh_conn_peer(st->conn, true);
    gh_request *req = gh_request_new(st->conn->svc, &gh_h2_downstream, st, &peer);
    if (!req)
        return -1;
    st->req = req;
    const char *detail;
    gh_reason r = judge_head(st, req, &detail);
    if (r != GH_R_OK) {
        /* As for an HTTP/1.1 head that did not parse: no head is logged, only why. */
        memset(&req->h1, 0, sizeof(req->h1));
        gh_request_refuse(req, r, detail);
        return 0;
    }
    gh_request_adopt_id(req);
    gh_trace_extract(req);
    req->body_left = req->h1.body == GH_BODY_LENGTH ? req->h1.content_length : 0;
    req->body_done = req->h1.body == GH_BODY_NONE;
    gh_pipeline_start(req);
    gh_h2_stream_pump(st); /* DATA that came with the head, if the request reads it already */
    return 0;
}
