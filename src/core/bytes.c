#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"

int gh_bytes_reserve(gh_bytes *b, size_t n, size_t max)
{
    if (b->off && b->off == b->len)
        b->off = b->len = 0;
    if (n == 0)
        return 0;
    if (b->off && b->len + n > b->cap) {
        /* What was read makes room first: a buffer read from the front while it fills (a
         * stream's body) holds what is pending, not everything that passed through it. */
        memmove(b->p, b->p + b->off, b->len - b->off);
        b->len -= b->off;
        b->off = 0;
    }
    if (b->len + n > max)
        return -1;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        char *p2 = realloc(b->p, cap);
        if (!p2)
            return -1;
        b->p = p2;
        b->cap = cap;
    }
    return 0;
}

int gh_bytes_add(gh_bytes *b, const char *p, size_t n, size_t max)
{
    if (gh_bytes_reserve(b, n, max) != 0)
        return -1;
    if (n == 0)
        return 0; /* b->p may still be NULL: NULL + 0 and memcpy from NULL are undefined */
    memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}

void gh_bytes_free(gh_bytes *b)
{
    free(b->p);
    *b = (gh_bytes){0};
}
