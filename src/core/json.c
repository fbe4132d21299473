#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/json.h"

void gh_sbuf_add(gh_sbuf *b, const char *s, size_t n)
{
    if (b->len + n > b->cap) {
        n = b->cap - b->len;
        b->overflow = 1;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

void gh_sbuf_adds(gh_sbuf *b, const char *s)
{
    gh_sbuf_add(b, s, strlen(s));
}

void gh_sbuf_add_u64(gh_sbuf *b, unsigned long long v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[sizeof(tmp) - 1 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    gh_sbuf_add(b, tmp + sizeof(tmp) - n, n);
}

void gh_sbuf_addf(gh_sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = b->cap - b->len;
    int n = vsnprintf(b->p + b->len, room, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= room) {
        b->overflow = 1;
        b->len = b->cap;
    } else {
        b->len += (size_t)n;
    }
}

void gh_sbuf_json_str(gh_sbuf *b, const char *s, size_t n)
{
    gh_sbuf_add(b, "\"", 1);
    gh_sbuf_json_chars(b, s, n);
    gh_sbuf_add(b, "\"", 1);
}

void gh_sbuf_json_chars(gh_sbuf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
            continue;
        gh_sbuf_add(b, s + run, i - run);
        run = i + 1;
        char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        if (c == '"' || c == '\\') {
            esc[1] = (char)c;
            gh_sbuf_add(b, esc, 2);
        } else {
            gh_sbuf_add(b, esc, 6);
        }
    }
    gh_sbuf_add(b, s + run, n - run);
}
