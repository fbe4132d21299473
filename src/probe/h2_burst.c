/* Bursts of HTTP/2 streams: one connection (prior knowledge on plain listeners, ALPN h2 on TLS
 * ones) carrying many streams at once, to see whether limits hold for multiplexed requests as
 * they do for requests on separate connections. nghttp2 frames and compresses; the probe only
 * counts what came back. */
#include <nghttp2/nghttp2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probe/probe_internal.h"

#define H2_READ 16384

typedef struct burst {
    int *statuses; /* by stream's index */
    size_t n, closed;
} burst;

static int on_header(nghttp2_session *s, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user)
{
    (void)flags;
    burst *b = user;
    if (frame->hd.type != NGHTTP2_HEADERS || namelen != 7 || memcmp(name, ":status", 7) != 0 ||
        valuelen != 3)
        return 0;
    uintptr_t i = (uintptr_t)nghttp2_session_get_stream_user_data(s, frame->hd.stream_id);
    if (i >= 1 && i <= b->n && b->statuses[i - 1] == 0)
        b->statuses[i - 1] = (value[0] - '0') * 100 + (value[1] - '0') * 10 + (value[2] - '0');
    return 0;
}

static int on_close(nghttp2_session *s, int32_t stream, uint32_t code, void *user)
{
    (void)s, (void)stream, (void)code;
    ((burst *)user)->closed++;
    return 0;
}

static nghttp2_nv nv(const char *name, const char *value)
{
    return (nghttp2_nv){(uint8_t *)name, (uint8_t *)value, strlen(name), strlen(value),
                        NGHTTP2_NV_FLAG_NONE};
}

/* Sends what the session has queued. 0, or -1 when the peer went away. */
static int flush(nghttp2_session *s, gh_probe *p, gh_probe_conn *c, double deadline)
{
    for (;;) {
        const uint8_t *data;
        ssize_t len = nghttp2_session_mem_send(s, &data);
        if (len < 0)
            return -1;
        if (len == 0)
            return 0;
        p->used.bytes += (uint64_t)len;
        if (gh_probe_conn_write(c, (const char *)data, (size_t)len, deadline) != 0)
            return -1;
    }
}

/* Reads and feeds the session until every stream closed, the peer left or the deadline. */
static void pump(nghttp2_session *s, gh_probe *p, gh_probe_conn *c, burst *b, double deadline)
{
    char buf[H2_READ];
    while (b->closed < b->n && gh_probe_now() < deadline) {
        if (flush(s, p, c, deadline) != 0)
            return;
        bool gone;
        ssize_t got = gh_probe_conn_read(c, buf, sizeof(buf),
                                         (int)((deadline - gh_probe_now()) * 1000), &gone);
        if (got == 0 || (got < 0 && gone))
            return;
        if (got < 0)
            continue;
        p->used.bytes += (uint64_t)got;
        if (nghttp2_session_mem_recv(s, (const uint8_t *)buf, (size_t)got) < 0)
            return;
    }
}

/* Submits the n streams; false when nghttp2 refuses one. */
static bool submit(nghttp2_session *s, const nghttp2_nv *head, size_t nhead, size_t n)
{
    if (nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, NULL, 0) != 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (nghttp2_submit_request(s, NULL, head, nhead, NULL, (void *)(uintptr_t)(i + 1)) < 0)
            return false;
    return true;
}

int gh_probe_h2_burst(gh_probe *p, gh_probe_result *r, const gh_probe_target *t, const char *method,
                      const char *path, const char *authority, const char *const *fields,
                      size_t nfields, size_t n, int *statuses)
{
    const char *over = gh_probe_over_caps(p, 0);
    if (over || p->used.requests + n > p->caps.requests) {
        gh_probe_skip(r, "%s",
                      over ? over : "the run's request cap leaves too little for the streams");
        return -1;
    }
    double deadline = gh_probe_exchange_deadline(p);
    gh_probe_conn conn, *c = &conn;
    gh_probe_exchange x = {0};
    p->used.connections++;
    if (gh_probe_conn_open(p, t, &(gh_probe_opts){.alpn = "h2"}, deadline, c, &x) != 0) {
        gh_probe_error(r, "cannot connect to %s:%d%s%s", t->host, t->port, x.tls_error ? ": " : "",
                       x.tls_error ? x.tls_error : "");
        return -1;
    }
    if (t->tls && (!x.alpn || strcmp(x.alpn, "h2") != 0)) {
        gh_probe_conn_close(c);
        gh_probe_skip(r, "the listener did not choose h2 by ALPN");
        return -1;
    }
    nghttp2_nv *head = calloc(4 + nfields / 2, sizeof(*head));
    nghttp2_session_callbacks *cbs = NULL;
    nghttp2_session *s = NULL;
    burst b = {.statuses = statuses, .n = n};
    memset(statuses, 0, n * sizeof(*statuses));
    size_t nhead = 0;
    if (head) {
        head[nhead++] = nv(":method", method);
        head[nhead++] = nv(":scheme", t->tls ? "https" : "http");
        head[nhead++] = nv(":authority", authority);
        head[nhead++] = nv(":path", path);
        for (size_t i = 0; i + 1 < nfields; i += 2)
            head[nhead++] = nv(fields[i], fields[i + 1]);
    }
    int rc = -1;
    if (head && nghttp2_session_callbacks_new(&cbs) == 0) {
        nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
        nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_close);
        if (nghttp2_session_client_new(&s, cbs, &b) == 0 && submit(s, head, nhead, n)) {
            p->used.requests += n;
            pump(s, p, c, &b, deadline);
            rc = 0;
        }
    }
    if (rc != 0)
        gh_probe_error(r, "cannot make the HTTP/2 session");
    nghttp2_session_del(s);
    nghttp2_session_callbacks_del(cbs);
    free(head);
    gh_probe_conn_close(c);
    return rc;
}
