#include <stdatomic.h>

#include "core/keep.h"

static void **next_of(const gh_keep *k, void *e)
{
    return (void **)((char *)e + k->kind->next_at);
}

static atomic_int *users_of(const gh_keep *k, void *e)
{
    return k->kind->users_at == GH_KEEP_UNCOUNTED ? NULL
                                                  : (atomic_int *)((char *)e + k->kind->users_at);
}

void gh_keep_init(gh_keep *k, const gh_keep_kind *kind)
{
    pthread_mutex_init(&k->mu, NULL);
    k->head = NULL;
    k->kind = kind;
}

void gh_keep_free(gh_keep *k)
{
    for (void *e = k->head, *next; e; e = next) {
        next = *next_of(k, e);
        k->kind->drop(e);
    }
    k->head = NULL;
    pthread_mutex_destroy(&k->mu);
}

void *gh_keep_get(gh_keep *k, const void *key, void *ctx)
{
    pthread_mutex_lock(&k->mu);
    void *e = k->head;
    while (e && !k->kind->matches(e, key))
        e = *next_of(k, e);
    if (!e && (e = k->kind->make(key, ctx))) {
        *next_of(k, e) = k->head;
        k->head = e;
    }
    atomic_int *users = e ? users_of(k, e) : NULL;
    if (users)
        atomic_fetch_add(users, 1);
    pthread_mutex_unlock(&k->mu);
    return e;
}

/* Takes e out of the list (mu held). */
static void unlink_entry(gh_keep *k, void *e)
{
    for (void **p = &k->head; *p; p = next_of(k, *p))
        if (*p == e) {
            *p = *next_of(k, e);
            return;
        }
}

void gh_keep_put(gh_keep *k, void *e)
{
    if (!e)
        return;
    pthread_mutex_lock(&k->mu);
    /* Under the lock: a get cannot hand the entry out again between the count and the drop. */
    if (atomic_fetch_sub(users_of(k, e), 1) == 1) {
        unlink_entry(k, e);
        k->kind->drop(e);
    }
    pthread_mutex_unlock(&k->mu);
}

void gh_keep_release(gh_keep *k, void *e)
{
    if (e)
        atomic_fetch_sub(users_of(k, e), 1);
}

void gh_keep_prune(gh_keep *k)
{
    pthread_mutex_lock(&k->mu);
    for (void **p = &k->head; *p;) {
        void *e = *p;
        if (atomic_load(users_of(k, e)) == 0 && !(k->kind->busy && k->kind->busy(e))) {
            *p = *next_of(k, e);
            k->kind->drop(e);
        } else {
            p = next_of(k, e);
        }
    }
    pthread_mutex_unlock(&k->mu);
}
