#include <stdlib.h>
#include <string.h>

#include "store/anomaly_table.h"

/* An entry not seen for this long gives way before any live one. */
#define IDLE_US (600LL * 1000000)

static void table_free(gh_anom_table *t)
{
    for (size_t i = 0; i < GH_ANOM_SHARDS; i++) {
        if (!t->shards[i].slots)
            continue;
        free(t->shards[i].slots);
        pthread_mutex_destroy(&t->shards[i].mu);
    }
    free(t);
}

static bool table_matches(const void *e, const void *key)
{
    return ((const gh_anom_table *)e)->max_keys == *(const size_t *)key;
}

static void *table_new(const void *key, void *ctx)
{
    gh_anom_table *t = calloc(1, sizeof(*t));
    if (!t || !gh_sipkey_random(&t->sip)) {
        free(t);
        return NULL;
    }
    t->max_keys = *(const size_t *)key;
    t->actions = ctx;
    size_t per = t->max_keys / GH_ANOM_SHARDS + 1, slots = GH_ANOM_PROBE;
    while (slots < per)
        slots <<= 1;
    for (size_t i = 0; i < GH_ANOM_SHARDS; i++) {
        pthread_mutex_init(&t->shards[i].mu, NULL);
        t->shards[i].mask = slots - 1;
        if (!(t->shards[i].slots = calloc(slots, sizeof(gh_anom_entry)))) {
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
    .next_at = offsetof(gh_anom_table, next),
    .users_at = offsetof(gh_anom_table, users),
    .matches = table_matches,
    .make = table_new,
    .drop = table_drop,
};

void gh_anom_registry_init(gh_anom_registry *r)
{
    gh_keep_init(&r->keep, &table_kind);
    r->actions = (gh_detect_actions){0};
    atomic_init(&r->redis_in_flight, 0);
}

void gh_anom_registry_free(gh_anom_registry *r)
{
    gh_keep_free(&r->keep);
}

gh_anom_table *gh_anom_table_get(gh_anom_registry *r, size_t max_keys)
{
    return gh_keep_get(&r->keep, &max_keys, &r->actions);
}

void gh_anom_table_put(gh_anom_registry *r, gh_anom_table *t)
{
    gh_keep_put(&r->keep, t);
}

void gh_anom_key(const gh_anom_table *t, unsigned detector, const char *text, size_t len,
                 unsigned char out[16])
{
    gh_siphash h;
    gh_siphash_init(&h, &t->sip);
    gh_siphash_u64(&h, detector);
    gh_siphash_update(&h, text, len);
    uint64_t a = gh_siphash_final(&h);
    gh_siphash_u64(&h, 0x5a); /* a second, dependent half: 128 bits against collisions */
    uint64_t b = gh_siphash_final(&h);
    memcpy(out, &a, 8);
    memcpy(out + 8, &b, 8);
    out[15] |= 1; /* never all zero: that marks a free slot */
}

uint64_t gh_anom_value_hash(const gh_anom_table *t, const void *v, size_t len)
{
    gh_siphash h;
    gh_siphash_init(&h, &t->sip);
    gh_siphash_update(&h, v, len);
    return gh_siphash_final(&h);
}

/* The slot for key in its shard: its own, a free one, or the lightest's (idle ones first). */
static gh_anom_entry *find_slot(gh_anom_entry *slots, size_t mask, const unsigned char key[16],
                                int64_t now_us, bool *fresh)
{
    uint64_t h;
    memcpy(&h, key + 8, 8);
    gh_anom_entry *victim = NULL;
    uint64_t victim_weight = UINT64_MAX;
    for (size_t i = 0; i < GH_ANOM_PROBE; i++) {
        gh_anom_entry *e = &slots[(h + i) & mask];
        if (memcmp(e->key, key, 16) == 0) {
            *fresh = false;
            return e;
        }
        uint64_t w = e->key[15] == 0 || now_us - e->last_us > IDLE_US ? 0 : e->weight;
        if (w < victim_weight) {
            victim = e;
            victim_weight = w;
        }
    }
    *fresh = true;
    /* space-saving: the newcomer inherits the weight it displaced, an over-estimate of its own */
    *victim = (gh_anom_entry){.weight = victim_weight};
    memcpy(victim->key, key, 16);
    return victim;
}

static void roll(gh_anom_entry *e, int64_t window, double alpha)
{
    int64_t gap = window - e->window;
    if (gap <= 0)
        return;
    gh_ewma_add(&e->requests_base, e->requests, alpha);
    gh_ewma_add(&e->errors_base, e->errors, alpha);
    for (int64_t i = 1; i < gap && i <= 16; i++) {
        gh_ewma_add(&e->requests_base, 0, alpha);
        gh_ewma_add(&e->errors_base, 0, alpha);
    }
    e->window = window;
    e->weight /= 2;
    e->requests = e->errors = e->refused = e->fired = 0;
    memset(&e->distinct, 0, sizeof(e->distinct));
}

static void lock_shard(gh_anom_table *t, const unsigned char key[16], size_t *shard)
{
    *shard = key[0] % GH_ANOM_SHARDS;
    pthread_mutex_lock(&t->shards[*shard].mu);
}

void gh_anom_observe(gh_anom_table *t, const unsigned char key[16], int64_t window,
                     int64_t now_us, double alpha, const gh_anom_add *add, gh_anom_entry *out)
{
    size_t s;
    lock_shard(t, key, &s);
    bool fresh;
    gh_anom_entry *e = find_slot(t->shards[s].slots, t->shards[s].mask, key, now_us, &fresh);
    if (fresh)
        e->window = window;
    else
        roll(e, window, alpha);
    e->last_us = now_us;
    e->weight += add->requests;
    e->requests += add->requests;
    e->errors += add->errors;
    e->refused += add->refused;
    if (add->has_value)
        gh_hll_add(&e->distinct, add->value_hash);
    *out = *e;
    pthread_mutex_unlock(&t->shards[s].mu);
}

bool gh_anom_claim(gh_anom_table *t, const unsigned char key[16], int64_t window)
{
    size_t s;
    lock_shard(t, key, &s);
    bool first = false;
    uint64_t h;
    memcpy(&h, key + 8, 8);
    for (size_t i = 0; i < GH_ANOM_PROBE; i++) {
        gh_anom_entry *e = &t->shards[s].slots[(h + i) & t->shards[s].mask];
        if (memcmp(e->key, key, 16) != 0)
            continue;
        first = e->window == window && !e->fired;
        if (first)
            e->fired = 1;
        break;
    }
    pthread_mutex_unlock(&t->shards[s].mu);
    return first;
}

uint64_t gh_anom_shared_fingerprint(const gh_anom_table *t, unsigned detector, const char *text,
                                    size_t len, const void *value, size_t vlen, int64_t window)
{
    gh_siphash h;
    gh_siphash_init(&h, &t->sip);
    gh_siphash_u64(&h, detector);
    gh_siphash_u64(&h, (uint64_t)window);
    gh_siphash_u64(&h, len);
    gh_siphash_update(&h, text, len);
    gh_siphash_update(&h, value, vlen);
    return gh_siphash_final(&h) | 1; /* never zero: zero marks an empty slot */
}

static atomic_ullong *sent_slot(gh_anom_table *t, uint64_t fp)
{
    return &t->shared_sent[(fp >> 1) & (GH_ANOM_SHARED_SENT - 1)];
}

bool gh_anom_shared_note(gh_anom_table *t, uint64_t fp)
{
    return atomic_exchange_explicit(sent_slot(t, fp), fp, memory_order_relaxed) != fp;
}

void gh_anom_shared_unnote(gh_anom_table *t, uint64_t fp)
{
    unsigned long long expected = fp;
    atomic_compare_exchange_strong_explicit(sent_slot(t, fp), &expected, 0, memory_order_relaxed,
                                            memory_order_relaxed);
}
