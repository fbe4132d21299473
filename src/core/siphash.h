/* SipHash-1-3 (Aumasson and Bernstein): a keyed 64-bit hash for tables whose keys a client
 * chooses. Without the key nobody can compute which keys share a slot, so nobody can line up
 * keys on one probe chain (hash flooding). The key is drawn at random by each table's owner
 * (a parse, a validation, a cache): there is no process-wide key to find or to share. */
#ifndef GH_CORE_SIPHASH_H
#define GH_CORE_SIPHASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct gh_sipkey {
    uint64_t k0, k1;
} gh_sipkey;

/* An incremental hash: any split of the same bytes over updates gives the same result. */
typedef struct gh_siphash {
    uint64_t v0, v1, v2, v3;
    uint64_t tail; /* bytes not yet compressed, little-endian */
    size_t len;    /* bytes seen in all */
} gh_siphash;

/* A fresh random key from the kernel. False when none could be had (the caller then refuses
 * the work or falls back to a method whose cost does not depend on the hash). */
bool gh_sipkey_random(gh_sipkey *k);

void gh_siphash_init(gh_siphash *h, const gh_sipkey *k);
void gh_siphash_update(gh_siphash *h, const void *data, size_t len);
void gh_siphash_u64(gh_siphash *h, uint64_t v); /* 8 bytes, little-endian */
uint64_t gh_siphash_final(const gh_siphash *h);

uint64_t gh_siphash13(const gh_sipkey *k, const void *data, size_t len);

#endif
