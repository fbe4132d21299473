/* Verified-token cache, shared by the workers of one configuration snapshot: a token that
 * verified once is not verified again until it expires. Keyed by SHA-256 of the whole token;
 * bounded; sharded locks so workers rarely meet. A hit still checks exp and nbf against now. */
#ifndef GH_IDENTITY_TOKEN_CACHE_H
#define GH_IDENTITY_TOKEN_CACHE_H

#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/siphash.h"

#define GH_TOKEN_CACHE_SHARDS 64
#define GH_TOKEN_CACHE_PROBE 8

/* What a verified token leaves behind: its validity window and its claims, flattened (see
 * gh_claims_flatten), so a hit needs no JSON parsing. */
typedef struct gh_token_entry {
    unsigned char hash[32];
    int64_t exp, nbf;        /* seconds; nbf 0 when absent */
    const char *kid;         /* of the key that verified it (NULL: none); kept with the payload */
    unsigned char print[32]; /* that key's material: a token dies when its key leaves the set */
    uint64_t generation;     /* of the key set then (0: keys in the configuration) */
    bool negative;           /* an introspection answer that refused the token ... */
    uint16_t status;         /* ... and why (a gh_jws_status) */
    char *payload;           /* flattened claims, malloc'd in the cache, the kid after them */
    size_t payload_len;
} gh_token_entry;

typedef struct gh_token_shard {
    pthread_mutex_t mu;
    gh_token_entry *slots;
    size_t mask;
} gh_token_shard;

typedef struct gh_token_cache {
    gh_token_shard shards[GH_TOKEN_CACHE_SHARDS];
    /* Where an entry goes is a keyed hash of its digest under this cache's random key: digests
     * of chosen tokens (or signatures, or questions) are public, and without the key nobody can
     * grind inputs onto one shard's probe window to push others' entries out. */
    gh_sipkey key;
    bool enabled;
} gh_token_cache;

/* capacity: entries in all (0 disables the cache). Returns 0 or -1. */
int gh_token_cache_init(gh_token_cache *c, size_t capacity);
void gh_token_cache_free(gh_token_cache *c);
/* A cache on the heap (NULL when out of memory), and its end (NULL is fine). */
gh_token_cache *gh_token_cache_new(size_t capacity);
void gh_token_cache_delete(gh_token_cache *c);

/* SHA-256 of a token. md is a fetched SHA-256 and ctx a context, both owned by the caller's
 * thread: the one-shot helpers look the algorithm up (under a lock) on every call. */
void gh_token_hash(EVP_MD_CTX *ctx, const EVP_MD *md, const char *token, size_t len,
                   unsigned char out[32]);

/* The cache key of a compact JWS: SHA-256 of the token, except that an ECDSA-length signature
 * is hashed in its canonical low-s form (gh_jws_ecdsa_low_s), so the two spellings of one
 * ECDSA token are one entry. A signature of another length (or not base64url) is hashed as
 * written: that is gh_token_hash. */
void gh_token_digest(EVP_MD_CTX *ctx, const EVP_MD *md, const char *token, size_t len,
                     unsigned char out[32]);

/* On a hit, copies the entry's payload and kid into arena and fills *e (pointing into arena);
 * an entry past exp at now is a miss. */
bool gh_token_cache_get(gh_token_cache *c, const unsigned char hash[32], int64_t now,
                        gh_arena *arena, gh_token_entry *e);
/* Stores a verified token (payload and kid copied). When the token's slots are full, the entry that
 * expires first gives way. */
void gh_token_cache_put(gh_token_cache *c, const gh_token_entry *e);

#endif
