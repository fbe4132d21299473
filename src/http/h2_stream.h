/* Internal to the HTTP/2 module: one stream as a downstream. Its request head is gathered field
 * by field and judged by the same rules as an HTTP/1.1 head (gh_h1_check_request); its body is
 * DATA, fed to the request as it is taken; its response goes out as HEADERS (the status and
 * fields the gateway or the proxy hands it) and DATA. */
#ifndef GH_HTTP_H2_STREAM_H
#define GH_HTTP_H2_STREAM_H

#include <nghttp2/nghttp2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/bytes.h"
#include "core/deadline.h"
#include "core/list.h"
#include "gate/exchange.h"
#include "http/h2.h"

/* Where a field of the request head is in the stream's text. */
typedef struct gh_h2_span {
    uint32_t off, len;
} gh_h2_span;

struct gh_h2_stream {
    gh_h2 *h2;     /* its session; NULL once the stream closed there */
    gh_conn *conn; /* the connection carrying it */
    int32_t id;
    gh_link link;     /* in its session's streams; once closed, in its list of streams to end */
    gh_request *req;  /* the request it serves, until that ends */
    gh_deadline timer; /* the body's pace, or the client taking the response */
    uint8_t timer_kind;
    /* request head, gathered until its block ends */
    gh_bytes text;    /* the fields' names and values */
    gh_bytes fields;  /* gh_h2_span pairs (name, value) into text */
    gh_bytes cookies; /* HTTP/2 splits Cookie into fields (RFC 9113 8.2.3): one field again */
    gh_h2_span method, path, authority;
    bool started, too_large, has_length, is_head, peer_reset;
    bool spaced_value; /* a field value began or ended with whitespace */
    /* request body */
    bool reading_body, pumping, ended_in;
    gh_bytes in;  /* DATA not yet taken by the request */
    size_t owed;  /* DATA received and not yet reported to the windows */
    /* response */
    gh_bytes out; /* body bytes waiting for the client's window */
    bool submitted, out_eof, out_deferred;
    bool wake; /* its window took bytes: the action may produce more */
    int body;  /* gh_body_kind of the response */
    uint64_t left;
};

/* A stream of the connection c (its session's). NULL when memory ran out. */
gh_h2_stream *gh_h2_stream_new(gh_conn *c, gh_h2 *h2, int32_t id);
/* The stream closed in its session (or the session ends): nothing of nghttp2 is touched any
 * more. Its request is ended by gh_h2_stream_end, at a point where that is safe. */
void gh_h2_stream_closed(gh_h2_stream *st);
/* Ends the stream's request (if it still has one) and frees the stream (its timer first). */
void gh_h2_stream_end(gh_h2_stream *st);
/* A field of the request head (pseudo-header fields first). */
void gh_h2_stream_header(gh_h2_stream *st, nghttp2_rcbuf *name, nghttp2_rcbuf *value);
/* The request head is complete: the request starts on it. 0, or -1 when memory ran out. */
int gh_h2_stream_begin(gh_h2_stream *st, bool end_stream);
void gh_h2_stream_body(gh_h2_stream *st, const char *data, size_t len);
/* Feeds the request what the stream holds of its body, while the request reads it. */
void gh_h2_stream_pump(gh_h2_stream *st);
void gh_h2_stream_request_end(gh_h2_stream *st);
/* The connection's output took frames: a stream whose buffered response fell low goes on. */
void gh_h2_stream_drained(gh_h2_stream *st);
/* nghttp2's data source: response body bytes for the client's window. */
ssize_t gh_h2_stream_read_response(gh_h2_stream *st, char *buf, size_t len, uint32_t *flags);

/* What a stream does for the request it carries. */
extern const gh_downstream_ops gh_h2_downstream;

/* Back into the session (h2.c). */
int gh_h2_submit_response(gh_h2_stream *st, const nghttp2_nv *nv, size_t n, bool body);
void gh_h2_resume(gh_h2_stream *st);
void gh_h2_reset(gh_h2_stream *st);
/* n bytes of the stream's DATA were taken: both windows open by that much. */
void gh_h2_consume(gh_h2_stream *st, size_t n);
/* Frames may wait: they go at the end of the iteration, and the connection's timer follows
 * what it waits for then. */
void gh_h2_flush(gh_h2 *h2);
/* n bytes of DATA that nothing will take: the connection's window opens, the stream's stays. */
void gh_h2_consume_connection(gh_h2 *h2, size_t n);
/* A connection ended for a protocol error or a flood: counted and logged (rate-limited). */
void gh_h2_report(gh_conn *c, const char *why);

#endif
