#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/lookup.h"

struct gh_lookup {
    pthread_mutex_t mu;
    pthread_cond_t answered;
    int holders; /* the thread until it ends, the asker until it lets go */
    void (*wake)(void *);
    void *wake_ctx;
    bool finished; /* the answer is in: */
    int status;
    struct addrinfo *res;
    char host[256], port[8];
};

static void lookup_free(gh_lookup *l)
{
    if (l->res)
        freeaddrinfo(l->res);
    pthread_cond_destroy(&l->answered);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

static void let_go(gh_lookup *l, bool asker)
{
    pthread_mutex_lock(&l->mu);
    if (asker)
        l->wake = NULL;
    bool last = --l->holders == 0;
    pthread_mutex_unlock(&l->mu);
    if (last)
        lookup_free(l);
}

static void *run(void *arg)
{
    gh_lookup *l = arg;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    int status = getaddrinfo(l->host, l->port, &hints, &res);
    pthread_mutex_lock(&l->mu);
    l->status = status;
    l->res = res;
    l->finished = true;
    pthread_cond_broadcast(&l->answered);
    if (l->wake)
        l->wake(l->wake_ctx);
    pthread_mutex_unlock(&l->mu);
    let_go(l, false);
    return NULL;
}

gh_lookup *gh_lookup_start(const char *host, const char *port, void (*wake)(void *),
                           void *wake_ctx, int *error)
{
    gh_lookup *l = calloc(1, sizeof(*l));
    if (!l) {
        *error = ENOMEM;
        return NULL;
    }
    if (strlen(host) >= sizeof(l->host) || strlen(port) >= sizeof(l->port)) {
        free(l);
        *error = EINVAL;
        return NULL;
    }
    strcpy(l->host, host);
    strcpy(l->port, port);
    l->holders = 2;
    l->wake = wake;
    l->wake_ctx = wake_ctx;
    pthread_mutex_init(&l->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&l->answered, &ca);
    pthread_condattr_destroy(&ca);
    pthread_attr_t attr;
    pthread_t thread;
    int r = pthread_attr_init(&attr);
    if (r == 0) {
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        r = pthread_create(&thread, &attr, run, l);
        pthread_attr_destroy(&attr);
    }
    if (r != 0) {
        lookup_free(l);
        *error = r;
        return NULL;
    }
    return l;
}

bool gh_lookup_take(gh_lookup *l, uint64_t wait_ms, int *status, struct addrinfo **res)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += (time_t)(wait_ms / 1000);
    until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&l->mu);
    while (!l->finished && wait_ms &&
           pthread_cond_timedwait(&l->answered, &l->mu, &until) != ETIMEDOUT)
        ;
    bool in = l->finished;
    if (in) {
        *status = l->status;
        *res = l->res;
        l->res = NULL;
    }
    pthread_mutex_unlock(&l->mu);
    return in;
}

void gh_lookup_release(gh_lookup *l)
{
    if (l)
        let_go(l, true);
}
