/* Time and identifiers: the one monotonic clock every module reads, wall-clock timestamps for
 * logs, and the request id generator (its state is the caller's: one per worker). */
#ifndef GH_CORE_CLOCK_H
#define GH_CORE_CLOCK_H

#include <stdint.h>

/* Microseconds on a monotonic clock. */
uint64_t gh_now_us(void);
/* Milliseconds on the same clock. */
int64_t gh_monotonic_ms(void);
/* The wall-clock time now as RFC 3339 UTC with milliseconds: "2026-01-02T03:04:05.678Z". */
void gh_format_rfc3339_ms(char out[32]);
/* The same for the time ts (years beyond 0000-9999 are written as the nearest bound). */
struct timespec;
void gh_format_rfc3339_ms_at(const struct timespec *ts, char out[32]);

/* The Date of an HTTP response (RFC 9110 §5.6.7 IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT"),
 * formatted once per second per owner: a worker keeps one, so that no state is shared. */
typedef struct gh_http_date {
    int64_t second; /* the wall-clock second text was formatted for */
    char text[32];  /* 29 characters and a NUL */
} gh_http_date;
/* The date now; the text stays valid until the next call on d. */
const char *gh_http_date_now(gh_http_date *d);

/* A request id generator (xorshift128+), seeded from the kernel's random source. */
typedef struct gh_id_gen {
    uint64_t seed[2];
} gh_id_gen;
/* Seeds the generator; salt separates generators seeded in the same microsecond when the kernel
 * has no randomness to give. */
void gh_id_gen_seed(gh_id_gen *g, uint64_t salt);
/* A fresh 128-bit id as 32 lowercase hex characters plus NUL. */
void gh_id_gen_next(gh_id_gen *g, char out[33]);
/* The generator's next 64 bits: dice for decisions taken per request (fault injection), drawn
 * from the worker's generator so that no state is shared between workers. */
uint64_t gh_id_gen_u64(gh_id_gen *g);

#endif
