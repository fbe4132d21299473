/* Internal to src/upstream: an upstream connection and the per-worker keep-alive pools. */
#ifndef GH_UPSTREAM_UPCONN_H
#define GH_UPSTREAM_UPCONN_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "core/deadline.h"
#include "core/list.h"
#include "core/outq.h"
#include "gate/exchange.h"

#define GH_UP_MAX_HEADERS 128

typedef enum { GH_UP_CONNECTING, GH_UP_ACTIVE, GH_UP_IDLE } gh_upconn_state;

typedef struct gh_pool gh_pool;
struct gh_pool {
    struct gh_pool *next;
    gh_list idle; /* gh_upconn.idle_link, most recently used first */
    size_t nidle;
    SSL_SESSION *session; /* https:// endpoints: the last session, to resume */
    SSL_CTX *session_ctx; /* the context it was verified under (held): only that one resumes it */
    size_t conns;          /* connections that point at it, open or closing */
    /* Sweeps since a request last asked for it: an endpoint gone from the configuration
     * (a reload, a name's address that DNS no longer gives) leaves no pool behind. */
    unsigned unused_sweeps;
    bool closed; /* the worker's pools are closed: the last connection frees it */
    char key[]; /* the endpoint's pool_key: its upstream, URL, address and TLS settings */
};

/* A worker's pools (svc->pools), most recently made first. */
typedef struct gh_pools {
    gh_pool *first;
} gh_pools;

struct gh_upconn {
    uv_tcp_t tcp;
    uv_connect_t creq;
    gh_deadline timer; /* connect, then response timeout */
    gh_services *svc;
    gh_pool *pool;
    gh_link idle_link;
    gh_request *req;
    gh_block *in;
    gh_outq out;
    struct gh_tls_pipe *tls; /* https:// endpoints */
    gh_h1_header *hdrs;
    gh_h1_response resp;
    gh_chunked chunked;
    uint64_t left;
    struct gh_ws_tunnel *ws; /* a WebSocket session (ws_tunnel.c), in the request's arena */
    char *head; /* client response head not yet sent (in the request arena) */
    size_t head_len;
    uint8_t state;
    uint8_t closed_handles;
    bool closing, reading, reused, got_bytes, head_done, chunk_out, retried;
    uint64_t idle_deadline_us; /* while pooled */
    char idle_sink[16];        /* reads while idle land here; any byte retires the connection */
};

gh_pool *gh__pool_get(gh_services *svc, const char *key);
/* A pooled connection, or NULL. */
gh_upconn *gh__pool_take(gh_pool *p);
/* Parks a connection for reuse (or closes it when the pool is full). */
void gh__pool_put(gh_upconn *up, uint32_t max_idle, uint64_t idle_timeout_ms);
void gh__upconn_close(gh_upconn *up);
gh_upconn *gh__upconn_new(gh_services *svc, gh_pool *pool);
/* TLS on upstream connections (up_tls.c). */
void gh__pool_forget_session(gh_pool *pool);
int gh__up_tls_start(gh_upconn *up, char *why, size_t whylen); /* after connect: ClientHello */
void gh__up_tls_free(gh_upconn *up);
/* Ciphertext in: 1 established, 0 handshake going on, -1 failed (why). */
int gh__up_tls_feed(gh_upconn *up, const char *data, size_t len, char *why, size_t whylen);
/* Decrypted bytes into up->in: as gh_tls_pipe_read_into. */
int gh__up_tls_fill(gh_upconn *up, size_t *got);
/* Bytes on an idle pooled connection: whether it may stay in the pool. */
bool gh__up_tls_idle_input(gh_upconn *up, const char *data, size_t len);
/* Every byte for the upstream goes through here (sealed on https:// endpoints). */
int gh__up_write(gh_upconn *up, const uv_buf_t *bufs, unsigned n);

