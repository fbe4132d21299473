/* gzip (RFC 1952) of a buffer in one call: deflate (RFC 1951) with the fixed Huffman codes and
 * a single-probe hash for matches. Not the smallest output, but no dependency and a bounded,
 * predictable cost: JSON of spans shrinks several times over. */
#ifndef GH_CORE_GZIP_H
#define GH_CORE_GZIP_H

#include <stddef.h>

/* The most bytes gh_gzip writes for n bytes of input. */
size_t gh_gzip_bound(size_t n);
/* Compresses in[0..n) into out (room for gh_gzip_bound(n) bytes); returns the length. */
size_t gh_gzip(const void *in, size_t n, void *out); /* n < 2 GiB */

#endif
