/* Output to a libuv stream, coalesced per loop iteration: writes are copied into blocks and the
 * queues written during an iteration are flushed together once its I/O callbacks are done
 * (gh_outq_batch_flush, from the worker's check phase). A burst of responses then reaches each
 * peer in one go, which wakes a sleeping peer once instead of once per write. `pending` is what
 * the peer has not taken yet; owners stop reading their source above GH_OUTQ_HIGH and resume when
 * on_drain reports it fell below. */
#ifndef GH_CORE_OUTQ_H
#define GH_CORE_OUTQ_H

#include <stdbool.h>
#include <uv.h>

#include "core/block.h"

#define GH_OUTQ_HIGH (64u * 1024u)
#define GH_OUTQ_MAX_IOV 16

typedef struct gh_outq gh_outq;
typedef void (*gh_outq_cb)(gh_outq *q, int status);

/* The queues with output waiting for the end of the iteration (owned by a worker). */
typedef struct gh_outq_batch {
    gh_outq *dirty;
} gh_outq_batch;

struct gh_outq {
    uv_stream_t *stream;
    gh_block_pool *pool;
    gh_block *flight;      /* blocks of the uv_write in progress */
    gh_block *head, *tail; /* blocks waiting for the next write */
    size_t pending;        /* bytes in both lists */
    uv_write_t req;
    bool writing;
    int error;
    gh_outq_cb on_drain; /* called when a queued write completes or fails */
    gh_outq_batch *batch;
    gh_outq *next_dirty;
    bool dirty;
};

void gh_outq_init(gh_outq *q, uv_stream_t *stream, gh_block_pool *pool, gh_outq_cb on_drain,
                  gh_outq_batch *batch);
/* Queues the buffers (copied) in order. Returns 0, or a negative libuv error when the stream is
 * already broken or memory ran out; later failures arrive through on_drain. */
int gh_outq_write(gh_outq *q, const uv_buf_t *bufs, unsigned n);
/* Writes every queue that received output since the last call, until none is left. Called
 * before the loop polls and after its I/O callbacks. Queues of streams being closed are skipped:
 * their owners free them only in the loop's closing phase, which comes after both. */
void gh_outq_batch_flush(gh_outq_batch *b);
/* Drops whatever is queued (before closing the stream). A write in flight is not cancelled:
 * the owner closes the stream and libuv reports it with UV_ECANCELED. */
void gh_outq_reset(gh_outq *q);

#endif
