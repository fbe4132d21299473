/* A downstream HTTP/1.1 connection and the request it is serving. One request at a time per
 * connection: pipelined requests wait in the input block, so responses leave in order. */
#ifndef GH_HTTP_CONN_H
#define GH_HTTP_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "config/config-t.h"
#include "core/arena.h"
#include "core/bytes.h"
#include "core/deadline.h"
#include "core/outq.h"
#include "wire/h1.h"
#include "route/route.h"
#include "gate/services.h"

typedef struct gh_upconn gh_upconn;
typedef struct gh_conn gh_conn;

typedef enum {
    GH_CS_IDLE,   /* between requests, no bytes buffered */
    GH_CS_HEAD,   /* reading a request head */
    GH_CS_BODY,   /* streaming the request body */
    GH_CS_WAIT,   /* request read, response pending */
    GH_CS_LINGER, /* response sent, write side shut, draining what the client still sends */
    GH_CS_H2,     /* speaking HTTP/2: streams are served by stream connections */
} gh_conn_state;

typedef struct gh_request {
    gh_arena arena;
    struct gh_conn *conn;
    gh_config *config; /* the snapshot this request runs on (= snap->config) */
    gh_worker_snapshot *snap;
    gh_h1_request h1;
    gh_route_match match;
    char *path; /* canonical */
    size_t path_len;
    const char *query; /* "?..." as sent, or NULL */
    size_t query_len;
    char id[65]; /* generated (32 hex digits) or kept from a trusted proxy (up to 64) */
    uint8_t id_len;
    char client_ip[48];
    bool trusted_peer;
    uint64_t start_us;
    uint8_t stage_at;                    /* the stage that returned GH_WAIT */
    bool in_stage; /* a stage runs on it: a refusal is recorded, answered once the stage returns */
    void (*wait_abort)(gh_request *req); /* set while a stage waits: the request is going away */
    struct gh_key_wait *key_wait;        /* while waiting for an identity provider's keys */
    struct gh_pending_wait *pending_wait; /* while a stage's HTTP call is answering */
    bool keys_waited;                    /* waited once already: never twice */
    /* identity (stages auth_jwt, auth_introspect, auth_api_key) */
    bool auth_ok, auth_failed;
    const char *auth_reason; /* precise, for the log: "expired", "signature", ... */
    const char *auth_sub, *auth_iss, *auth_client_id, *auth_kid;
    char **claim_values; /* per route forward.claims entry; NULL when the claim is absent */
    const char *claims;  /* the verified claims, flattened (identity/claims.h), in the arena */
    size_t claims_len;
    uint8_t authz;              /* GH_AUTHZ_*: what the route's authorization rules decided */
    const char *authz_reason;   /* why they refused (or would have, in shadow mode) */
    const char *rate_limit;     /* the limit that refused it ("shadow:NAME" when it would have) */
    const char *extra_headers;  /* complete header lines every response to it carries (at most
                                 * GH_EXTRA_FIELDS_MAX) */
    struct limit_run *limit_run; /* while Redis decides its rate limits */
    const char *api_client; /* client_id of the API key presented (stage auth_api_key) */
    const gh_h1_header *cors_origin; /* its Origin, when the route's cors allows it */
    /* request body */
    uint64_t body_left;
    gh_chunked chunked;
    bool body_done;
    bool discard_body; /* a direct response: read the body, forward nothing */
    bool collect_body; /* read the body whole before the stage that asked goes on */
    bool body_buffered; /* read before the upstream (body.buffer_before_upstream) once */
    uint64_t collect_max; /* collected this far, the rest streams (on_body runs then too) */
    void (*on_body)(gh_request *req); /* that stage's continuation, once the body is in */
    /* pace (loop time, ms): when the body began and last moved, the current rate window */
    uint64_t body_start_ms, body_last_ms, window_start_ms, window_bytes;
    bool window_blocked; /* the gateway, not the client, held the body up in this window */
    gh_bytes body;     /* the body read whole, forwarded from here */
    const char *problem_extra; /* more members for the refusal's problem document */
    uint64_t bytes_in;
    /* upstream */
    gh_upconn *up;
    const gh_upstream_conf *upstream;
    const gh_endpoint_conf *endpoint;
    bool slot_held;
    bool up_ready; /* connected and head sent: body bytes may flow */
    int up_status;
    uint64_t up_start_us, up_us;
    /* response */
    int status;
    bool resp_started, resp_done, close_after;
    uint64_t bytes_out;
    gh_reason reason;
    const char *detail;
} gh_request;

/* Header lines a stage may add to every response (rate-limit fields). */
#define GH_EXTRA_FIELDS_MAX 8

