#include <openssl/crypto.h>
#include <string.h>

#include "identity/api_keys.h"

static size_t slot_of(const unsigned char digest[32], size_t mask)
{
    uint64_t h;
    memcpy(&h, digest, sizeof(h));
    return (size_t)h & mask;
}

int gh_api_keys_index(gh_api_key_provider *p, gh_arena *arena)
{
    size_t n = 8;
    while (n < 2 * p->nkeys)
        n <<= 1;
    p->slots = gh_arena_zalloc(arena, n * sizeof(uint32_t));
    if (!p->slots)
        return -1;
    p->slot_mask = n - 1;
    for (size_t k = 0; k < p->nkeys; k++) {
        size_t i = slot_of(p->keys[k].digest, p->slot_mask);
        while (p->slots[i])
            i = (i + 1) & p->slot_mask;
        p->slots[i] = (uint32_t)(k + 1);
    }
    return 0;
}

const gh_api_key *gh_api_key_find(const gh_api_key_provider *p, const unsigned char digest[32])
{
    if (!p->slots)
        return NULL;
    for (size_t i = slot_of(digest, p->slot_mask);; i = (i + 1) & p->slot_mask) {
        uint32_t at = p->slots[i];
        if (!at)
            return NULL;
        const gh_api_key *k = &p->keys[at - 1];
        if (CRYPTO_memcmp(k->digest, digest, 32) == 0)
            return k;
    }
}
