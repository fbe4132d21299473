/* Appending JSON text to a bounded buffer: escaping for log lines and problem bodies. */
#ifndef GH_CORE_JSON_H
#define GH_CORE_JSON_H

#include <stddef.h>

typedef struct gh_sbuf {
    char *p;
    size_t len, cap;
    int overflow; /* set when something did not fit; the text is then truncated */
} gh_sbuf;

static inline gh_sbuf gh_sbuf_make(char *p, size_t cap)
{
    return (gh_sbuf){p, 0, cap, 0};
}
void gh_sbuf_add(gh_sbuf *b, const char *s, size_t n);
void gh_sbuf_adds(gh_sbuf *b, const char *s);
/* Appends a string literal without measuring it at run time. */
#define GH_SBUF_LIT(b, lit) gh_sbuf_add((b), (lit), sizeof(lit) - 1)
/* Appends v in decimal (the hot path avoids printf). */
void gh_sbuf_add_u64(gh_sbuf *b, unsigned long long v);
void gh_sbuf_addf(gh_sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string with its quotes; bytes that are not valid printable ASCII are
 * escaped as \u00XX so a log line is always valid JSON. */
void gh_sbuf_json_str(gh_sbuf *b, const char *s, size_t n);
/* The same escaping without the quotes: for a string built from several pieces. */
void gh_sbuf_json_chars(gh_sbuf *b, const char *s, size_t n);

#endif
