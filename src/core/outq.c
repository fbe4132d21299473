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
    if (q->writing || !q->head || q->error || q->held)
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

static void unhold(gh_outq *q)
{
    gh_outq_batch *b = q->batch;
    if (q->held_prev)
        q->held_prev->held_next = q->held_next;
    else
        b->held = q->held_next;
    if (q->held_next)
        q->held_next->held_prev = q->held_prev;
    q->held_prev = q->held_next = NULL;
    q->held = false;
}

int gh_outq_write(gh_outq *q, const uv_buf_t *bufs, unsigned n)
{
    if (q->error)
        return q->error;
    unsigned i = 0;
    size_t skip = 0;
    bool hold = q->batch && q->batch->hold && !q->writing && !q->head;
    if (hold) {
        q->held = true;
        q->held_next = q->batch->held;
        if (q->held_next)
            q->held_next->held_prev = q;
        q->batch->held = q;
    } else if (!q->writing && !q->head) {
        int w = uv_try_write(q->stream, bufs, n);
        if (w < 0 && w != UV_EAGAIN) {
            q->error = w;
            return w;
        }
        size_t done = w > 0 ? (size_t)w : 0;
        while (i < n && done >= bufs[i].len) {
            done -= bufs[i].len;
            i++;
        }
        skip = done;
    }
    for (; i < n; i++, skip = 0) {
        int r = append(q, bufs[i].base + skip, bufs[i].len - skip);
        if (r < 0) {
            q->error = r;
            return r;
        }
    }
    flush(q);
    return q->error;
}

void gh_outq_reset(gh_outq *q)
{
    if (q->held)
        unhold(q);
    free_list(q, q->head);
    q->head = q->tail = NULL;
}

/* Writes a held queue now: what the socket takes at once, the rest through uv_write; the owner
 * hears of it through on_drain as if a queued write had completed. */
static void release(gh_outq *q)
{
    unhold(q);
    uv_buf_t iov[GH_OUTQ_MAX_IOV];
    unsigned n = 0;
    for (gh_block *b = q->head; b && n < GH_OUTQ_MAX_IOV; b = b->next)
        iov[n++] = uv_buf_init(b->data + b->off, b->len - b->off);
    int w = n ? uv_try_write(q->stream, iov, n) : 0;
    if (w < 0 && w != UV_EAGAIN) {
        q->error = w;
        gh_outq_reset(q);
    }
    for (size_t done = w > 0 ? (size_t)w : 0; done && q->head;) {
        gh_block *b = q->head;
        size_t left = b->len - b->off, take = done < left ? done : left;
        b->off += (uint32_t)take;
        q->pending -= take;
        done -= take;
        if (b->off == b->len) {
            q->head = b->next;
            if (!q->head)
                q->tail = NULL;
            gh_block_put(q->pool, b);
        }
    }
    flush(q);
    if (q->on_drain)
        q->on_drain(q, q->error);
}

static void release_all(gh_outq_batch *b)
{
    /* on_drain may close other held queues (they unlink themselves): always take the head. */
    while (b->held)
        release(b->held);
}

static void on_check(uv_check_t *h)
{
    gh_outq_batch *b = h->data;
    release_all(b);
    b->hold = b->heavy;
    b->heavy = false;
    if (!b->hold && b->running) {
        b->running = false;
        uv_check_stop(&b->check);
        uv_prepare_stop(&b->prepare);
    }
}

static void on_prepare(uv_prepare_t *h)
{
    release_all(h->data);
}

void gh_outq_batch_init(gh_outq_batch *b, uv_loop_t *loop)
{
    memset(b, 0, sizeof(*b));
    uv_check_init(loop, &b->check);
    uv_prepare_init(loop, &b->prepare);
    b->check.data = b->prepare.data = b;
}

void gh_outq_batch_heavy(gh_outq_batch *b)
{
    b->heavy = b->hold = true;
    if (!b->running) {
        b->running = true;
        uv_check_start(&b->check, on_check);
        uv_prepare_start(&b->prepare, on_prepare);
    }
}

void gh_outq_batch_close(gh_outq_batch *b)
{
    release_all(b);
    uv_close((uv_handle_t *)&b->check, NULL);
    uv_close((uv_handle_t *)&b->prepare, NULL);
}
