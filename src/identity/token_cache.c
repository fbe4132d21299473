#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "core/b64url.h"
#include "identity/jws.h"
#include "identity/token_cache.h"

int gh_token_cache_init(gh_token_cache *c, size_t capacity)
{
    memset(c, 0, sizeof(*c));
    if (capacity == 0)
        return 0;
    if (!gh_sipkey_random(&c->key))
        return -1;
    /* Twice the entries per shard in slots, a power of two, at least one probe window. */
    size_t per = capacity / GH_TOKEN_CACHE_SHARDS + 1, slots = GH_TOKEN_CACHE_PROBE;
    while (slots < 2 * per)
        slots <<= 1;
    for (size_t i = 0; i < GH_TOKEN_CACHE_SHARDS; i++) {
        gh_token_shard *s = &c->shards[i];
        pthread_mutex_init(&s->mu, NULL);
        s->slots = calloc(slots, sizeof(gh_token_entry));
        s->mask = slots - 1;
        if (!s->slots) {
            gh_token_cache_free(c);
            return -1;
        }
    }
    c->enabled = true;
    return 0;
}

void gh_token_cache_free(gh_token_cache *c)
{
    for (size_t i = 0; i < GH_TOKEN_CACHE_SHARDS; i++) {
        gh_token_shard *s = &c->shards[i];
        if (!s->slots)
            continue;
        for (size_t k = 0; k <= s->mask; k++)
            free(s->slots[k].payload);
        free(s->slots);
        s->slots = NULL;
        pthread_mutex_destroy(&s->mu);
    }
    c->enabled = false;
}

gh_token_cache *gh_token_cache_new(size_t capacity)
{
    gh_token_cache *c = calloc(1, sizeof(*c));
    if (c && gh_token_cache_init(c, capacity) != 0) {
        free(c);
        return NULL;
    }
    return c;
}

void gh_token_cache_delete(gh_token_cache *c)
{
    if (!c)
        return;
    gh_token_cache_free(c);
    free(c);
}

void gh_token_hash(EVP_MD_CTX *ctx, const EVP_MD *md, const char *token, size_t len,
                   unsigned char out[32])
{
    unsigned int n = 0;
    if (EVP_DigestInit_ex2(ctx, md, NULL) != 1 || EVP_DigestUpdate(ctx, token, len) != 1 ||
        EVP_DigestFinal_ex(ctx, out, &n) != 1)
        SHA256((const unsigned char *)token, len, out);
}

void gh_token_digest(EVP_MD_CTX *ctx, const EVP_MD *md, const char *token, size_t len,
                     unsigned char out[32])
{
    const char *dot = memrchr(token, '.', len);
    size_t at = dot ? (size_t)(dot - token) + 1 : len, slen = len - at;
    unsigned char sig[132];
    unsigned int n = 0;
    if (!dot || gh_b64url_decoded_len(slen) > sizeof(sig) ||
        gh_b64url_decode(token + at, slen, sig) != (long)gh_b64url_decoded_len(slen) ||
        !gh_jws_ecdsa_low_s(sig, gh_b64url_decoded_len(slen))) {
        gh_token_hash(ctx, md, token, len, out);
        return;
    }
    size_t sl = gh_b64url_decoded_len(slen);
    if (EVP_DigestInit_ex2(ctx, md, NULL) != 1 || EVP_DigestUpdate(ctx, token, at) != 1 ||
        EVP_DigestUpdate(ctx, sig, sl) != 1 || EVP_DigestFinal_ex(ctx, out, &n) != 1) {
        gh_token_hash(ctx, md, token, len, out); /* the context failed: as written */
    }
}

static gh_token_shard *shard_of(gh_token_cache *c, const unsigned char hash[32], size_t *start)
{
    uint64_t h = gh_siphash13(&c->key, hash, 32);
    gh_token_shard *s = &c->shards[h % GH_TOKEN_CACHE_SHARDS];
    *start = (size_t)(h >> 8) & s->mask;
    return s;
}

bool gh_token_cache_get(gh_token_cache *c, const unsigned char hash[32], int64_t now,
                        gh_arena *arena, gh_token_entry *e)
{
    if (!c->enabled)
        return false;
    size_t at;
    gh_token_shard *s = shard_of(c, hash, &at);
    bool hit = false;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < GH_TOKEN_CACHE_PROBE; i++) {
        gh_token_entry *slot = &s->slots[(at + i) & s->mask];
        if (!slot->payload || memcmp(slot->hash, hash, 32) != 0)
            continue;
        if (slot->exp < now)
            break;
        *e = *slot;
        size_t kl = slot->kid ? strlen(slot->kid) + 1 : 0;
        e->payload = gh_arena_alloc(arena, slot->payload_len + kl);
        if (e->payload) {
            memcpy(e->payload, slot->payload, slot->payload_len + kl);
            e->kid = kl ? e->payload + slot->payload_len : NULL;
        }
        hit = e->payload != NULL;
        break;
    }
    pthread_mutex_unlock(&s->mu);
    return hit;
}

void gh_token_cache_put(gh_token_cache *c, const gh_token_entry *e)
{
    if (!c->enabled)
        return;
    size_t kl = e->kid ? strlen(e->kid) + 1 : 0;
    char *copy = malloc(e->payload_len + kl);
    if (!copy)
        return;
    memcpy(copy, e->payload, e->payload_len);
    if (kl)
        memcpy(copy + e->payload_len, e->kid, kl);
    size_t at;
    gh_token_shard *s = shard_of(c, e->hash, &at);
    pthread_mutex_lock(&s->mu);
    gh_token_entry *victim = NULL;
    for (size_t i = 0; i < GH_TOKEN_CACHE_PROBE; i++) {
        gh_token_entry *slot = &s->slots[(at + i) & s->mask];
        if (!slot->payload || memcmp(slot->hash, e->hash, 32) == 0) {
            victim = slot;
            break;
        }
        if (!victim || slot->exp < victim->exp)
            victim = slot;
    }
    char *old = victim->payload;
    *victim = *e;
    victim->payload = copy;
    victim->kid = kl ? copy + e->payload_len : NULL;
    pthread_mutex_unlock(&s->mu);
    free(old);
}
