/* A-labels (xn--) in host names: the Punycode must decode (RFC 3492) and the label it spells must
 * keep the IDNA2008 rules a validator can check without the full Unicode tables: no leading
 * combining mark, none of the DISALLOWED exceptions, the CONTEXTJ and CONTEXTO rules of RFC 5892
 * appendix A for the characters they name, and no "--" in the third and fourth positions. */
#include <stdint.h>
#include <string.h>

#include "schema/schema_internal.h"

#define MAX_CP 64 /* a label is at most 63 octets, so it spells fewer code points */

/* RFC 3492 section 6.2. Returns the number of code points, or -1. */
static int punycode_decode(const char *in, size_t len, uint32_t *out)
{
    enum { BASE = 36, TMIN = 1, TMAX = 26, SKEW = 38, DAMP = 700, INITIAL_BIAS = 72, INITIAL_N = 128 };
    const char *delim = NULL;
    for (size_t i = 0; i < len; i++)
        if (in[i] == '-')
            delim = in + i;
    int n = 0;
    for (const char *p = in; delim && p < delim; p++) {
        if ((unsigned char)*p >= 0x80 || n == MAX_CP)
            return -1;
        out[n++] = (unsigned char)*p;
    }
    uint32_t code = INITIAL_N, bias = INITIAL_BIAS, i = 0;
    for (const char *p = delim ? delim + 1 : in; p < in + len;) {
        uint32_t old = i, w = 1;
        for (uint32_t k = BASE;; k += BASE) {
            if (p >= in + len)
                return -1;
            char c = *p++;
            uint32_t digit = c >= '0' && c <= '9' ? (uint32_t)(c - '0' + 26)
                           : c >= 'a' && c <= 'z' ? (uint32_t)(c - 'a')
                           : c >= 'A' && c <= 'Z' ? (uint32_t)(c - 'A') : BASE;
            if (digit >= BASE || digit > (UINT32_MAX - i) / w)
                return -1;
            i += digit * w;
            uint32_t t = k <= bias ? TMIN : k >= bias + TMAX ? TMAX : k - bias;
            if (digit < t)
                break;
            if (w > UINT32_MAX / (BASE - t))
                return -1;
            w *= BASE - t;
        }
        uint32_t delta = old == 0 ? (i - old) / DAMP : (i - old) / 2, k = 0;
        delta += delta / (uint32_t)(n + 1);
        for (; delta > ((BASE - TMIN) * TMAX) / 2; k += BASE)
            delta /= BASE - TMIN;
        bias = k + (BASE - TMIN + 1) * delta / (delta + SKEW);
        if (i / (uint32_t)(n + 1) > 0x10FFFF - code || n == MAX_CP)
            return -1;
        code += i / (uint32_t)(n + 1);
        i %= (uint32_t)(n + 1);
        if (code < 0x80 || (code >= 0xD800 && code <= 0xDFFF))
            return -1;
        memmove(out + i + 1, out + i, (size_t)(n - (int)i) * sizeof(*out));
        out[i++] = code;
        n++;
    }
    return n;
}

static bool in_ranges(uint32_t c, const uint32_t (*r)[2], size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (c >= r[i][0] && c <= r[i][1])
            return true;
    return false;
}

/* Combining marks (general category M) in the blocks where labels meet them. */
static bool is_mark(uint32_t c)
{
    static const uint32_t marks[][2] = {
        {0x0300, 0x036F}, {0x0483, 0x0489}, {0x0591, 0x05BD}, {0x05BF, 0x05C7}, {0x0610, 0x061A},
        {0x064B, 0x065F}, {0x0670, 0x0670}, {0x06D6, 0x06ED}, {0x0900, 0x0903}, {0x093A, 0x094F},
        {0x0951, 0x0957}, {0x0962, 0x0963}, {0x0981, 0x0983}, {0x09BC, 0x09D7}, {0x0A01, 0x0A03},
        {0x0A3C, 0x0A51}, {0x0B01, 0x0B03}, {0x0E31, 0x0E31}, {0x0E34, 0x0E3A}, {0x0E47, 0x0E4E},
        {0x1AB0, 0x1AFF}, {0x1DC0, 0x1DFF}, {0x20D0, 0x20FF}, {0x302A, 0x302F}, {0x3099, 0x309A},
        {0xFE20, 0xFE2F}};
    return in_ranges(c, marks, sizeof(marks) / sizeof(marks[0]));
}

static bool is_virama(uint32_t c)
{
    static const uint32_t v[] = {0x094D, 0x09CD, 0x0A4D, 0x0ACD, 0x0B4D, 0x0BCD, 0x0C4D, 0x0CCD,
                                 0x0D3B, 0x0D3C, 0x0D4D, 0x0DCA, 0x0E3A, 0x0EBA, 0x0F84, 0x1039,
                                 0x103A, 0x1714, 0x1734, 0x17D2, 0x1A60, 0x1B44, 0x1BAA, 0x1BAB,
                                 0x1BF2, 0x1BF3, 0x2D7F, 0xA806, 0xA8C4, 0xA953, 0xA9C0, 0xAAF6, 0xABED};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        if (c == v[i])
            return true;
    return false;
}

static bool greek(uint32_t c) { return (c >= 0x0370 && c <= 0x03FF && c != 0x0375) || (c >= 0x1F00 && c <= 0x1FFF); }
static bool hebrew(uint32_t c) { return c >= 0x0590 && c <= 0x05FF; }
static bool kana_han(uint32_t c)
{
    return (c >= 0x3040 && c <= 0x30FF && c != 0x30FB) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x31F0 && c <= 0x31FF) || (c >= 0x20000 && c <= 0x2FA1F);
}

/* RFC 5892 appendix A rules, for the code points they name; and the DISALLOWED exceptions. */
static bool context_ok(const uint32_t *cp, int n)
{
    bool kana = false, arabic = false, extended = false, dot = false;
    for (int i = 0; i < n; i++) {
        uint32_t c = cp[i], prev = i ? cp[i - 1] : 0, next = i + 1 < n ? cp[i + 1] : 0;
        if (c == 0x0640 || c == 0x07FA || c == 0x302E || c == 0x302F || (c >= 0x3031 && c <= 0x3035) ||
            c == 0x303B)
            return false;
        if (c == 0x00B7 && !(prev == 'l' && next == 'l'))
            return false;
        if (c == 0x0375 && !greek(next))
            return false;
        if ((c == 0x05F3 || c == 0x05F4) && !hebrew(prev))
            return false;
        if (c == 0x200D && !is_virama(prev))
            return false;
        kana |= kana_han(c);
        dot |= c == 0x30FB;
        arabic |= c >= 0x0660 && c <= 0x0669;
        extended |= c >= 0x06F0 && c <= 0x06F9;
    }
    return !(dot && !kana) && !(arabic && extended);
}

bool gh__schema_a_label_ok(const char *label, size_t len)
{
    uint32_t cp[MAX_CP];
    int n = punycode_decode(label + 4, len - 4, cp);
    bool wide = false;
    for (int i = 0; i < n; i++)
        wide |= cp[i] >= 0x80;
    if (n <= 0 || !wide || is_mark(cp[0]))
        return false;
    if (n >= 4 && cp[2] == '-' && cp[3] == '-')
        return false;
    return context_ok(cp, n);
}
