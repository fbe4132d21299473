/* Hexadecimal digits, both ways, for the parsers and formatters that meet them (chunk sizes,
 * percent-encoding, digests). */
#ifndef GH_CORE_HEX_H
#define GH_CORE_HEX_H

#include <stddef.h>

/* The value of a hex digit (either case), or -1 when c is none. */
static inline int gh_hex_digit(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* n bytes as 2n lower-case hex digits (out has room for them; no NUL is written). */
static inline void gh_hex_encode(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
}

#endif
