/* Appending JSON text to a bounded buffer: escaping for log lines and problem bodies. */
#ifndef GH_CORE_JSON_H
#define GH_CORE_JSON_H

#include <stddef.h>
#include <string.h>

typedef struct gh_sbuf {
    char *p;
    size_t len, cap;
    int overflow; /* set when something did not fit; the text is then truncated */
} gh_sbuf;

static inline gh_sbuf gh_sbuf_make(char *p, size_t cap)
{
    return (gh_sbuf){p, 0, cap, 0};
}
/* Inline: JSON lines are built of many short pieces, most of them literals whose copy the
 * compiler then makes a few moves. */
static inline void gh_sbuf_add(gh_sbuf *b, const char *s, size_t n)
{
    if (b->len + n > b->cap) {
        n = b->cap - b->len;
        b->overflow = 1;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}
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
/* s as a JSON string for a reader that shows it (the admin API, the dashboard): UTF-8 characters
 * kept as they are, control characters, quotes and bytes that are no UTF-8 escaped as by
 * gh_sbuf_json_str. */
void gh_sbuf_json_text(gh_sbuf *b, const char *s, size_t n);
/* The same without the quotes; a character cut at the end is escaped byte by byte. */
void gh_sbuf_json_text_chars(gh_sbuf *b, const char *s, size_t n);
/* The length of the UTF-8 character at s (n bytes left), or 0 when there is none: overlong
 * forms, surrogates and code points beyond U+10FFFF are refused (RFC 3629). */
size_t gh_utf8_char(const unsigned char *s, size_t n);

#endif
