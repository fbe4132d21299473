#include <stdbool.h>

#include "core/b64url.h"

/* The value of each base64url character; 0xff for every other byte. */
static const unsigned char values[256] = {
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 62, 255, 255,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 255, 255, 255, 255, 255, 255,
    255, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 255, 255, 255, 255, 63,
    255, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
};

/* A character's value in base64url, or with standard on in base64 ('+' and '/' for '-' and '_'). */
static inline unsigned digit(unsigned char c, bool standard)
{
    if (!standard)
        return values[c];
    return c == '+' ? 62 : c == '/' ? 63 : c == '-' || c == '_' ? 255 : values[c];
}

static long decode(const char *in, size_t n, unsigned char *out, bool standard)
{
    if (n % 4 == 1)
        return -1;
    const unsigned char *p = (const unsigned char *)in;
    size_t o = 0, i = 0;
    /* Four characters make three bytes; a byte outside the alphabet sets a high bit. */
    for (; i + 4 <= n; i += 4) {
        unsigned a = digit(p[i], standard), b = digit(p[i + 1], standard),
                 c = digit(p[i + 2], standard), d = digit(p[i + 3], standard);
        if ((a | b | c | d) & 0x80)
            return -1;
        unsigned v = a << 18 | b << 12 | c << 6 | d;
        out[o++] = (unsigned char)(v >> 16);
        out[o++] = (unsigned char)(v >> 8);
        out[o++] = (unsigned char)v;
    }
    if (i == n)
        return (long)o;
    /* Two or three characters left: one or two bytes, and the bits left over must be zero
     * (no two encodings of one value). */
    unsigned a = digit(p[i], standard), b = digit(p[i + 1], standard),
             c = n - i == 3 ? digit(p[i + 2], standard) : 0;
    if ((a | b | c) & 0x80)
        return -1;
    unsigned v = a << 18 | b << 12 | c << 6;
    out[o++] = (unsigned char)(v >> 16);
    if (n - i == 3)
        out[o++] = (unsigned char)(v >> 8);
    if (v & (n - i == 3 ? 0xffu : 0xffffu))
        return -1;
    return (long)o;
}

long gh_b64url_decode(const char *in, size_t n, unsigned char *out)
{
    return decode(in, n, out, false);
}

long gh_b64_decode(const char *in, size_t n, unsigned char *out)
{
    if (n % 4 != 0)
        return -1;
    size_t pad = n && in[n - 1] == '=' ? (in[n - 2] == '=' ? 2 : 1) : 0;
    return decode(in, n - pad, out, true); /* an '=' anywhere else is no digit: refused */
}

size_t gh_b64url_encode(const unsigned char *in, size_t n, char *out)
{
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    for (size_t j = 0; j < n; j += 3) {
        unsigned v = (unsigned)in[j] << 16 | (j + 1 < n ? (unsigned)in[j + 1] << 8 : 0) |
                     (j + 2 < n ? in[j + 2] : 0);
        size_t chars = j + 2 < n ? 4 : j + 1 < n ? 3 : 2;
        for (size_t c = 0; c < chars; c++)
            out[o++] = al[(v >> (18 - 6 * c)) & 63];
    }
    out[o] = '\0';
    return o;
}
