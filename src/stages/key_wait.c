#include "core/clock.h"
#include "stages/key_wait.h"
#include "gate/exchange.h"

/* A wait lasts at most the fetch timeout and this much more: a fetch that hangs in a way curl
 * does not see cannot hold a request for ever. */
#define GH_KEY_WAIT_SLACK_US 1000000
#define GH_KEY_WAIT_TICK_MS 100

static void unlink_wait(gh_services *svc, gh_key_wait *k)
{
    gh_list_unlink(&svc->key_waits, &k->link);
    if (gh_list_empty(&svc->key_waits))
        uv_timer_stop(&svc->key_wait_timer);
}

void gh_key_wait_cancel(gh_services *svc, gh_key_wait *k)
{
    if (k)
        unlink_wait(svc, k);
}

static void on_tick(uv_timer_t *t)
{
    gh_key_waits_poll(t->data);
}

gh_key_wait *gh_key_wait_start(gh_request *req, gh_key_source *src, void (*wake)(gh_request *req))
{
    gh_key_wait *k = gh_arena_zalloc(&req->arena, sizeof(*k));
    if (!k)
        return NULL;
    gh_services *svc = req->svc;
    k->req = req;
    k->src = src;
    k->seen = atomic_load(&src->attempts_done);
    k->deadline_us = gh_now_us() + src->def.timeout_ms * 1000 + GH_KEY_WAIT_SLACK_US;
    k->wake = wake;
    if (gh_list_empty(&svc->key_waits))
        uv_timer_start(&svc->key_wait_timer, on_tick, GH_KEY_WAIT_TICK_MS, GH_KEY_WAIT_TICK_MS);
    gh_list_push(&svc->key_waits, &k->link);
    gh_key_source_want(src);
    return k;
}

void gh_key_waits_poll(gh_services *svc)
{
    uint64_t now = gh_now_us();
    /* Waking runs the stage again, which may answer and free the request (and with it the
     * node): take each ready node off the list before waking it, and restart from the head. */
    for (bool again = true; again;) {
        again = false;
        for (gh_key_wait *k = GH_LIST_FIRST(&svc->key_waits, gh_key_wait, link); k;
             k = GH_LIST_NEXT(k, gh_key_wait, link)) {
            if (atomic_load(&k->src->attempts_done) == k->seen && now < k->deadline_us)
                continue;
            gh_request *req = k->req;
            unlink_wait(svc, k);
            k->wake(req);
            again = true;
            break;
        }
    }
}
