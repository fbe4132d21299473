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
#include "gate/exchange.h"
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
    GH_CS_H2,     /* speaking HTTP/2: each stream is a downstream of its own (h2_stream.c) */
    GH_CS_TUNNEL, /* a WebSocket session: bytes go as they came to the request's action */
} gh_conn_state;



struct gh_conn {
    uv_tcp_t tcp;
    gh_deadline timer;
    gh_services *svc;
    gh_link link; /* in svc->conns->list */
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
    struct gh_h2 *h2;                 /* HTTP/2 on this connection */
    uint64_t h2_progress;             /* gh_h2_progress when its timer was last set */
    uint8_t peer_family;
    uint16_t peer_port;
    unsigned char peer_addr[16];
};

/* A worker's downstream connections and what their HTTP/2 sessions share (svc->conns). */
typedef struct gh_conns {
    gh_services *svc;
    gh_list list; /* every open downstream connection (gh_conn.link) */
    size_t n;
    uv_check_t h2_check;     /* HTTP/2 sessions with frames to send: sent at the iteration's end */
    uv_prepare_t h2_prepare; /* ...and before the loop waits, for what timers queued */
    gh_list h2_queued;       /* gh_h2.queued_link */
    int64_t tls_event_at;    /* second of the last failed-handshake event */
    int64_t h2_event_at;     /* second of the last HTTP/2 flood or protocol error event */
    gh_h1_header hdr_scratch[1000]; /* parse target for request heads (limits.max_headers) */
} gh_conns;

/* Makes svc->conns (the worker, or a harness without one). 0 or -ENOMEM. */
int gh_conns_worker_init(gh_services *svc);
/* Closes its loop handles; it is freed once they closed (the loop runs on). */
void gh_conns_worker_close(gh_services *svc);
/* How many downstream connections are open. */
size_t gh_conns_count(const gh_services *svc);

/* Accepts a connection from a listener of the worker's snapshot (called by the worker). */
void gh_conn_accept(gh_services *svc, uv_stream_t *server, const gh_listener_conf *lc);
/* Serves an already connected socket as if lc had accepted it (the fuzz harness). */
void gh_conn_adopt(gh_services *svc, uv_os_sock_t fd, const gh_listener_conf *lc);
/* Closes idle connections and marks busy ones to close after their response (drain). */
void gh_conn_drain(gh_conn *c);
/* Closes the connection now, whatever it is doing (drain timeout). */
void gh_conn_close(gh_conn *c);
/* Every connection of svc: drained (gh_conn_drain), or closed now (gh_conn_close). */
void gh_conns_drain(gh_services *svc);
void gh_conns_close(gh_services *svc);

/* What the HTTP/1.1 connection does for its requests. */
extern const gh_downstream_ops gh_conn_downstream;
/* What the connection says about a request arriving on it (h2: on one of its HTTP/2 streams). */
gh_peer gh_conn_peer(const gh_conn *c, bool h2);

/* After an HTTP/2 connection's session took or sent frames: once the session is over (an error
 * GOAWAY sent, both sides done, the socket failed) its last frames go out and the connection
 * closes; else its timer follows what it waits for. */
void gh_conn_h2_settle(gh_conn *c, bool over);
/* The socket side of a connection (TLS or plain), under HTTP/2's frames. */
bool gh_conn_output_full_raw(const gh_conn *c);
int gh_conn_write_raw(gh_conn *c, const uv_buf_t *bufs, unsigned n);
/* The client certificate of the connection carrying the request (described at first use), or
 * NULL when it has none. */
const struct gh_client_cert *gh_conn_client_cert(gh_conn *c);

#endif
