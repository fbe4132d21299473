/* Internal to the HTTP/2 module: one stream, its request turned into HTTP/1.1 bytes for its
 * stream connection, and the HTTP/1.1 response that connection writes turned back into a
 * response for nghttp2. */
#ifndef GH_HTTP_H2_STREAM_H
#define GH_HTTP_H2_STREAM_H

#include <nghttp2/nghttp2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/bytes.h"
#include "core/list.h"
#include "wire/h1.h"
#include "http/h2.h"


struct gh_h2_stream {
    gh_h2 *h2;
    gh_conn *parent;
    gh_conn *sc; /* the stream connection serving it, or NULL once it closed */
    int32_t id;
    gh_link link; /* in its session's streams */
    /* request */
    char method[16];
    /* :path and :authority, held (not copied) until the request line is written: pseudo-header
     * fields precede the regular ones, so that is at the first regular field or at the end. */
    nghttp2_rcbuf *path, *authority;
    gh_bytes cookies; /* HTTP/2 splits cookies into fields; HTTP/1.1 wants them in one line */
    bool line_done, host_done, started, too_large, chunked_in, ended_in, has_length, is_head;
    bool peer_reset; /* the client sent RST_STREAM for it (whatever the code) */
    gh_bytes req;   /* HTTP/1.1 bytes waiting for the stream connection */
    size_t owed;    /* body bytes received, not yet reported to the window */
    /* response */
    gh_bytes head;  /* the response head while it is incomplete */
    gh_bytes out;   /* body bytes waiting for the client's window */
    bool head_done, submitted, out_eof, out_deferred;
    bool wake; /* its window took bytes: the stream connection may produce more */
    int body;       /* gh_body_kind of the response */
    uint64_t left;
    gh_chunked chunked;
};

gh_h2_stream *gh_h2_stream_new(gh_conn *parent, int32_t id);
/* Frees the stream; the stream connection still serving it (if any) is detached and returned:
 * the caller closes it where that is safe. */
gh_conn *gh_h2_stream_free(gh_h2_stream *st);
void gh_h2_stream_header(gh_h2_stream *st, nghttp2_rcbuf *name, nghttp2_rcbuf *value);
/* The request head is complete: the stream connection starts. 0 or -1. */
int gh_h2_stream_begin(gh_h2_stream *st, bool end_stream);
void gh_h2_stream_body(gh_h2_stream *st, const char *data, size_t len);
void gh_h2_stream_request_end(gh_h2_stream *st);
/* nghttp2's data source: response body bytes for the client's window. */
ssize_t gh_h2_stream_read_response(gh_h2_stream *st, char *buf, size_t len, uint32_t *flags);

/* Back into the session (h2.c). */
int gh_h2_submit_response(gh_h2_stream *st, const nghttp2_nv *nv, size_t n, bool body);
void gh_h2_resume(gh_h2_stream *st);
void gh_h2_reset(gh_h2_stream *st);
void gh_h2_consume(gh_h2_stream *st, size_t n);
/* A connection ended for a protocol error or a flood: counted and logged (rate-limited). */
void gh_h2_report(gh_conn *c, const char *why);

#endif
