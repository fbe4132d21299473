/* A registry of state kept across configuration reloads: named entries, found or made by key
 * when a configuration loads, so that a reload that keeps a name keeps its state (an upstream's
 * in-flight count, a provider's keys, a limit's buckets). Every worker and the control thread
 * reach it, so a mutex guards the list; the entries' own state is theirs to guard.
 *
 * The entry type is the owner's: it holds a `void *next` for the registry's list and, when its
 * uses are counted, an atomic_int of uses, and the owner describes it with a gh_keep_kind. How
 * an entry goes is the owner's choice: with its last use (gh_keep_put), when a prune finds it
 * unused (gh_keep_release, then gh_keep_prune), or only with the registry (gh_keep_free). */
#ifndef GH_CORE_KEEP_H
#define GH_CORE_KEEP_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* users_at for entries whose uses are not counted: they live as long as the registry. */
#define GH_KEEP_UNCOUNTED SIZE_MAX

typedef struct gh_keep_kind {
    size_t next_at;  /* offsetof the entry's `void *next` */
    size_t users_at; /* offsetof the entry's atomic_int of uses, or GH_KEEP_UNCOUNTED */
    /* Whether entry e is the one for key. */
    bool (*matches)(const void *e, const void *key);
    /* A new entry for key (its next and uses zero), or NULL when out of memory. */
    void *(*make)(const void *key, void *ctx);
    /* Frees an entry the registry let go of. */
    void (*drop)(void *e);
    /* Whether an unused entry must stay anyway (work still in flight); NULL: never. */
    bool (*busy)(const void *e);
} gh_keep_kind;

typedef struct gh_keep {
    pthread_mutex_t mu;
    void *head; /* the most recently made entry first; walk with next, under mu */
    const gh_keep_kind *kind;
} gh_keep;

void gh_keep_init(gh_keep *k, const gh_keep_kind *kind);
/* Drops every entry, used or not (the process is ending). */
void gh_keep_free(gh_keep *k);
/* The entry for key, made with ctx when there is none; a use is counted. NULL when out of
 * memory. */
void *gh_keep_get(gh_keep *k, const void *key, void *ctx);
/* Ends a use; the last one takes the entry out and drops it. NULL is ignored. */
void gh_keep_put(gh_keep *k, void *e);
/* Ends a use and leaves the entry in place: a prune drops it if it stays unused. */
void gh_keep_release(gh_keep *k, void *e);
/* Drops the entries nobody uses that are not busy. */
void gh_keep_prune(gh_keep *k);

#endif