/* Tries (attempt.c). The endpoint for req's next try at now_us, marked tried (NULL: none in
 * rotation and no panic); the outcome of a try for outlier detection (a gateway failure, or not);
 * whether status from the endpoint is a failure; whether the request may be sent as it was
 * again; whether a try that failed for cause (GH_RETRY_*) is made again (taken from the retry
 * budget, and counted). */
const gh_endpoint_conf *gh__pick_endpoint(gh_request *req, uint64_t now_us);
void gh__endpoint_outcome(gh_request *req, bool failed);
bool gh__status_is_failure(const gh_upstream_conf *u, int status);
bool gh__replayable(const gh_request *req);
bool gh__may_retry(gh_request *req, unsigned cause);

/* The heads (heads.c): the upstream request head in the request's arena (NULL when it does not
 * fit), and the client's response fields from the upstream's response (SIZE_MAX when more
 * than max). */
char *gh__request_head(gh_request *req, size_t *len);
size_t gh__response_fields(const gh_request *req, const gh_h1_response *r, gh_h1_header *out,
                           size_t max);
/* WebSocket sessions (ws_tunnel.c). gh__ws_start: the upstream's 101 (up->resp) is checked and
 * answered to the client, and the session opens; NULL, or why it cannot (*upstream_fault: the
 * upstream's handshake was wrong, rather than the client gone). gh__ws_from_upstream:
 * frames in up->in to the client; false when the session ended. gh__ws_upstream_ended: the
 * upstream closed or failed. gh__ws_idle: the idle timer fired. gh__ws_tunnel_in and
 * gh__ws_going_away: the action ops. */
const char *gh__ws_start(gh_upconn *up, bool *upstream_fault);
bool gh__ws_from_upstream(gh_upconn *up);
/* The last step of an upstream read on a session (nothing may touch up or its request after):
 * the client's input is offered once after the 101. */
void gh__ws_settled(gh_upconn *up);
void gh__ws_upstream_ended(gh_upconn *up);
void gh__ws_idle(gh_upconn *up);
size_t gh__ws_tunnel_in(gh_request *req, const char *data, size_t len);
void gh__ws_going_away(gh_request *req);
/* The try (proxy.c), as the response side uses it. gh__up_fail: the try failed (counted
 * against the endpoint unless the failure is the gateway's own, tried again where it may be,
 * else the request fails). gh__up_detach: the request leaves the connection, to the pool when
 * reusable, else closed. gh__up_record: the try's result in the upstream's metrics.
 * gh__release_upstream_slot: the upstream's concurrency slot goes back (a WebSocket session
 * keeps only its endpoint's in-flight count). gh__retry_now: up closed, the request goes again
 * on the next endpoint, or the same one over a new connection; it fails there when no try can
 * be started. */
typedef enum { GH_TRY_NEXT_ENDPOINT, GH_TRY_SAME_ENDPOINT } gh_retry_target;
void gh__up_fail(gh_upconn *up, gh_reason reason, gh_upstream_result result, const char *detail);
void gh__up_detach(gh_upconn *up, bool reusable);
void gh__up_record(gh_request *req, gh_upstream_result result);
void gh__release_upstream_slot(gh_request *req);
void gh__retry_now(gh_upconn *up, gh_retry_target target);
/* The response (proxy_response.c). gh__parse_head: the response head in up->in (1xx interim
 * responses consumed, a 101 opens a session); false when the request ended (finished, failed,
 * or gone to another try). gh__pump_response: body bytes in up->in to the client; false when
 * the request ended. gh__response_finished: the response is complete (extra_bytes: the
 * upstream sent more than it, so the connection is not reused). gh__flush_response_head: the
 * client's head, held back for the first body bytes, goes out now; non-zero when the client
 * is gone. */
bool gh__parse_head(gh_upconn *up);
bool gh__pump_response(gh_upconn *up);
void gh__response_finished(gh_upconn *up, bool extra_bytes);
int gh__flush_response_head(gh_upconn *up);
/* The read callbacks of every upstream connection, attached or idle. */
void gh__upconn_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf);
void gh__upconn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
void gh__upconn_timeout(uv_timer_t *t);

#endif
