#include <string.h>

#include "core/outq.h"

void gh_outq_init(gh_outq *q, uv_stream_t *stream, gh_block_pool *pool, gh_outq_cb on_drain,
                  gh_outq_batch *batch)
{
    memset(q, 0, sizeof(*q));
    q->stream = stream;
    q->pool = pool;
    q->on_drain = on_drain;
    q->batch = batch;
    q->req.data = q;
}

static int append(gh_outq *q, const char *p, size_t len)
{
    while (len) {
        gh_block *b = q->tail;
        if (!b || b->len == GH_BLOCK_SIZE) {
            if (!(b = gh_block_get(q->pool)))
                return UV_ENOMEM;
            if (q->tail)
                q->tail->next = b;
            else
                q->head = b;
            q->tail = b;
        }
        size_t n = GH_BLOCK_SIZE - b->len;
        if (n > len)
            n = len;
        memcpy(b->data + b->len, p, n);
        b->len += (uint32_t)n;
        q->pending += n;
        p += n;
        len -= n;
    }
    return 0;
}

static void free_list(gh_outq *q, gh_block *b)
{
    while (b) {
        gh_block *next = b->next;
        q->pending -= b->len - b->off;
        gh_block_put(q->pool, b);
        b = next;
    }
}

static void flush(gh_outq *q);

static void write_cb(uv_write_t *req, int status)
{
    gh_outq *q = req->data;
    q->writing = false;
    free_list(q, q->flight);
    q->flight = NULL;
    if (status < 0) {
        q->error = status;
        gh_outq_reset(q);
    } else {
        flush(q);
    }
    if (q->on_drain)
        q->on_drain(q, status);
}

/* Moves the waiting blocks in flight, in one uv_write of up to GH_OUTQ_MAX_IOV buffers. */
static void flush(gh_outq *q)
{
    if (q->writing || !q->head || q->error)
        return;
    uv_buf_t iov[GH_OUTQ_MAX_IOV];
    unsigned n = 0;
    gh_block *last = NULL;
    for (gh_block *b = q->head; b && n < GH_OUTQ_MAX_IOV; b = b->next) {
        iov[n++] = uv_buf_init(b->data + b->off, b->len - b->off);
        last = b;
    }
    int r = uv_write(&q->req, q->stream, iov, n, write_cb);
    if (r < 0) {
        q->error = r;
        return;
    }
    q->writing = true;
    q->flight = q->head;
    q->head = last->next;
    last->next = NULL;
    if (!q->head)
        q->tail = NULL;
}

int gh_outq_write(gh_outq *q, const uv_buf_t *bufs, unsigned n)
{
    if (q->error)
        return q->error;
    for (unsigned i = 0; i < n; i++) {
        int r = append(q, bufs[i].base, bufs[i].len);
        if (r < 0) {
            q->error = r;
            return r;
        }
    }
    if (!q->batch) {
        flush(q);
        return q->error;
    }
    if (!q->dirty && q->head) {
        q->dirty = true;
        q->next_dirty = q->batch->dirty;
        q->batch->dirty = q;
    }
    return 0;
}

/* Writes what the socket takes right now, without a write request; returns the bytes
 * written, or a negative error. */
static long try_now(gh_outq *q)
{
    uv_buf_t iov[GH_OUTQ_MAX_IOV];
    unsigned n = 0;
    for (gh_block *b = q->head; b && n < GH_OUTQ_MAX_IOV; b = b->next)
        iov[n++] = uv_buf_init(b->data + b->off, b->len - b->off);
    int w = uv_try_write(q->stream, iov, n);
    if (w == UV_EAGAIN)
        return 0;
    if (w < 0)
        return w;
    size_t done = (size_t)w;
    q->pending -= done;
    while (q->head && done >= q->head->len - q->head->off) {
        gh_block *b = q->head;
        done -= b->len - b->off;
        q->head = b->next;
        gh_block_put(q->pool, b);
    }
    if (!q->head)
        q->tail = NULL;
    else
        q->head->off += (uint32_t)done;
    return w;
}

static gh_outq *flush_one(gh_outq *q);

void gh_outq_batch_flush(gh_outq_batch *b)
{
    /* Owners told that their output left may produce more (a request body resumes): repeat
     * until nothing is waiting, so no output waits through a blocking poll. */
    gh_outq *q;
    while ((q = b->dirty)) {
        b->dirty = NULL;
        for (; q; q = flush_one(q))
            ;
    }
}

/* Flushes q; returns the next queue of the list it was on. */
static gh_outq *flush_one(gh_outq *q)
{
    gh_outq *next = q->next_dirty;
    q->dirty = false;
    q->next_dirty = NULL;
    if (uv_is_closing((uv_handle_t *)q->stream) || q->writing || q->error)
        return next;
    long w = try_now(q);
    if (w < 0) {
        q->error = (int)w;
        gh_outq_reset(q);
        if (q->on_drain)
            q->on_drain(q, (int)w);
    } else if (q->head) {
        flush(q); /* the rest goes out as the socket drains */
    } else if (q->on_drain) {
        q->on_drain(q, 0); /* all out: owners may resume or close now */
    }
    return next;
}

void gh_outq_reset(gh_outq *q)
{
    free_list(q, q->head);
    q->head = q->tail = NULL;
}
