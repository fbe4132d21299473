#include <stdint.h>
#include <string.h>

#include "core/gzip.h"

#define WINDOW 32768
#define HASH_BITS 14
#define MIN_MATCH 3
#define MAX_MATCH 258

typedef struct bit_writer {
    unsigned char *out;
    size_t len;
    uint32_t bits;
    unsigned nbits;
} bit_writer;

/* Values go least significant bit first (RFC 1951 3.1.1). */
static void put_bits(bit_writer *w, uint32_t value, unsigned count)
{
    w->bits |= value << w->nbits;
    w->nbits += count;
    while (w->nbits >= 8) {
        w->out[w->len++] = (unsigned char)w->bits;
        w->bits >>= 8;
        w->nbits -= 8;
    }
}

/* Huffman codes go most significant bit first: reversed into the stream. */
static void put_code(bit_writer *w, uint32_t code, unsigned count)
{
    uint32_t rev = 0;
    for (unsigned i = 0; i < count; i++)
        rev |= ((code >> i) & 1u) << (count - 1 - i);
    put_bits(w, rev, count);
}

/* A literal or length symbol in the fixed code (RFC 1951 3.2.6). */
static void put_symbol(bit_writer *w, unsigned sym)
{
    if (sym < 144)
        put_code(w, 0x30 + sym, 8);
    else if (sym < 256)
        put_code(w, 0x190 + (sym - 144), 9);
    else if (sym < 280)
        put_code(w, sym - 256, 7);
    else
        put_code(w, 0xc0 + (sym - 280), 8);
}

/* Lengths and distances: each code's base and its extra bits (RFC 1951 3.2.5). */
static const uint16_t len_base[29] = {
    3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23,  27,
    31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258,
};
static const uint8_t len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                      2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint16_t dist_base[30] = {
    1,   2,   3,   4,   5,   7,    9,    13,   17,   25,   33,   49,   65,    97,    129,
    193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
};
static const uint8_t dist_extra[30] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                       6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

static void put_match(bit_writer *w, unsigned length, unsigned distance)
{
    unsigned i = 28;
    while (len_base[i] > length)
        i--;
    put_symbol(w, 257 + i);
    put_bits(w, length - len_base[i], len_extra[i]);
    unsigned d = 29;
    while (dist_base[d] > distance)
        d--;
    put_code(w, d, 5);
    put_bits(w, distance - dist_base[d], dist_extra[d]);
}

static uint32_t crc32_of(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return c ^ 0xffffffffu;
}

static unsigned hash3(const unsigned char *p)
{
    uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
    return (v * 2654435761u) >> (32 - HASH_BITS);
}

size_t gh_gzip_bound(size_t n)
{
    return n + n / 8 + 32; /* 9 bits per literal at worst, the header and the trailer */
}

static void put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

size_t gh_gzip(const void *in, size_t n, void *out)
{
    static const unsigned char header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff};
    const unsigned char *src = in;
    bit_writer w = {.out = out, .len = sizeof(header)};
    memcpy(w.out, header, sizeof(header));
    int32_t last[1u << HASH_BITS]; /* the latest position of each hash of three bytes */
    for (size_t i = 0; i < (1u << HASH_BITS); i++)
        last[i] = -1;
    put_bits(&w, 1, 1); /* the final block */
    put_bits(&w, 1, 2); /* fixed Huffman codes */
    for (size_t i = 0; i < n;) {
        unsigned length = 0;
        size_t distance = 0;
        if (i + MIN_MATCH <= n) {
            unsigned h = hash3(src + i);
            int64_t cand = last[h];
            last[h] = (int32_t)i;
            if (cand >= 0 && i - (size_t)cand <= WINDOW) {
                size_t max = n - i < MAX_MATCH ? n - i : MAX_MATCH;
                while (length < max && src[(size_t)cand + length] == src[i + length])
                    length++;
                distance = i - (size_t)cand;
            }
        }
        if (length >= MIN_MATCH) {
            put_match(&w, length, (unsigned)distance);
            for (size_t k = i + 1; k < i + length && k + MIN_MATCH <= n; k++)
                last[hash3(src + k)] = (int32_t)k;
            i += length;
        } else {
            put_symbol(&w, src[i]);
            i++;
        }
    }
    put_symbol(&w, 256); /* the block's end */
    if (w.nbits)
        put_bits(&w, 0, 8 - w.nbits);
    put_le32(w.out + w.len, crc32_of(src, n));
    put_le32(w.out + w.len + 4, (uint32_t)n);
    return w.len + 8;
}
