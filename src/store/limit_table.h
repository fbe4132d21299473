/* The local rate-limit store: per (limit, key), GCRA state with microsecond precision and a
 * quota count for the current calendar window, in one table shared by every worker (a limit
 * holds across workers). Bounded: beyond max_keys, the entry seen longest ago gives way.
 * Tables live in a registry across reloads, so a reload does not hand everyone a fresh bucket. */
#ifndef GH_STORE_LIMIT_TABLE_H
#define GH_STORE_LIMIT_TABLE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/keep.h"

#define GH_LIMIT_SHARDS 64
#define GH_LIMIT_PROBE 8

/* A limit's arithmetic: GCRA with emission interval interval_us, burst requests at once; and an
 * optional quota per calendar window. */
typedef struct gh_limit_rule {
    int64_t interval_us; /* period / count */
    int64_t burst;
    uint64_t quota; /* 0: none */
} gh_limit_rule;

typedef struct gh_limit_verdict {
    bool allowed;
    bool quota_exceeded;
    int64_t retry_after_us; /* when refused: until one more would pass */
    uint64_t remaining;     /* requests that would pass right now (the burst left) */
    int64_t reset_us;       /* until the burst is whole again */
    uint64_t quota_remaining;
} gh_limit_verdict;

typedef struct gh_limit_entry {
    unsigned char key[16]; /* all zero: free */
    int64_t tat_us;        /* theoretical arrival time */
    int64_t last_us;
    int64_t window;        /* the quota window quota_used counts in */
    uint64_t quota_used;
} gh_limit_entry;

typedef struct gh_limit_table {
    void *next; /* in the registry */
    char *name;
    size_t max_keys;
    atomic_int users;
    unsigned char salt[16]; /* keys are hashed with it: nobody can aim at another's bucket */
    struct {
        pthread_mutex_t mu;
        gh_limit_entry *slots;
        size_t mask;
    } shards[GH_LIMIT_SHARDS];
} gh_limit_table;

/* Tables by (name, max_keys); the last snapshot that uses one frees it. */
typedef struct gh_limit_registry {
    gh_keep keep;
} gh_limit_registry;

void gh_limit_registry_init(gh_limit_registry *r);
void gh_limit_registry_free(gh_limit_registry *r);
/* The table of the limit named name with room for max_keys, shared with a snapshot that
 * already uses it; a use is counted. NULL when out of memory. */
gh_limit_table *gh_limit_table_get(gh_limit_registry *r, const char *name, size_t max_keys);
/* Ends a use; the last one frees the table. */
void gh_limit_table_put(gh_limit_registry *r, gh_limit_table *t);

/* Applies one request with key (16 bytes, see gh_limit_key) at now_us; window is the current
 * quota window's number and window_end_us its end. The state moves only when it passes. */
void gh_limit_take(gh_limit_table *t, const unsigned char key[16], const gh_limit_rule *rule,
                   int64_t now_us, int64_t window, int64_t window_end_us, gh_limit_verdict *v);

#endif
