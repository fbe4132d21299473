/* Worker threads: listeners with SO_REUSEPORT, the config swap, and drain. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "gate/security_event.h"
#include "http/conn.h"
#include "http/h2.h"
#include "server/seccomp.h"
#include "server/worker.h"
#include "core/http_client.h"
#include "stages/pending_call.h"
#include "store/redis.h"
#include "stages/key_wait.h"
#include "upstream/proxy.h"

#define GH_BACKLOG 4096
#define GH_SWEEP_MS 1000

/* xorshift128+: request ids need to be unique and unguessable enough to not collide across
 * gateways, not to be secret; the seed comes from getrandom. */
int gh_listen_socket(const gh_sockaddr *addr, int backlog, bool shared)
{
    int fd = socket(addr->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    /* SO_REUSEPORT lets any process of the same user join the group and take a share of the
     * connections: only the workers' sockets of an address this process already holds use it. */
    if (shared)
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (addr->ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, (const struct sockaddr *)&addr->ss, addr->len) != 0 ||
        (backlog > 0 && listen(fd, backlog) != 0)) {
        int err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

static void on_connection(uv_stream_t *server, int status)
{
    gh_listener *l = server->data;
    if (status == 0)
        gh_conn_accept(&l->w->svc, server, &l->w->svc.snapshots.config->listeners[l->index]);
}

static void free_listener(uv_handle_t *h)
{
    free(h->data);
}

/* One listening socket of lc on the worker's loop; the worker owns fd from now on. */
static int listen_on(gh_worker *w, const gh_listener_conf *lc, size_t index, int fd)
{
    gh_listener *l = calloc(1, sizeof(*l));
    if (!l) {
        close(fd);
        return -ENOMEM;
    }
    l->w = w;
    l->tcp.data = l;
    l->index = index;
    l->keep = true;
    snprintf(l->address, sizeof(l->address), "%s", lc->address);
    uv_tcp_init(&w->loop, &l->tcp);
    int r = uv_tcp_open(&l->tcp, fd);
    if (r == 0)
        r = uv_listen((uv_stream_t *)&l->tcp, GH_BACKLOG, on_connection);
    if (r != 0) {
        uv_close((uv_handle_t *)&l->tcp, free_listener);
        return r;
    }
    l->next = w->listeners;
    w->listeners = l;
    return 0;
}

/* The worker's sockets of a listener: those a binary upgrade handed over for this worker (every
 * one is kept, so none resets the connections in its queue), or a new one. */
static int open_listener(gh_worker *w, const gh_listener_conf *lc, size_t index)
{
    int fds[64];
    size_t n = gh_inherited_take(w->rt->inherited, &lc->addr, true, w->id, w->rt->nworkers, fds,
                                 sizeof(fds) / sizeof(fds[0]));
    if (n == 0) {
        int fd = gh_listen_socket(&lc->addr, GH_BACKLOG, true);
        if (fd < 0)
            return fd;
        fds[n++] = fd;
    }
    int err = 0;
    for (size_t i = 0; i < n; i++) {
        int r = listen_on(w, lc, index, fds[i]);
        if (r != 0 && !err)
            err = r;
    }
    return err;
}

static void close_listeners(gh_worker *w, bool all)
{
    gh_listener **pl = &w->listeners;
    while (*pl) {
        gh_listener *l = *pl;
        if (all || !l->keep) {
            *pl = l->next;
            uv_close((uv_handle_t *)&l->tcp, free_listener);
        } else {
            pl = &l->next;
        }
    }
}

/* Makes the worker's listening sockets match its snapshot: unchanged addresses keep their
 * socket (no connection is refused during a reload), new ones open, removed ones close. */
static int sync_listeners(gh_worker *w)
{
    int err = 0;
    for (gh_listener *l = w->listeners; l; l = l->next)
        l->keep = false;
    for (size_t i = 0; i < w->svc.snapshots.config->nlisteners; i++) {
        const gh_listener_conf *lc = &w->svc.snapshots.config->listeners[i];
        bool found = false; /* a worker may hold several sockets of one address (upgrade) */
        for (gh_listener *l = w->listeners; l; l = l->next) {
            if (strcmp(l->address, lc->address) == 0) {
                found = l->keep = true;
                l->index = i;
            }
        }
        int r = found ? 0 : open_listener(w, lc, i);
        if (r != 0 && !err)
            err = r;
    }
    close_listeners(w, false);
    return err;
}

static void drain_poll(uv_timer_t *t);

/* Every second: idle pooled connections expire, and the security events folded in the
 * seconds that ended are written. */
static void on_sweep(uv_timer_t *t)
{
    gh_worker *w = t->data;
    gh_pools_sweep(&w->svc);
    gh_security_event_flush(&w->svc);
}

static void start_drain(gh_worker *w)
{
    w->svc.draining = true;
    close_listeners(w, true);
    gh_conns_drain(&w->svc);
    w->drain_deadline_us = gh_now_us() + w->svc.snapshots.config->drain_timeout_ms * 1000;
    uv_timer_start(&w->drain_timer, drain_poll, GH_DRAIN_POLL_MS, GH_DRAIN_POLL_MS);
}

/* Ends the loop once every connection finished, or cuts them at drain_timeout. */
static void drain_poll(uv_timer_t *t)
{
    gh_worker *w = t->data;
    if (gh_conns_count(&w->svc) && gh_now_us() >= w->drain_deadline_us) {
        gh_conns_close(&w->svc);
    }
    if (gh_conns_count(&w->svc))
        return;
    gh_pools_close(&w->svc);
    gh_redis_worker_stop(&w->svc.redis); /* its socket would keep the loop running */
    uv_close((uv_handle_t *)&w->drain_timer, NULL);
    uv_close((uv_handle_t *)&w->sweep_timer, NULL);
    gh_key_waits_close(&w->svc);
    gh_services_close(&w->svc);
    gh_conns_worker_close(&w->svc);
    uv_close((uv_handle_t *)&w->wakeup, NULL);
}

static void on_wakeup(uv_async_t *a)
{
    gh_worker *w = a->data;
    gh_key_waits_poll(&w->svc); /* a key fetch may have ended */
    if (w->svc.draining)
        return;
    if (atomic_load(&w->rt->draining)) {
        start_drain(w);
        return;
    }
    gh_config *cfg = gh_runtime_config(w->rt);
    if (cfg == w->svc.snapshots.config) {
        gh_config_release(cfg);
        return;
    }
    gh_snapshots_swap(&w->svc.snapshots, cfg);
    gh_jws_verifier_clear(&w->svc.stage_tools.verifier); /* the old snapshot's keys may go */
    w->svc.log_enabled = strcmp(w->svc.snapshots.config->access_log, "off") != 0;
    sync_listeners(w);
    atomic_store(&w->applied, w->svc.snapshots.config);
}

/* Listeners first (bound while the process may still be root, for ports below 1024), then,
 * once released after the switch to user:, the seccomp filter: glibc makes every thread run
 * setresuid itself during the switch, which the filter would kill. */
static void worker_main(void *arg)
{
    gh_worker *w = arg;
    char name[16];
    snprintf(name, sizeof(name), "gh-worker-%d", w->id);
    pthread_setname_np(pthread_self(), name); /* tells workers apart in ps and /proc */
    w->start_error = sync_listeners(w);
    atomic_store(&w->applied, w->svc.snapshots.config);
    uv_sem_post(&w->ready);
    if (w->start_error != 0)
        return;
    uv_sem_wait(&w->go);
    bool confine = atomic_load(&w->confine);
    int failed = confine && gh_seccomp_confine_worker(w->confine_error,
                                                      sizeof(w->confine_error)) != 0;
    if (confine)
        uv_sem_post(&w->ready);
    if (!failed)
        uv_run(&w->loop, UV_RUN_DEFAULT);
    atomic_store(&w->finished, true);
}

int gh_workers_release(gh_runtime *rt, bool seccomp, char *err, size_t cap)
{
    int failed = 0;
    for (int i = 0; i < rt->nworkers; i++) {
        gh_worker *w = &rt->workers[i];
        if (!w->started || w->released)
            continue;
        atomic_store(&w->confine, seccomp);
        w->released = true;
        uv_sem_post(&w->go);
        if (!seccomp)
            continue;
        uv_sem_wait(&w->ready);
        if (w->confine_error[0] && !failed++)
            snprintf(err, cap, "worker %d: %s", i, w->confine_error);
    }
    return failed ? -1 : 0;
}

static int worker_init(gh_runtime *rt, gh_worker *w, int id)
{
    w->id = id;
    w->rt = rt;
    if (uv_loop_init(&w->loop) != 0 || uv_sem_init(&w->ready, 0) != 0 ||
        uv_sem_init(&w->go, 0) != 0)
        return -ENOMEM;
    int r = gh_services_init(&w->svc, id, &w->loop, &rt->shared, gh_runtime_config(rt));
    if (r == 0)
        r = gh_proxy_worker_init(&w->svc);
    if (r == 0)
        r = gh_key_waits_init(&w->svc);
    if (r == 0)
        r = gh_pending_worker_init(&w->svc);
    if (r == 0)
        r = gh_conns_worker_init(&w->svc);
    if (r != 0)
        return r;
    w->svc.log = rt->logger.rings ? rt->logger.rings[id] : NULL; /* no logger: an embedded worker */
    w->svc.sec = rt->sec_streams ? &rt->sec_streams[id] : NULL;
    w->svc.spans = &rt->spans;
    uv_async_init(&w->loop, &w->wakeup, on_wakeup);
    uv_timer_init(&w->loop, &w->drain_timer);
    uv_timer_init(&w->loop, &w->sweep_timer);
    w->wakeup.data = w->drain_timer.data = w->sweep_timer.data = w;
    uv_timer_start(&w->sweep_timer, on_sweep, GH_SWEEP_MS, GH_SWEEP_MS);
    return 0;
}

int gh_worker_embed(gh_runtime *rt, gh_worker *w)
{
    return worker_init(rt, w, 0);
}

int gh_workers_start(gh_runtime *rt)
{
    for (int i = 0; i < rt->nworkers; i++) {
        gh_worker *w = &rt->workers[i];
        int r = worker_init(rt, w, i);
        if (r == 0)
            r = uv_thread_create(&w->thread, worker_main, w);
        if (r != 0)
            return r;
        w->started = true;
        uv_sem_wait(&w->ready);
        if (w->start_error)
            return w->start_error;
    }
    return 0;
}

void gh_workers_notify(gh_runtime *rt)
{
    for (int i = 0; i < rt->nworkers; i++)
        if (rt->workers[i].started)
            uv_async_send(&rt->workers[i].wakeup);
}

int gh_workers_wait_applied(gh_runtime *rt, const gh_config *cfg, int timeout_ms)
{
    const struct timespec tick = {0, 1000 * 1000};
    for (int waited = 0;; waited++) {
        int behind = 0;
        for (int i = 0; i < rt->nworkers; i++)
            behind += rt->workers[i].started && atomic_load(&rt->workers[i].applied) != cfg;
        if (behind == 0 || waited >= timeout_ms)
            return behind;
        nanosleep(&tick, NULL);
    }
}

static void worker_teardown(gh_worker *w)
{
    /* Whatever is still open (a worker that failed to start) is closed here. */
    gh_conns_close(&w->svc);
    close_listeners(w, true);
    gh_pools_close(&w->svc);
    gh_pending_worker_stop(&w->svc);
    gh_redis_worker_stop(&w->svc.redis);
    if (!uv_is_closing((uv_handle_t *)&w->wakeup))
        uv_close((uv_handle_t *)&w->wakeup, NULL);
    if (!uv_is_closing((uv_handle_t *)&w->drain_timer))
        uv_close((uv_handle_t *)&w->drain_timer, NULL);
    if (!uv_is_closing((uv_handle_t *)&w->sweep_timer))
        uv_close((uv_handle_t *)&w->sweep_timer, NULL);
    gh_key_waits_close(&w->svc);
    gh_services_close(&w->svc);
    gh_conns_worker_close(&w->svc);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    uv_loop_close(&w->loop);
    gh_services_free(&w->svc);
    uv_sem_destroy(&w->ready);
    uv_sem_destroy(&w->go);
}

void gh_workers_begin_drain(gh_runtime *rt)
{
    atomic_store(&rt->draining, true);
    gh_workers_notify(rt);
}

bool gh_workers_finished(gh_runtime *rt)
{
    for (int i = 0; i < rt->nworkers; i++)
        if (rt->workers[i].started && !atomic_load(&rt->workers[i].finished))
            return false;
    return true;
}

void gh_workers_drain_and_join(gh_runtime *rt)
{
    gh_workers_begin_drain(rt);
    for (int i = 0; i < rt->nworkers; i++) {
        gh_worker *w = &rt->workers[i];
        if (!w->started)
            continue;
        if (!w->released) { /* a start that failed before it: the worker drains unconfined */
            w->released = true;
            uv_sem_post(&w->go);
        }
        uv_thread_join(&w->thread);
        worker_teardown(w);
        w->started = false;
    }
}
