/* The Redis store for rate limits: one connection per worker (hiredis async on the worker's
 * loop), one atomic server-side script per decision (GCRA and quota together), commands
 * pipelined on the connection, each bounded by the store's timeout. A connection that fails or
 * times out is dropped and made again with backoff; while there is none, callers fall back as
 * the configuration says. Transitions are logged once per process and counted. */
#ifndef GH_STORE_REDIS_H
#define GH_STORE_REDIS_H

#include <stdbool.h>
#include <stdatomic.h>
#include <stdint.h>
#include <uv.h>

#include "config/config-t.h"
#include "observe/metrics.h"
#include "store/redis_conn.h"

typedef struct gh_redis_cmd gh_redis_cmd;

/* What a worker gives the store: the loop its connection runs on, where decisions are counted,
 * and the process-wide up/down state from which transitions are logged once. */
typedef struct gh_redis_env {
    uv_loop_t *loop;
    gh_metrics *metrics;
    atomic_int *up;        /* -1 not yet known, 0 down, 1 up */
    struct gh_redis *conn; /* the worker's connection, made at first use */
} gh_redis_env;

/* The outcome of one decision: ok false when the store could not answer (down, timeout, an
 * error reply); then v is untouched. */
typedef void (*gh_redis_done)(void *ctx, bool ok, const gh_limit_verdict *v);

/* Asks the store for one request under limit l with key (16 bytes). done runs exactly once,
 * later (never from inside this call), unless cancelled. NULL: the store is unavailable now
 * (done will not run). */
gh_redis_cmd *gh_redis_take(gh_redis_env *env, const gh_redis_conf *store, const gh_rate_limit_conf *l,
                            const unsigned char key[16], int64_t window, int64_t window_end_s,
                            gh_redis_done done, void *ctx);
/* One command of another kind (the anomaly detectors' shared counts) on the worker's connection,
 * written now, in order with the rest: true when it was written (fn then runs exactly once,
 * later, NULL when the connection ended first); false when the store is unavailable now. No
 * deadline of its own: the caller bounds what it has in flight. */
bool gh_redis_call(gh_redis_env *env, const gh_redis_conf *store, int argc, const char **argv,
                   gh_redis_reply_fn fn, void *ctx);
/* The caller went away: done will not run. */
void gh_redis_cancel(gh_redis_cmd *c);
/* Closes the worker's connection (teardown). */
void gh_redis_worker_stop(gh_redis_env *env);

#endif
