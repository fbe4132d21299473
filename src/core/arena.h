/* Bump allocator: many small allocations, one release. Used for a request (reset when the
 * request ends) and for a configuration snapshot (freed with it). */
#ifndef GH_CORE_ARENA_H
#define GH_CORE_ARENA_H

#include <stdarg.h>
#include <stddef.h>

typedef struct gh_arena_chunk gh_arena_chunk;
typedef struct gh_arena_cleanup gh_arena_cleanup;

/* Spare regular-size chunks kept by their owner (a worker) so that a request's arena reuses
 * memory instead of calling malloc and free each time. */
typedef struct gh_arena_spares {
    gh_arena_chunk *free;
    size_t n, max;
} gh_arena_spares;

typedef struct gh_arena {
    gh_arena_chunk *head;
    gh_arena_spares *spares; /* may be NULL */
    size_t chunk_size;       /* size of a regular chunk's data */
    size_t limit;            /* total bytes this arena may hold (0: no limit) */
    size_t total;
    gh_arena_cleanup *cleanups; /* run when the arena is reset or freed, newest first */
} gh_arena;

void gh_arena_init(gh_arena *a, size_t chunk_size, size_t limit);
/* Same, taking and returning regular chunks through spares (all of chunk_size). */
void gh_arena_init_spares(gh_arena *a, size_t chunk_size, size_t limit, gh_arena_spares *spares);
void gh_arena_spares_free(gh_arena_spares *s);
/* Returns 16-byte aligned memory, or NULL when the limit is reached or malloc fails. */
void *gh_arena_alloc(gh_arena *a, size_t n);
void *gh_arena_zalloc(gh_arena *a, size_t n);
char *gh_arena_strndup(gh_arena *a, const char *s, size_t n);
char *gh_arena_strdup(gh_arena *a, const char *s);
/* printf into the arena; NULL when out of memory or the format fails. */
char *gh_arena_printf(gh_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *gh_arena_vprintf(gh_arena *a, const char *fmt, va_list ap);
/* Runs fn(ptr) when the arena is reset or freed, after the cleanups deferred later: what the
 * arena's memory points at (a context, a file's text, a shared reference) goes with it. When
 * the record cannot be allocated, fn(ptr) runs now and -1 is returned: ptr is gone either way. */
int gh_arena_defer(gh_arena *a, void (*fn)(void *), void *ptr);
/* Forgets every allocation but keeps the first chunk for reuse. */
void gh_arena_reset(gh_arena *a);
void gh_arena_free(gh_arena *a);

#endif
