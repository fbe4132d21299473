#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "store/limit_table.h"

static void table_free(gh_limit_table *t)
{
    for (size_t i = 0; i < GH_LIMIT_SHARDS; i++) {
        if (!t->shards[i].slots)
            continue;
        free(t->shards[i].slots);
        pthread_mutex_destroy(&t->shards[i].mu);
    }
    free(t->name);
    free(t);
}

typedef struct table_key {
    const char *name;
    size_t max_keys;
} table_key;

static bool table_matches(const void *e, const void *key)
{
    const gh_limit_table *t = e;
    const table_key *k = key;
    return strcmp(t->name, k->name) == 0 && t->max_keys == k->max_keys;
}

static void *table_new(const void *key, void *ctx)
{
    (void)ctx;
    const char *name = ((const table_key *)key)->name;
    size_t max_keys = ((const table_key *)key)->max_keys;
    gh_limit_table *t = calloc(1, sizeof(*t));
    if (!t || !(t->name = strdup(name)) ||
        getrandom(t->salt, sizeof(t->salt), 0) != (ssize_t)sizeof(t->salt)) {
        if (t)
            free(t->name);
        free(t);
        return NULL;
    }
    t->max_keys = max_keys;
    size_t per = max_keys / GH_LIMIT_SHARDS + 1, slots = GH_LIMIT_PROBE;
    while (slots < per)
        slots <<= 1;
    for (size_t i = 0; i < GH_LIMIT_SHARDS; i++) {
        pthread_mutex_init(&t->shards[i].mu, NULL);
        t->shards[i].mask = slots - 1;
        if (!(t->shards[i].slots = calloc(slots, sizeof(gh_limit_entry)))) {
            table_free(t);
            return NULL;
        }
    }
    return t;
}

static void table_drop(void *e)
{
    table_free(e);
}

static const gh_keep_kind table_kind = {
    .next_at = offsetof(gh_limit_table, next),
    .users_at = offsetof(gh_limit_table, users),
    .matches = table_matches,
    .make = table_new,
    .drop = table_drop,
};

void gh_limit_registry_init(gh_limit_registry *r)
{
    gh_keep_init(&r->keep, &table_kind);
}

void gh_limit_registry_free(gh_limit_registry *r)
{
    gh_keep_free(&r->keep);
}

gh_limit_table *gh_limit_table_get(gh_limit_registry *r, const char *name, size_t max_keys)
{
    return gh_keep_get(&r->keep, &(table_key){name, max_keys}, NULL);
}

void gh_limit_table_put(gh_limit_registry *r, gh_limit_table *t)
{
    gh_keep_put(&r->keep, t);
}

static bool is_free(const gh_limit_entry *e)
{
    static const unsigned char zero[16];
    return memcmp(e->key, zero, 16) == 0;
}

/* The entry for key in its shard (locked by the caller): found, a free slot, or the slot seen
 * longest ago, wiped. */
static gh_limit_entry *slot_for(gh_limit_table *t, size_t shard, const unsigned char key[16])
{
    uint64_t h;
    memcpy(&h, key + 8, sizeof(h));
    size_t mask = t->shards[shard].mask;
    gh_limit_entry *slots = t->shards[shard].slots, *victim = NULL;
    for (size_t i = 0; i < GH_LIMIT_PROBE; i++) {
        gh_limit_entry *e = &slots[(h + i) & mask];
        if (memcmp(e->key, key, 16) == 0)
            return e;
        if (is_free(e)) {
            victim = e;
            break;
        }
        if (!victim || e->last_us < victim->last_us)
            victim = e;
    }
    memset(victim, 0, sizeof(*victim));
    memcpy(victim->key, key, 16);
    return victim;
}

void gh_limit_take(gh_limit_table *t, const unsigned char key[16], const gh_limit_rule *rule,
                   int64_t now_us, int64_t window, int64_t window_end_us, gh_limit_verdict *v)
{
    size_t shard = key[0] % GH_LIMIT_SHARDS;
    memset(v, 0, sizeof(*v));
    pthread_mutex_lock(&t->shards[shard].mu);
    gh_limit_entry *e = slot_for(t, shard, key);
    e->last_us = now_us;
    if (e->window != window) {
        e->window = window;
        e->quota_used = 0;
    }
    int64_t T = rule->interval_us, limit = rule->burst * T;
    int64_t tat = e->tat_us > now_us ? e->tat_us : now_us;
    int64_t next = tat + T; /* GCRA: this request's theoretical arrival */
    if (rule->quota && e->quota_used >= rule->quota) {
        v->quota_exceeded = true;
        v->retry_after_us = window_end_us - now_us;
    } else if (next - now_us > limit) {
        v->retry_after_us = next - now_us - limit;
    } else {
        v->allowed = true;
        e->tat_us = tat = next;
        e->quota_used++;
    }
    v->remaining = (uint64_t)((limit - (tat - now_us)) / T);
    v->reset_us = tat - now_us;
    v->quota_remaining = rule->quota > e->quota_used ? rule->quota - e->quota_used : 0;
    pthread_mutex_unlock(&t->shards[shard].mu);
}
