/* A growable byte buffer read from the front: what a stream or a request holds until it can be
 * passed on, an answer being received, commands waiting to be sent, a text being rendered.
 * Bounded by the caller's max on every append: growing past it fails rather than grows, so a
 * peer cannot make it hold more than its owner allows. A zeroed gh_bytes is empty. */
#ifndef GH_CORE_BYTES_H
#define GH_CORE_BYTES_H

#include <stddef.h>

typedef struct gh_bytes {
    char *p;
    size_t len, off, cap; /* bytes [off, len) are pending */
} gh_bytes;

/* Makes room for n more bytes at p + len (the pending bytes moved to the front first when that
 * avoids growing), doubling the capacity. 0, or -1 when len + n passes max or memory ran out
 * (the pending bytes are then unchanged). */
int gh_bytes_reserve(gh_bytes *b, size_t n, size_t max);
/* Appends n bytes (space reused once everything was read). 0, or -1 past max or out of memory. */
int gh_bytes_add(gh_bytes *b, const char *p, size_t n, size_t max);
#define GH_BYTES_LIT(b, lit, max) gh_bytes_add((b), lit, sizeof(lit) - 1, (max))

static inline size_t gh_bytes_pending(const gh_bytes *b)
{
    return b->len - b->off;
}

void gh_bytes_free(gh_bytes *b);

#endif
