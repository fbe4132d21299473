#include <stdlib.h>

#include "core/block.h"

void gh_block_pool_init(gh_block_pool *p, size_t max_free)
{
    p->free = NULL;
    p->nfree = 0;
    p->max_free = max_free;
    p->in_use = 0;
}

void gh_block_pool_free(gh_block_pool *p)
{
    while (p->free) {
        gh_block *b = p->free;
        p->free = b->next;
        free(b);
    }
    p->nfree = 0;
}

gh_block *gh_block_get(gh_block_pool *p)
{
    gh_block *b = p->free;
    if (b) {
        p->free = b->next;
        p->nfree--;
    } else if (!(b = malloc(sizeof(*b)))) {
        return NULL;
    }
    b->next = NULL;
    b->off = b->len = 0;
    p->in_use++;
    return b;
}

void gh_block_put(gh_block_pool *p, gh_block *b)
{
    if (!b)
        return;
    p->in_use--;
    if (p->nfree < p->max_free) {
        b->next = p->free;
        p->free = b;
        p->nfree++;
    } else {
        free(b);
    }
}
