/* Requests waiting on a worker for an identity provider's keys: a token with a kid the key set
 * does not hold yet, or a provider with no keys yet. The control thread fetches; when an attempt
 * ends (or the wait's deadline passes) the request wakes and its stage runs again. The loop
 * never blocks. */
#ifndef GH_STAGES_KEY_WAIT_H
#define GH_STAGES_KEY_WAIT_H

#include <stdint.h>
#include <uv.h>

#include "core/list.h"
#include "identity/keyset.h"

typedef struct gh_request gh_request;
typedef struct gh_services gh_services;

/* A worker's waits (svc->key_waits). */
typedef struct gh_key_waits {
    gh_list list;     /* gh_key_wait.link */
    uv_timer_t timer; /* runs while list is not empty: deadlines */
} gh_key_waits;

typedef struct gh_key_wait {
    gh_link link; /* in svc->key_waits->list */
    gh_request *req;
    gh_key_source *src;
    uint64_t seen;        /* src->attempts_done when the wait began */
    uint64_t deadline_us; /* wakes then whatever happened */
    void (*wake)(gh_request *req);
    int span; /* the request's child span for the wait (gate/span.h) */
} gh_key_wait;

/* Makes the worker's waits (svc->key_waits), their timer on svc's loop. 0 or -ENOMEM. */
int gh_key_waits_init(gh_services *svc);
/* Closes their timer, and frees them once it has closed (the loop runs). No request waits any
 * more: the worker's connections are gone. */
void gh_key_waits_close(gh_services *svc);
/* Parks req until src's next fetch attempt ends, and asks for one. wake runs on the worker,
 * the wait already over. The wait (in the request's memory), or NULL when that ran out. */
gh_key_wait *gh_key_wait_start(gh_request *req, gh_key_source *src, void (*wake)(gh_request *req));
/* The request goes away while it waits (NULL, or a wait that is over: nothing to do). */
void gh_key_wait_cancel(gh_services *svc, gh_key_wait *k);
/* Wakes the requests whose attempt ended or whose deadline passed (worker wakeup and timer). */
void gh_key_waits_poll(gh_services *svc);

#endif
