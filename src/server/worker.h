/* A worker: one thread, one libuv loop, its own SO_REUSEPORT listening sockets, connections,
 * upstream keep-alive pools, metrics and log ring. Nothing it owns is touched by another thread
 * except through uv_async (config swap, drain) and the single-writer metrics. */
#ifndef GH_SERVER_WORKER_H
#define GH_SERVER_WORKER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "gate/services.h"
#include "server/runtime.h"

typedef struct gh_listener {
    uv_tcp_t tcp;
    gh_worker *w;
    struct gh_listener *next;
    size_t index; /* in the worker's snapshot's listeners */
    char address[64];
    bool keep; /* used while reconciling with a new snapshot */
} gh_listener;

struct gh_worker {
    gh_services svc; /* what everything running on the worker borrows */
    int id;
    gh_runtime *rt;
    uv_loop_t loop;
    uv_thread_t thread;
    uv_async_t wakeup; /* config changed or drain requested */
    uv_timer_t drain_timer;
    uv_timer_t sweep_timer; /* expires idle pooled connections, writes folded events */
    uv_sem_t ready;         /* posted once the listeners are open (or failed), then once
                             * the thread is confined (or failed) */
    uv_sem_t go;            /* posted once the process dropped its privileges */
    bool released;          /* go posted */
    atomic_bool confine;    /* install the seccomp filter when released */
    char confine_error[256];
    uint64_t drain_deadline_us;
    gh_listener *listeners;
    bool started;
    atomic_bool finished; /* its loop has ended: drained */
    int start_error;
    _Atomic(const gh_config *) applied; /* the snapshot it serves, listeners synced */
};

/* How often a drain checks whether its connections (or the workers) have finished. */
#define GH_DRAIN_POLL_MS 50

/* Creates the loop and starts the thread; listeners are opened on the worker thread and the
 * result reported in start_error once `started` is set (see gh_workers_start). */
int gh_workers_start(gh_runtime *rt);
/* Lets the started workers serve, once the process switched to its user: each confines its
 * thread with the seccomp allow-list first when seccomp is set. 0, or -1 with the first
 * failure in err (the workers then drain at gh_workers_drain_and_join). */
int gh_workers_release(gh_runtime *rt, bool seccomp, char *err, size_t cap);
/* Sets a worker up on rt's current snapshot without a thread or listeners: its loop is run by
 * the caller (the fuzz harness). 0 or a negative errno. */
int gh_worker_embed(gh_runtime *rt, gh_worker *w);
/* Asks every worker to pick up the runtime's current snapshot. */
void gh_workers_notify(gh_runtime *rt);
/* Waits up to timeout_ms until every started worker serves cfg (its listeners opened and
 * closed to match), so that a reload answered as done is in force. The number still behind. */
int gh_workers_wait_applied(gh_runtime *rt, const gh_config *cfg, int timeout_ms);
/* Asks every worker to stop accepting and finish in-flight requests (within drain_timeout). */
void gh_workers_begin_drain(gh_runtime *rt);
/* Whether every started worker's loop has ended. */
bool gh_workers_finished(gh_runtime *rt);
/* Begins the drain if it has not begun, then joins every worker. */
void gh_workers_drain_and_join(gh_runtime *rt);

/* A socket bound to addr, listening when backlog > 0 (a trial bind does not listen: a socket
 * that listens takes connections, and closing it resets them). shared: with SO_REUSEPORT, for
 * the workers' sockets of one address; without, the bind fails while anything listens there,
 * another gateway's SO_REUSEPORT group included. */
int gh_listen_socket(const gh_sockaddr *addr, int backlog, bool shared);



#endif
