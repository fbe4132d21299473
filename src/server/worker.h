/* A worker: one thread, one libuv loop, its own SO_REUSEPORT listening sockets, connections,
 * upstream keep-alive pools, metrics and log ring. Nothing it owns is touched by another thread
 * except through uv_async (config swap, drain) and the single-writer metrics. */
#ifndef GH_SERVER_WORKER_H
#define GH_SERVER_WORKER_H

#include <stdbool.h>
#include <stdint.h>
#include <openssl/evp.h>
#include <uv.h>

#include "core/arena.h"
#include "core/block.h"
#include "core/clock.h"
#include "core/outq.h"
#include "core/tls.h"
#include "wire/h1.h"
#include "identity/jws.h"
#include "observe/log.h"
#include "observe/metrics.h"
#include "server/runtime.h"

typedef struct gh_conn gh_conn;
typedef struct gh_pool gh_pool;

typedef struct gh_listener {
    uv_tcp_t tcp;
    gh_worker *w;
    struct gh_listener *next;
    size_t index; /* in the worker's snapshot's listeners */
    char address[64];
    bool keep; /* used while reconciling with a new snapshot */
} gh_listener;

/* A configuration snapshot as one worker uses it. Requests count themselves here, on the worker,
 * instead of on the shared snapshot's atomic refcount: no cache line is shared between workers
 * on the request path. The worker holds the snapshot's one reference until its last request
 * ends. */
typedef struct gh_worker_snapshot {
    gh_config *config;
    size_t requests;
    struct gh_worker_snapshot *next; /* retired snapshots still in use */
} gh_worker_snapshot;

struct gh_worker {
    int id;
    gh_runtime *rt;
    uv_loop_t loop;
    uv_thread_t thread;
    uv_async_t wakeup; /* config changed or drain requested */
    uv_timer_t drain_timer;
    uv_timer_t sweep_timer; /* expires idle pooled upstream connections */
    uv_sem_t ready;         /* posted once the listeners are open (or failed) */
    uint64_t drain_deadline_us;
    gh_config *config; /* the snapshot new requests start on (= snap->config) */
    gh_worker_snapshot *snap;
    gh_worker_snapshot *retired;
    gh_listener *listeners;
    gh_conn *conns; /* every open downstream connection */
    size_t nconns;
    gh_pool *pools; /* upstream keep-alive pools, by endpoint authority */
    gh_block_pool blocks;
    gh_outq_batch batch; /* output held to the end of an iteration while requests are costly */
    gh_tls_io tls_io;    /* TLS listeners' connections: staged records, ciphertext reads */
    uv_check_t h2_check;     /* HTTP/2 sessions with frames to send: sent at the iteration's end */
    uv_prepare_t h2_prepare; /* ...and before the loop waits, for what timers queued */
    struct gh_h2 *h2_queued;
    gh_arena_spares arena_spares; /* request arenas' chunks */
    EVP_MD *sha256;                /* fetched once: token cache keys */
    EVP_MD_CTX *md_ctx;
    gh_jws_verifier verifier;      /* kept signature contexts, cleared when keys may go */
    struct gh_key_wait *key_waits; /* requests waiting for keys being fetched */
    struct gh_redis *redis;        /* the rate-limit store's connection, made at first use */
    struct gh_http_client *http;   /* calls of stages: token introspection, external policy */
    struct gh_pending_call *pending_calls; /* HTTP calls of stages, with their waiting requests */
    int64_t introspection_event_at; /* second of the last introspection failure event */
    int64_t tls_event_at;           /* second of the last failed-handshake event */
    int64_t h2_event_at;            /* second of the last HTTP/2 flood or protocol error event */
    uv_timer_t key_wait_timer;     /* runs while key_waits is not empty: deadlines */
    gh_metrics metrics;
    gh_log_ring *log;
    gh_id_gen ids;                  /* request ids */
    gh_h1_header hdr_scratch[1000]; /* parse target for request heads (limits.max_headers) */
    bool log_enabled;               /* access_log is not "off" */
    bool draining;
    bool started;
    int start_error;
};

/* Creates the loop and starts the thread; listeners are opened on the worker thread and the
 * result reported in start_error once `started` is set (see gh_workers_start). */
int gh_workers_start(gh_runtime *rt);
/* Sets a worker up on rt's current snapshot without a thread or listeners: its loop is run by
 * the caller (the fuzz harness). 0 or a negative errno. */
int gh_worker_embed(gh_runtime *rt, gh_worker *w);
/* Asks every worker to pick up the runtime's current snapshot. */
void gh_workers_notify(gh_runtime *rt);
/* Asks every worker to stop accepting and finish in-flight requests, then joins them. */
void gh_workers_drain_and_join(gh_runtime *rt);

/* A socket bound to addr, listening when backlog > 0 (a trial bind does not listen: a socket
 * that listens takes connections, and closing it resets them). shared: with SO_REUSEPORT, for
 * the workers' sockets of one address; without, the bind fails while anything listens there,
 * another gateway's SO_REUSEPORT group included. */
int gh_listen_socket(const gh_sockaddr *addr, int backlog, bool shared);

/* The snapshot a new request starts on, counted; give it back with gh_worker_snapshot_put. */
gh_worker_snapshot *gh_worker_snapshot_get(gh_worker *w);
void gh_worker_snapshot_put(gh_worker *w, gh_worker_snapshot *s);


#endif
