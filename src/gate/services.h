/* What a worker lends everything that runs on it: the loop, metrics, memory pools, the output
 * batch, TLS scratch, request ids, the configuration snapshots, the Redis connection, the HTTP
 * client, the action tables and the log ring. Built by the worker (server/worker.c), borrowed by
 * connections, the proxy and the stages through req->svc: nothing below the server reaches the
 * worker itself.
 *
 * What one module above the gate keeps per worker is that module's own type, and the services
 * only hold it: as an opaque pointer that the module makes and frees through functions the
 * worker calls (the gate cannot name types of the floors above it), or embedded when its type
 * lives on a floor the gate may include. See docs/architecture.md, "Services". */
#ifndef GH_GATE_SERVICES_H
#define GH_GATE_SERVICES_H

#include <stdbool.h>
#include <stdint.h>
#include <openssl/evp.h>
#include <uv.h>

#include "core/arena.h"
#include "core/block.h"
#include "core/clock.h"
#include "core/list.h"
#include "core/outq.h"
#include "core/tls.h"
#include "gate/snapshot.h"
#include "identity/jws.h"
#include "observe/http_sink.h"
#include "observe/log.h"
#include "observe/security_events.h"
#include "observe/metrics.h"
#include "store/redis.h"
#include "wire/h1.h"

struct gh_shared;
struct gh_conns;
struct gh_pools;
struct gh_key_waits;
struct gh_pending_calls;

/* What the stages share on a worker, made once so that no request pays for it. The gate owns
 * it: the pipeline clears the verifier when a snapshot whose keys it may hold retires. */
typedef struct gh_stage_tools {
    EVP_MD *sha256; /* fetched once: token cache keys, rate-limit keys */
    EVP_MD_CTX *md_ctx;
    gh_jws_verifier verifier; /* kept signature contexts, cleared when keys may go */
} gh_stage_tools;

typedef struct gh_services {
    int worker_id; /* which worker: logged with every request */
    uv_loop_t *loop;
    struct gh_shared *shared; /* state kept across reloads (configuration registries) */
    gh_snapshots snapshots;   /* the configuration new requests start on, and those in use */
    gh_metrics metrics;
    gh_log_ring *log;
    bool log_enabled; /* access_log is not "off" */
    gh_sec_stream *sec; /* the security stream's producer side (the worker's); NULL: none */
    gh_http_sink *spans; /* the span exporter (gate/span.c puts on ring worker_id); NULL: none */
    bool draining;
    gh_block_pool blocks;
    gh_arena_spares arena_spares; /* request arenas' chunks */
    gh_outq_batch batch; /* output held to the end of an iteration while requests are costly */
    gh_tls_io tls_io;    /* TLS connections: staged records, ciphertext reads */
    gh_id_gen ids;       /* request ids */
    gh_http_date date;   /* the Date of responses */
    /* downstream connections and their HTTP/2 sessions (http/conn.h): made by
     * gh_conns_worker_init, freed once gh_conns_worker_close's handles closed */
    struct gh_conns *conns;
    /* upstream keep-alive pools, by endpoint authority (upstream/) */
    struct gh_pools *pools; /* made by gh_proxy_worker_init, freed by gh_pools_close */
    /* the stages' own per-worker state, each made and freed by its module (stages/) */
    struct gh_key_waits *key_waits; /* key_wait.c: requests waiting for keys being fetched */
    struct gh_pending_calls *calls; /* pending_call.c: HTTP calls of stages, their waiters */
    /* what the stages share, made by the gate: token hashing, the signature verifier */
    gh_stage_tools stage_tools;
    /* what the stages call out to */
    gh_redis_env redis;          /* the rate-limit store's connection, made at first use */
    struct gh_http_client *http; /* token introspection, external policy */
    /* the action tables */
    const struct gh_action_ops *proxy;
} gh_services;

/* Sets up what the gate itself lends (snapshots starting on cfg, one reference handed over;
 * pools, ids, metrics, the stages' tools, the output batch, TLS scratch, the HTTP client) on
 * loop. shared may be NULL (nothing is kept across reloads). 0 or -ENOMEM. The modules above
 * add their own parts (HTTP/2 hooks, the proxy and its pools, the waits for keys and calls). */
int gh_services_init(gh_services *svc, int worker_id, uv_loop_t *loop, struct gh_shared *shared,
                     gh_config *cfg);
/* Closes the loop handles gh_services_init opened; the loop then runs until they are closed. */
void gh_services_close(gh_services *svc);
/* Frees the rest, once the loop has ended. */
void gh_services_free(gh_services *svc);

#endif
