/* A growable byte buffer read from the front: what a stream or a request holds until it can be
 * passed on. Bounded by the caller's max on every append. */
#ifndef GH_CORE_BYTES_H
#define GH_CORE_BYTES_H

#include <stddef.h>

typedef struct gh_bytes {
    char *p;
    size_t len, off, cap; /* bytes [off, len) are pending */
} gh_bytes;

/* Appends n bytes (space reused once everything was read). 0, or -1 past max or out of memory. */
int gh_bytes_add(gh_bytes *b, const char *p, size_t n, size_t max);
#define GH_BYTES_LIT(b, lit, max) gh_bytes_add((b), lit, sizeof(lit) - 1, (max))

static inline size_t gh_bytes_pending(const gh_bytes *b)
{
    return b->len - b->off;
}

void gh_bytes_free(gh_bytes *b);

#endif
