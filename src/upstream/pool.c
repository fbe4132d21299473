/* Per-worker keep-alive pools keyed by endpoint (upstream, URL and address). They outlive configuration
 * snapshots, so a reload does not drop warm connections; a pool that no request has asked for
 * in a while and that has no connection left goes (its endpoint left the configuration). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "upstream/proxy.h"
#include "upstream/upconn.h"

int gh_proxy_worker_init(gh_services *svc)
{
    svc->proxy = &gh_proxy_action;
    svc->pools = calloc(1, sizeof(*svc->pools));
    return svc->pools ? 0 : -ENOMEM;
}

gh_pool *gh__pool_get(gh_services *svc, const char *key)
{
    gh_pools *all = svc->pools;
    if (!all)
        return NULL; /* the worker's pools are closed: it is going away */
    for (gh_pool *p = all->first; p; p = p->next)
        if (strcmp(p->key, key) == 0) {
            p->unused_sweeps = 0;
            return p;
        }
    size_t len = strlen(key);
    gh_pool *p = calloc(1, sizeof(*p) + len + 1);
    if (!p)
        return NULL;
    memcpy(p->key, key, len + 1);
    p->next = all->first;
    all->first = p;
    return p;
}

static void unlink_idle(gh_upconn *up)
{
    gh_pool *p = up->pool;
    gh_list_unlink(&p->idle, &up->idle_link);
    p->nidle--;
}

static void free_pool(gh_pool *p)
{
    gh__pool_forget_session(p);
    free(p);
}

static void free_upconn(uv_handle_t *h)
{
    gh_upconn *up = h->data;
    if (++up->closed_handles != 2)
        return;
    gh_pool *p = up->pool;
    free(up);
    if (--p->conns == 0 && p->closed)
        free_pool(p);
}

void gh__upconn_close(gh_upconn *up)
{
    if (up->closing)
        return;
    up->closing = true;
    if (up->state == GH_UP_IDLE)
        unlink_idle(up);
    if (up->req && up->req->up == up)
        up->req->up = NULL;
    up->req = NULL;
    gh_outq_reset(&up->out);
    gh__up_tls_free(up);
    gh_block_put(&up->svc->blocks, up->in);
    up->in = NULL;
    uv_close((uv_handle_t *)&up->timer.timer, free_upconn);
    uv_close((uv_handle_t *)&up->tcp, free_upconn);
}

gh_upconn *gh__upconn_new(gh_services *svc, gh_pool *pool)
{
    gh_upconn *up = calloc(1, sizeof(*up));
    if (!up)
        return NULL;
    up->svc = svc;
    up->pool = pool;
    pool->conns++;
    uv_tcp_init(svc->loop, &up->tcp);
    gh_deadline_init(svc->loop, &up->timer, gh__upconn_timeout, up);
    up->tcp.data = up->creq.data = up;
    up->state = GH_UP_CONNECTING;
    return up;
}

gh_upconn *gh__pool_take(gh_pool *p)
{
    gh_upconn *up = GH_LIST_FIRST(&p->idle, gh_upconn, idle_link);
    if (!up)
        return NULL;
    unlink_idle(up);
    up->state = GH_UP_ACTIVE;
    up->reused = true;
    return up;
}

void gh__pool_put(gh_upconn *up, uint32_t max_idle, uint64_t idle_timeout_ms)
{
    gh_pool *p = up->pool;
    if (up->svc->draining || p->nidle >= max_idle || up->out.pending || up->closing) {
        gh__upconn_close(up);
        return;
    }
    up->req = NULL;
    up->state = GH_UP_IDLE;
    gh_block_put(&up->svc->blocks, up->in);
    up->in = NULL;
    gh_list_push(&p->idle, &up->idle_link);
    p->nidle++;
    /* Keep reading while idle (no epoll change per request): a close or stray bytes from the
     * upstream retire the connection at once. */
    if (!up->reading)
        up->reading =
            uv_read_start((uv_stream_t *)&up->tcp, gh__upconn_alloc, gh__upconn_read) == 0;
    /* Expiry is checked by gh_pools_sweep, not by a timer per connection: parking and reusing
     * a connection then costs no timer operation on the request path. */
    up->idle_deadline_us = gh_now_us() + idle_timeout_ms * 1000;
}

/* Sweeps (one a second) after which a pool nobody asked for and with no connection goes. */
#define GH_POOL_UNUSED_SWEEPS 60

void gh_pools_sweep(gh_services *svc)
{
    if (!svc->pools)
        return;
    uint64_t now = gh_now_us();
    gh_pool **at = &svc->pools->first;
    while (*at) {
        gh_pool *p = *at;
        gh_upconn *up = GH_LIST_FIRST(&p->idle, gh_upconn, idle_link);
        while (up) {
            gh_upconn *next = GH_LIST_NEXT(up, gh_upconn, idle_link);
            if (now >= up->idle_deadline_us)
                gh__upconn_close(up);
            up = next;
        }
        if (++p->unused_sweeps < GH_POOL_UNUSED_SWEEPS || p->conns > 0) {
            at = &p->next;
            continue;
        }
        *at = p->next;
        free_pool(p);
    }
}

void gh_pools_close(gh_services *svc)
{
    if (!svc->pools)
        return; /* closed already: drain and teardown both close */
    gh_pool *p = svc->pools->first;
    while (p) {
        while (!gh_list_empty(&p->idle))
            gh__upconn_close(GH_CONTAINER(p->idle.first, gh_upconn, idle_link));
        gh_pool *next = p->next;
        /* Connections still closing point at it: the last to go frees it. */
        if (p->conns == 0)
            free_pool(p);
        else
            p->closed = true;
        p = next;
    }
    free(svc->pools);
    svc->pools = NULL;
}
