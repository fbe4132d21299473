#include "core/b64url.h"

static int val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

long gh_b64url_decode(const char *in, size_t n, unsigned char *out)
{
    if (n % 4 == 1)
        return -1;
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = val((unsigned char)in[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0) /* leftover bits must be zero: no two encodings of one value */
        return -1;
    return (long)o;
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
