#include <stdbool.h>
#include <string.h>

#include "http/normalize.h"

#define GH_MAX_SEGMENTS 256

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int unreserved(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

/* Decodes escapes of unreserved characters into out; returns the length or -1. */
static long decode(const char *p, size_t len, char *out, const char **detail)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = p[i];
        if (c == '\\') {
            *detail = "a backslash in the path";
            return -1;
        }
        if (c != '%') {
            out[n++] = c;
            continue;
        }
        int hi = i + 2 < len ? hexval(p[i + 1]) : -1, lo = i + 2 < len ? hexval(p[i + 2]) : -1;
        if (hi < 0 || lo < 0) {
            *detail = "a malformed percent-escape in the path";
            return -1;
        }
        unsigned char v = (unsigned char)(hi << 4 | lo);
        if (v == '/' || v == '\\') {
            *detail = "an encoded slash or backslash in the path";
            return -1;
        }
        if (v < 0x20 || v == 0x7f) {
            *detail = "an encoded control character or NUL in the path";
            return -1;
        }
        if (unreserved(v)) {
            out[n++] = (char)v;
        } else {
            out[n++] = '%';
            out[n++] = hex[hi];
            out[n++] = hex[lo];
        }
        i += 2;
    }
    return (long)n;
}

gh_reason gh_normalize_path(const char *path, size_t len, char *out, size_t *out_len,
                            const char **detail)
{
    if (len == 0 || path[0] != '/') {
        *detail = "the path does not start with /";
        return GH_R_BAD_PATH;
    }
    long dlen = decode(path, len, out, detail);
    if (dlen < 0)
        return GH_R_BAD_PATH;

    /* Remove dot segments and empty segments in place: out is rewritten from the front, never
     * faster than it is read. */
    size_t starts[GH_MAX_SEGMENTS];
    size_t nseg = 0, w = 0, r = 1;
    bool trailing = false;
    while (r <= (size_t)dlen) {
        size_t e = r;
        while (e < (size_t)dlen && out[e] != '/')
            e++;
        size_t slen = e - r;
        bool last = e >= (size_t)dlen;
        if (slen == 0 || (slen == 1 && out[r] == '.')) {
            trailing = last;
        } else if (slen == 2 && out[r] == '.' && out[r + 1] == '.') {
            if (nseg == 0) {
                *detail = "a '..' segment climbs above the root";
                return GH_R_BAD_PATH;
            }
            w = starts[--nseg];
            trailing = last;
        } else {
            if (nseg == GH_MAX_SEGMENTS) {
                *detail = "more than 256 path segments";
                return GH_R_BAD_PATH;
            }
            starts[nseg++] = w;
            out[w++] = '/';
            memmove(out + w, out + r, slen);
            w += slen;
            trailing = false;
        }
        r = e + 1;
    }
    if (w == 0 || trailing)
        out[w++] = '/';
    out[w] = '\0';
    *out_len = w;
    return GH_R_OK;
}
