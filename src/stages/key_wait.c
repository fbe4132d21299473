#include <errno.h>
#include <stdlib.h>

#include "core/clock.h"
#include "gate/span.h"
#include "stages/key_wait.h"
#include "gate/exchange.h"

/* A wait lasts at most the fetch timeout and this much more: a fetch that hangs in a way curl
 * does not see cannot hold a request for ever. */
#define GH_KEY_WAIT_SLACK_US 1000000
#define GH_KEY_WAIT_TICK_MS 100

int gh_key_waits_init(gh_services *svc)
{
    gh_key_waits *kw = calloc(1, sizeof(*kw));
    if (!kw)
        return -ENOMEM;
    uv_timer_init(svc->loop, &kw->timer);
    kw->timer.data = svc;
    svc->key_waits = kw;
    return 0;
}

static void free_waits(uv_handle_t *h)
{
    free(GH_CONTAINER(h, gh_key_waits, timer));
}

void gh_key_waits_close(gh_services *svc)
{
    if (!svc->key_waits)
        return; /* closed already: drain and teardown both close */
    uv_close((uv_handle_t *)&svc->key_waits->timer, free_waits);
    svc->key_waits = NULL;
}

static void unlink_wait(gh_services *svc, gh_key_wait *k)
{
    gh_key_waits *kw = svc->key_waits;
    gh_list_unlink(&kw->list, &k->link);
    if (gh_list_empty(&kw->list))
        uv_timer_stop(&kw->timer);
}

void gh_key_wait_cancel(gh_services *svc, gh_key_wait *k)
{
    if (k) {
        unlink_wait(svc, k);
        gh_span_end(k->req, k->span, 0, "abandoned");
    }
}

static void on_tick(uv_timer_t *t)
{
    gh_key_waits_poll(t->data);
}

gh_key_wait *gh_key_wait_start(gh_request *req, gh_key_source *src, void (*wake)(gh_request *req))
{
    gh_key_waits *kw = req->svc->key_waits;
    gh_key_wait *k = kw ? gh_arena_zalloc(&req->arena, sizeof(*k)) : NULL;
    if (!k)
        return NULL;
    k->req = req;
    k->src = src;
    k->seen = atomic_load(&src->attempts_done);
    k->deadline_us = gh_now_us() + src->def.timeout_ms * 1000 + GH_KEY_WAIT_SLACK_US;
    k->wake = wake;
    k->span = gh_span_begin(req, GH_SPAN_KEYS, src->def.provider);
    if (gh_list_empty(&kw->list))
        uv_timer_start(&kw->timer, on_tick, GH_KEY_WAIT_TICK_MS, GH_KEY_WAIT_TICK_MS);
    gh_list_push(&kw->list, &k->link);
    gh_key_source_want(src);
    return k;
}

void gh_key_waits_poll(gh_services *svc)
{
    if (!svc->key_waits)
        return; /* closed: the worker is going away */
    uint64_t now = gh_now_us();
    /* Waking runs the stage again, which may answer and free the request (and with it the
     * node): take each ready node off the list before waking it, and restart from the head. */
    for (bool again = true; again;) {
        again = false;
        for (gh_key_wait *k = GH_LIST_FIRST(&svc->key_waits->list, gh_key_wait, link); k;
             k = GH_LIST_NEXT(k, gh_key_wait, link)) {
            if (atomic_load(&k->src->attempts_done) == k->seen && now < k->deadline_us)
                continue;
            gh_request *req = k->req;
            unlink_wait(svc, k);
            bool fetched = atomic_load(&k->src->attempts_done) != k->seen;
            gh_span_end(req, k->span, 0, fetched ? NULL : "timeout");
            k->wake(req);
            again = true;
            break;
        }
    }
}
