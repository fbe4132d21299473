/* Fixed-size I/O blocks from a per-worker free list: connection input buffers and queued
 * output. An idle connection holds none, so idle keep-alive connections stay small. */
#ifndef GH_CORE_BLOCK_H
#define GH_CORE_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#define GH_BLOCK_SIZE (32u * 1024u)

typedef struct gh_block {
    struct gh_block *next;
    uint32_t off; /* first unconsumed byte */
    uint32_t len; /* bytes filled */
    char data[GH_BLOCK_SIZE];
} gh_block;

typedef struct gh_block_pool {
    gh_block *free;
    size_t nfree;
    size_t max_free; /* blocks kept for reuse; the rest go back to malloc */
    size_t in_use;
} gh_block_pool;

void gh_block_pool_init(gh_block_pool *p, size_t max_free);
void gh_block_pool_free(gh_block_pool *p);
/* An empty block, or NULL when out of memory. */
gh_block *gh_block_get(gh_block_pool *p);
void gh_block_put(gh_block_pool *p, gh_block *b);

#endif
