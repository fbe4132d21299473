#include <string.h>

#include "core/hex.h"
#include "wire/normalize.h"

#define GH_MAX_SEGMENTS 256

static const char hexdigits[] = "0123456789ABCDEF";

static bool unreserved(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

static bool control(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

/* UTF-8 of the decoded bytes, one byte at a time (RFC 3629: no overlong forms, no surrogates,
 * nothing above U+10FFFF). */
typedef struct utf8 {
    uint8_t need, lo, hi;
} utf8;

static bool utf8_step(utf8 *u, unsigned char b)
{
    if (u->need) {
        if (b < u->lo || b > u->hi)
            return false;
        u->need--;
        u->lo = 0x80, u->hi = 0xBF;
        return true;
    }
    u->lo = 0x80, u->hi = 0xBF;
    if (b < 0x80)
        return true;
    if (b >= 0xC2 && b <= 0xDF)
        u->need = 1;
    else if (b >= 0xE0 && b <= 0xEF)
        u->need = 2, u->lo = b == 0xE0 ? 0xA0 : 0x80, u->hi = b == 0xED ? 0x9F : 0xBF;
    else if (b >= 0xF0 && b <= 0xF4)
        u->need = 3, u->lo = b == 0xF0 ? 0x90 : 0x80, u->hi = b == 0xF4 ? 0x8F : 0xBF;
    else
        return false;
    return true;
}

static void put_escape(char *out, size_t *n, unsigned char v)
{
    out[(*n)++] = '%';
    out[(*n)++] = hexdigits[v >> 4];
    out[(*n)++] = hexdigits[v & 15];
}

/* A separator the rules turn '\' or %2F into: reject, keep escaped, or a '/'. */
static gh_reason separator(uint8_t mode, unsigned char v, char *out, size_t *n, gh_reason reason,
                           const char **detail, const char *what)
{
    if (mode == GH_PATH_REJECT) {
        *detail = what;
        return reason;
    }
    if (mode == GH_PATH_DECODE)
        out[(*n)++] = '/';
    else
        put_escape(out, n, v);
    return GH_R_OK;
}

/* Pass one: escapes decoded where that changes nothing a backend could read differently, the
 * rest upper-cased; the rules applied to '\', %2F and ';'. */
static gh_reason decode(const char *p, size_t len, const gh_path_rules *rules, char *out,
                        size_t *out_len, const char **detail)
{
    size_t n = 0;
    utf8 u = {0, 0x80, 0xBF};
    bool utf8_ok = true;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        gh_reason r = GH_R_OK;
        if (c == '%') {
            int hi = i + 2 < len ? gh_hex_digit((unsigned char)p[i + 1]) : -1;
            int lo = i + 2 < len ? gh_hex_digit((unsigned char)p[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                *detail = "a malformed percent-escape in the path";
                return GH_R_BAD_PATH;
            }
            i += 2;
            c = (unsigned char)(hi << 4 | lo);
            utf8_ok = utf8_ok && utf8_step(&u, c);
            if (c == '/')
                r = separator(rules->encoded_slash, c, out, &n, GH_R_ENCODED_SLASH, detail,
                              "an encoded slash (%2F) in the path");
            else if (c == '\\')
                r = separator(rules->backslash, c, out, &n, GH_R_BACKSLASH, detail,
                              "an encoded backslash (%5C) in the path");
            else if (control(c)) {
                *detail = "an encoded control character or NUL in the path";
                return GH_R_PATH_CONTROL;
            } else if (unreserved(c))
                out[n++] = (char)c;
            else
                put_escape(out, &n, c);
        } else {
            utf8_ok = utf8_ok && utf8_step(&u, c);
            if (c == '\\')
                r = separator(rules->backslash, c, out, &n, GH_R_BACKSLASH, detail,
                              "a backslash in the path");
            else if (control(c) || c >= 0x80) {
                *detail = "a raw control character or non-ASCII byte in the path";
                return GH_R_PATH_CONTROL;
            } else if (c == ';' && rules->parameters == GH_PATH_REJECT) {
                *detail = "';' parameters in a path segment";
                return GH_R_PATH_PARAMETERS;
            } else
                out[n++] = (char)c;
        }
        if (r != GH_R_OK)
            return r;
    }
    if ((!utf8_ok || u.need) && rules->invalid_utf8 == GH_PATH_REJECT) {
        *detail = "escaped bytes in the path that are not UTF-8";
        return GH_R_PATH_UTF8;
    }
    *out_len = n;
    return GH_R_OK;
}

/* "." or "..", bare or followed by ';' parameters. */
static int dots(const char *s, size_t len, bool *params)
{
    size_t d = 0;
    while (d < len && d < 3 && s[d] == '.')
        d++;
    *params = d < len && s[d] == ';';
    return (d == 1 || d == 2) && (d == len || *params) ? (int)d : 0;
}

gh_reason gh_normalize_path(const char *path, size_t len, const gh_path_rules *rules, char *out,
                            size_t *out_len, const char **detail)
{
    if (len == 0 || path[0] != '/') {
        *detail = "the path does not start with /";
        return GH_R_BAD_PATH;
    }
    size_t dlen;
    gh_reason r = decode(path, len, rules, out, &dlen, detail);
    if (r != GH_R_OK)
        return r;

    /* Remove dot segments (and empty ones, unless kept) in place: out is rewritten from the
     * front, never faster than it is read. */
    size_t starts[GH_MAX_SEGMENTS];
    size_t nseg = 0, w = 0, rd = 1;
    bool trailing = false;
    while (rd <= dlen) {
        size_t e = rd;
        while (e < dlen && out[e] != '/')
            e++;
        size_t slen = e - rd;
        bool last = e >= dlen, params;
        int d = dots(out + rd, slen, &params);
        if (d && params) {
            *detail = "a dot segment with ';' parameters";
            return GH_R_PATH_PARAMETERS;
        }
        if ((slen == 0 && !rules->keep_slashes) || d == 1) {
            trailing = last;
        } else if (d == 2) {
            if (nseg == 0) {
                *detail = "a '..' segment climbs above the root";
                return GH_R_PATH_ABOVE_ROOT;
            }
            w = starts[--nseg];
            trailing = last;
        } else if (slen == 0 && last) {
            trailing = true; /* "/a/" keeps its one trailing slash */
        } else {
            if (nseg == GH_MAX_SEGMENTS) {
                *detail = "more than 256 path segments";
                return GH_R_BAD_PATH;
            }
            starts[nseg++] = w;
            out[w++] = '/';
            memmove(out + w, out + rd, slen);
            w += slen;
            trailing = false;
        }
        rd = e + 1;
    }
    if (w == 0 || trailing)
        out[w++] = '/';
    out[w] = '\0';
    *out_len = w;
    return GH_R_OK;
}

gh_reason gh_check_query(const char *q, size_t len, const char **detail)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)q[i];
        if (c == '%') {
            int hi = i + 2 < len ? gh_hex_digit((unsigned char)q[i + 1]) : -1;
            int lo = i + 2 < len ? gh_hex_digit((unsigned char)q[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                *detail = "a malformed percent-escape in the query";
                return GH_R_BAD_QUERY;
            }
            if (control((unsigned char)(hi << 4 | lo))) {
                *detail = "an encoded control character or NUL in the query";
                return GH_R_BAD_QUERY;
            }
            i += 2;
        } else if (control(c) || c >= 0x80 || c == '#') {
            *detail = "a control character, non-ASCII byte or '#' in the query";
            return GH_R_BAD_QUERY;
        }
    }
    return GH_R_OK;
}
