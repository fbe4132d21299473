#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/json.h"

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

size_t gh_utf8_char(const unsigned char *s, size_t n)
{
    if (n == 0)
        return 0;
    if (s[0] < 0x80)
        return 1;
    size_t len = s[0] >= 0xc2 && s[0] <= 0xdf ? 2 : (s[0] & 0xf0) == 0xe0 ? 3
                                                : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : 0;
    if (!len || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
        (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
        return 0;
    return len;
}

void gh_sbuf_json_text(gh_sbuf *b, const char *s, size_t n)
{
    gh_sbuf_add(b, "\"", 1);
    gh_sbuf_json_text_chars(b, s, n);
    gh_sbuf_add(b, "\"", 1);
}

void gh_sbuf_json_text_chars(gh_sbuf *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t run = 0, i = 0; /* s[run..i): bytes that go as they are */
    while (i < n) {
        size_t len = u[i] >= 0x80 ? gh_utf8_char(u + i, n - i) : 0;
        if (len > 1 || (u[i] >= 0x20 && u[i] < 0x7f && u[i] != '"' && u[i] != '\\')) {
            i += len > 1 ? len : 1;
            continue;
        }
        gh_sbuf_add(b, s + run, i - run);
        gh_sbuf_json_chars(b, s + i, 1);
        run = ++i;
    }
    gh_sbuf_add(b, s + run, n - run);
}
