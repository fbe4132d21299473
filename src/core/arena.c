#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"

struct gh_arena_chunk {
    gh_arena_chunk *next;
    size_t cap;
    size_t used;
    _Alignas(16) unsigned char data[];
};

struct gh_arena_cleanup {
    void (*fn)(void *);
    void *ptr;
    gh_arena_cleanup *next;
};

void gh_arena_init(gh_arena *a, size_t chunk_size, size_t limit)
{
    gh_arena_init_spares(a, chunk_size, limit, NULL);
}

void gh_arena_init_spares(gh_arena *a, size_t chunk_size, size_t limit, gh_arena_spares *spares)
{
    a->head = NULL;
    a->spares = spares;
    a->chunk_size = chunk_size;
    a->limit = limit;
    a->total = 0;
    a->cleanups = NULL;
}

void *gh_arena_alloc(gh_arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n == 0)
        n = 16;
    gh_arena_chunk *c = a->head;
    if (c && c->cap - c->used >= n) {
        void *p = c->data + c->used;
        c->used += n;
        return p;
    }
    size_t cap = n > a->chunk_size ? n : a->chunk_size;
    if (a->limit && a->total + cap > a->limit)
        return NULL;
    if (cap == a->chunk_size && a->spares && a->spares->free) {
        c = a->spares->free;
        a->spares->free = c->next;
        a->spares->n--;
    } else if (!(c = malloc(sizeof(*c) + cap))) {
        return NULL;
    }
    c->cap = cap;
    c->used = n;
    a->total += cap;
    if (a->head && cap > a->chunk_size) {
        /* An oversized allocation goes behind the current chunk so its free space stays usable. */
        c->next = a->head->next;
        a->head->next = c;
    } else {
        c->next = a->head;
        a->head = c;
    }
    return c->data;
}

void *gh_arena_zalloc(gh_arena *a, size_t n)
{
    void *p = gh_arena_alloc(a, n);
    if (p)
        memset(p, 0, n);
    return p;
}

char *gh_arena_strndup(gh_arena *a, const char *s, size_t n)
{
    char *p = gh_arena_alloc(a, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

char *gh_arena_strdup(gh_arena *a, const char *s)
{
    return gh_arena_strndup(a, s, strlen(s));
}

int gh_arena_defer(gh_arena *a, void (*fn)(void *), void *ptr)
{
    gh_arena_cleanup *c = gh_arena_alloc(a, sizeof(*c));
    if (!c) {
        fn(ptr);
        return -1;
    }
    *c = (gh_arena_cleanup){fn, ptr, a->cleanups};
    a->cleanups = c;
    return 0;
}

/* The records live in the arena: each is read before the memory goes. */
static void run_cleanups(gh_arena *a)
{
    while (a->cleanups) {
        gh_arena_cleanup *c = a->cleanups;
        a->cleanups = c->next;
        c->fn(c->ptr);
    }
}

void gh_arena_reset(gh_arena *a)
{
    run_cleanups(a);
    gh_arena_chunk *keep = NULL;
    gh_arena_chunk *c = a->head;
    while (c) {
        gh_arena_chunk *next = c->next;
        if (!keep && c->cap == a->chunk_size) {
            keep = c;
        } else {
            free(c);
        }
        c = next;
    }
    a->head = keep;
    a->total = 0;
    if (keep) {
        keep->next = NULL;
        keep->used = 0;
        a->total = keep->cap;
    }
}

void gh_arena_free(gh_arena *a)
{
    run_cleanups(a);
    gh_arena_chunk *c = a->head;
    while (c) {
        gh_arena_chunk *next = c->next;
        gh_arena_spares *s = a->spares;
        if (s && c->cap == a->chunk_size && s->n < s->max) {
            c->next = s->free;
            s->free = c;
            s->n++;
        } else {
            free(c);
        }
        c = next;
    }
    a->head = NULL;
    a->total = 0;
}

void gh_arena_spares_free(gh_arena_spares *s)
{
    while (s->free) {
        gh_arena_chunk *c = s->free;
        s->free = c->next;
        free(c);
    }
    s->n = 0;
}

char *gh_arena_vprintf(gh_arena *a, const char *fmt, va_list ap)
{
    char small[512];
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    char *s = NULL;
    if (n >= 0 && (size_t)n < sizeof(small))
        s = gh_arena_strndup(a, small, (size_t)n);
    else if (n >= 0 && (s = gh_arena_alloc(a, (size_t)n + 1)))
        vsnprintf(s, (size_t)n + 1, fmt, again);
    va_end(again);
    return s;
}

char *gh_arena_printf(gh_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = gh_arena_vprintf(a, fmt, ap);
    va_end(ap);
    return s;
}
