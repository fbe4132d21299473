/* Output to a libuv stream: write now if the socket takes it (no copy), queue the rest in
 * blocks and write them in order. `pending` is what the peer has not taken yet; owners stop
 * reading their source above GH_OUTQ_HIGH and resume when on_drain reports it fell below. */
#ifndef GH_CORE_OUTQ_H
#define GH_CORE_OUTQ_H

#include <stdbool.h>
#include <uv.h>

#include "core/block.h"

#define GH_OUTQ_HIGH (64u * 1024u)
#define GH_OUTQ_MAX_IOV 16

typedef struct gh_outq gh_outq;
typedef void (*gh_outq_cb)(gh_outq *q, int status);

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
};

void gh_outq_init(gh_outq *q, uv_stream_t *stream, gh_block_pool *pool, gh_outq_cb on_drain);
/* Writes the buffers in order. Returns 0, or a negative libuv error (the stream is broken). */
int gh_outq_write(gh_outq *q, const uv_buf_t *bufs, unsigned n);
/* Drops whatever is queued (before closing the stream). A write in flight is not cancelled:
 * the owner closes the stream and libuv reports it with UV_ECANCELED. */
void gh_outq_reset(gh_outq *q);

#endif
