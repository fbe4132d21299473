#include <string.h>
#include <sys/random.h>

#include "core/siphash.h"

/* Rounds per word and at the end: 1 and 3. */
#ifndef GH_SIP_C
#define GH_SIP_C 1
#define GH_SIP_D 3
#endif

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static void round1(gh_siphash *h)
{
    h->v0 += h->v1;
    h->v1 = ROTL(h->v1, 13);
    h->v1 ^= h->v0;
    h->v0 = ROTL(h->v0, 32);
    h->v2 += h->v3;
    h->v3 = ROTL(h->v3, 16);
    h->v3 ^= h->v2;
    h->v0 += h->v3;
    h->v3 = ROTL(h->v3, 21);
    h->v3 ^= h->v0;
    h->v2 += h->v1;
    h->v1 = ROTL(h->v1, 17);
    h->v1 ^= h->v2;
    h->v2 = ROTL(h->v2, 32);
}

static void compress(gh_siphash *h, uint64_t m)
{
    h->v3 ^= m;
    for (int i = 0; i < GH_SIP_C; i++)
        round1(h);
    h->v0 ^= m;
}

bool gh_sipkey_random(gh_sipkey *k)
{
    return getrandom(k, sizeof(*k), 0) == (ssize_t)sizeof(*k);
}

void gh_siphash_init(gh_siphash *h, const gh_sipkey *k)
{
    h->v0 = k->k0 ^ 0x736f6d6570736575ull;
    h->v1 = k->k1 ^ 0x646f72616e646f6dull;
    h->v2 = k->k0 ^ 0x6c7967656e657261ull;
    h->v3 = k->k1 ^ 0x7465646279746573ull;
    h->tail = 0;
    h->len = 0;
}

void gh_siphash_update(gh_siphash *h, const void *data, size_t len)
{
    const unsigned char *p = data, *end = p + len;
    while (p < end && h->len % 8) { /* finish a word begun by an earlier update */
        h->tail |= (uint64_t)*p++ << (8 * (h->len % 8));
        if (++h->len % 8 == 0) {
            compress(h, h->tail);
            h->tail = 0;
        }
    }
    for (; end - p >= 8; p += 8, h->len += 8) {
        uint64_t m = 0;
        for (int i = 7; i >= 0; i--)
            m = m << 8 | p[i];
        compress(h, m);
    }
    for (; p < end; p++, h->len++)
        h->tail |= (uint64_t)*p << (8 * (h->len % 8));
}

void gh_siphash_u64(gh_siphash *h, uint64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    gh_siphash_update(h, b, sizeof(b));
}

uint64_t gh_siphash_final(const gh_siphash *in)
{
    gh_siphash h = *in;
    compress(&h, h.tail | (uint64_t)h.len << 56);
    h.v2 ^= 0xff;
    for (int i = 0; i < GH_SIP_D; i++)
        round1(&h);
    return h.v0 ^ h.v1 ^ h.v2 ^ h.v3;
}

uint64_t gh_siphash13(const gh_sipkey *k, const void *data, size_t len)
{
    gh_siphash h;
    gh_siphash_init(&h, k);
    gh_siphash_update(&h, data, len);
    return gh_siphash_final(&h);
}