struct gh_conn {
    uv_tcp_t tcp;
    gh_deadline timer;
    gh_services *svc;
    gh_link link; /* in svc->conns; a stream connection: in its session's doomed list */
    gh_block *in;
    gh_outq out;
    gh_request *req;
    size_t scanned;
    uint8_t state;
    uint8_t timer_kind;
    uint8_t closed_handles;
    bool reading, closing, close_after_flush, in_process;
    bool tls_notified;               /* close_notify sent */
    struct gh_tls_pipe *tls;         /* the session, on a TLS listener */
    struct gh_tls_server *tls_server; /* its listener's contexts, held while the connection lives */
    struct gh_client_cert *peer_cert; /* the client certificate, described at first use */
    bool h2c;                         /* its listener accepts the HTTP/2 preface in plaintext */
    unsigned methods;                 /* its listener's GH_M_* methods */
    uint8_t underscores;              /* its listener's headers_with_underscores (gh_underscores) */
    uint64_t listener;                /* its listener's id: which routes it serves */
    bool h2_offered;                  /* its TLS listener offers h2 by ALPN */
    bool stream_complete;             /* a stream connection whose response went out whole */
    struct gh_h2 *h2;                 /* HTTP/2 on this connection */
    uint64_t h2_progress;             /* gh_h2_progress when its timer was last set */
    struct gh_h2_stream *h2_stream;   /* a stream connection: the stream it serves */
    struct gh_conn *parent;           /* a stream connection: the connection carrying it */
    uint8_t peer_family;
    uint16_t peer_port;
    unsigned char peer_addr[16];
};

/* Accepts a connection from a listener of the worker's snapshot (called by the worker). */
void gh_conn_accept(gh_services *svc, uv_stream_t *server, const gh_listener_conf *lc);
/* Serves an already connected socket as if lc had accepted it (the fuzz harness). */
void gh_conn_adopt(gh_services *svc, uv_os_sock_t fd, const gh_listener_conf *lc);
/* Closes idle connections and marks busy ones to close after their response (drain). */
void gh_conn_drain(gh_conn *c);
/* Closes the connection now, whatever it is doing (drain timeout). */
void gh_conn_close(gh_conn *c);

/* Used by the proxy. */
int gh_conn_send(gh_request *req, const uv_buf_t *bufs, unsigned n);
bool gh_conn_output_full(const gh_request *req);
/* Whether the response head may go as fields (gh_conn_send_fields) rather than HTTP/1.1 bytes:
 * an HTTP/2 stream's, which would only turn those bytes back into fields. */
bool gh_conn_takes_fields(const gh_request *req);
/* The response head as fields; the body follows through gh_conn_send, unframed (`length` bytes
 * for GH_BODY_LENGTH, else until the response is done). 0 or a negative libuv error. */
int gh_conn_send_fields(gh_request *req, int status, const gh_h1_header *fields, size_t n,
                        int body, uint64_t length);
void gh_conn_upstream_ready(gh_request *req);   /* head sent: stream the body now */
void gh_conn_upstream_drained(gh_request *req); /* upstream took queued body bytes */
void gh_conn_response_done(gh_request *req);
/* The upstream failed: refuse (before the response started) or cut the connection. */
void gh_conn_upstream_failed(gh_request *req, gh_reason reason, const char *detail);

/* HTTP/2 (h2.c): stream connections, served like HTTP/1.1 connections without a socket. */
gh_conn *gh_conn_stream_open(gh_conn *parent, struct gh_h2_stream *st);
void gh_conn_stream_input(gh_conn *sc);
void gh_conn_stream_refuse(gh_conn *sc, gh_reason reason, const char *detail);
void gh_conn_stream_drained(gh_conn *sc);
/* After an HTTP/2 connection's session took or sent frames: once the session is over (an error
 * GOAWAY sent, both sides done, the socket failed) its last frames go out and the connection
 * closes; else its timer follows what it waits for. */
void gh_conn_h2_settle(gh_conn *c, bool over);
/* The socket side of a connection (TLS or plain), under HTTP/2's frames. */
bool gh_conn_output_full_raw(const gh_conn *c);
int gh_conn_write_raw(gh_conn *c, const uv_buf_t *bufs, unsigned n);
/* The connection that carries c's bytes (itself, or a stream's parent): its TLS session. */
static inline struct gh_tls_pipe *gh_conn_tls(const gh_conn *c)
{
    return c->parent ? c->parent->tls : c->tls;
}

/* The client certificate of the connection carrying the request (described at first use), or
 * NULL when it has none. */
const struct gh_client_cert *gh_conn_client_cert(gh_conn *c);

/* Used by respond.c. */
void gh_conn_refuse(gh_request *req, gh_reason reason, const char *detail);
/* Reads the request body whole (into req->body; it then goes upstream with a Content-Length)
 * before its stages go on: the stage returns GH_WAIT, and then(req) runs once it is in. */
void gh_conn_collect_body(gh_request *req, void (*then)(gh_request *req));
/* The same for at most max bytes: then(req) runs once the body is in or max bytes of it are
 * (the rest then streams after what was read, body_done false). */
void gh_conn_collect_body_upto(gh_request *req, uint64_t max, void (*then)(gh_request *req));

#endif
