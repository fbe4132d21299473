/* Output to a libuv stream: write now if the socket takes it (no copy), queue the rest in
 * blocks and write them in order. `pending` is what the peer has not taken yet; owners stop
 * reading their source above GH_OUTQ_HIGH and resume when on_drain reports it fell below.
 *
 * A worker's batch can hold output until the end of a loop iteration. When requests cost
 * real CPU (signature checks), writing each answer as it is ready wakes the sleeping peer
 * (client or upstream) once per request, and on a virtual machine each wakeup is an
 * inter-processor interrupt costing tens of microseconds; held and written together at the
 * end of the iteration, they wake each peer once. Plain proxying never holds. */
#ifndef GH_CORE_OUTQ_H
#define GH_CORE_OUTQ_H

#include <stdbool.h>
#include <uv.h>

#include "core/block.h"

#define GH_OUTQ_HIGH (64u * 1024u)
#define GH_OUTQ_MAX_IOV 16

typedef struct gh_outq gh_outq;
typedef void (*gh_outq_cb)(gh_outq *q, int status);

typedef struct gh_outq_batch {
    uv_check_t check;     /* end of an iteration's I/O callbacks: write what is held */
    uv_prepare_t prepare; /* before polling: write what timers and deferred callbacks held */
    gh_outq *held;        /* queues holding output */
    bool hold;            /* writes to idle queues are held in this iteration */
    bool heavy;           /* this iteration did costly work: hold in the next one too */
    bool running;         /* check and prepare started */
} gh_outq_batch;

/* Sets the batch up on loop; gh_outq_batch_close before the loop closes. */
void gh_outq_batch_init(gh_outq_batch *b, uv_loop_t *loop);
void gh_outq_batch_close(gh_outq_batch *b);
/* Costly work was done in this iteration: hold output from now on, and in the next iteration. */
void gh_outq_batch_heavy(gh_outq_batch *b);

struct gh_outq {
    uv_stream_t *stream;
    gh_block_pool *pool;
    gh_block *flight;      /* blocks of the uv_write in progress */
    gh_block *head, *tail; /* blocks waiting for the next write */
    size_t pending;        /* bytes in both lists */
    uv_write_t req;
    bool writing;
    int error;
    gh_outq_cb on_drain; /* called when a queued or held write completes or fails */
    gh_outq_batch *batch; /* NULL: never held */
    bool held;
    gh_outq *held_prev, *held_next;
};

void gh_outq_init(gh_outq *q, uv_stream_t *stream, gh_block_pool *pool, gh_outq_cb on_drain,
                  gh_outq_batch *batch);
/* Writes the buffers in order. Returns 0, or a negative libuv error (the stream is broken). */
int gh_outq_write(gh_outq *q, const uv_buf_t *bufs, unsigned n);
/* Drops whatever is queued or held (before closing the stream). A write in flight is not cancelled:
 * the owner closes the stream and libuv reports it with UV_ECANCELED. */
void gh_outq_reset(gh_outq *q);

#endif
