/* URI references as JSON Schema uses them for $id and $ref (RFC 3986 5.2): resolved against a
 * base into an absolute URI, and JSON pointers in fragments. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "core/hex.h"
#include "schema/schema_uri.h"

static bool has_scheme(const char *s)
{
    if (!isalpha((unsigned char)s[0]))
        return false;
    for (const char *p = s + 1; *p; p++) {
        if (*p == ':')
            return true;
        if (!isalnum((unsigned char)*p) && *p != '+' && *p != '-' && *p != '.')
            return false;
    }
    return false;
}

/* Removes "." and ".." segments from path in place (RFC 3986 5.2.4). */
static void remove_dots(char *path)
{
    char out[1024];
    size_t o = 0;
    const char *in = path;
    while (*in && o + 1 < sizeof(out)) {
        if (strncmp(in, "../", 3) == 0) {
            in += 3;
        } else if (strncmp(in, "./", 2) == 0 || strncmp(in, "/./", 3) == 0) {
            in += 2;
        } else if (strcmp(in, "/.") == 0) {
            in = "/";
        } else if (strncmp(in, "/../", 4) == 0 || strcmp(in, "/..") == 0) {
            in = in[3] ? in + 3 : "/";
            while (o > 0 && out[o - 1] != '/')
                o--;
            if (o > 0)
                o--;
        } else if (strcmp(in, ".") == 0 || strcmp(in, "..") == 0) {
            break;
        } else {
            if (*in == '/')
                out[o++] = *in++;
            while (*in && *in != '/' && o + 1 < sizeof(out))
                out[o++] = *in++;
        }
    }
    memcpy(path, out, o);
    path[o] = '\0';
}

bool gh__uri_resolve(const char *base, const char *ref, char *out, size_t cap)
{
    size_t blen = strcspn(base, "#");
    int n;
    if (has_scheme(ref)) {
        n = snprintf(out, cap, "%s", ref);
    } else if (ref[0] == '#' || ref[0] == '\0') {
        n = snprintf(out, cap, "%.*s%s", (int)blen, base, ref);
    } else {
        const char *colon = strchr(base, ':');
        if (!colon || colon - base > (ptrdiff_t)blen)
            return false;
        const char *auth = strncmp(colon, "://", 3) == 0 ? colon + 3 : NULL;
        const char *path = auth ? auth + strcspn(auth, "/?#") : colon + 1;
        if (ref[0] == '/' && ref[1] == '/') {
            n = snprintf(out, cap, "%.*s%s", (int)(colon + 1 - base), base, ref);
        } else if (ref[0] == '/') {
            n = snprintf(out, cap, "%.*s%s", (int)(path - base), base, ref);
        } else {
            const char *end = base + blen, *q = memchr(path, '?', (size_t)(end - path));
            if (q)
                end = q;
            const char *slash = end;
            while (slash > path && slash[-1] != '/')
                slash--;
            if (auth && slash == path) /* "http://host" merges as "http://host/" */
                n = snprintf(out, cap, "%.*s/%s", (int)(path - base), base, ref);
            else
                n = snprintf(out, cap, "%.*s%s", (int)(slash - base), base, ref);
        }
        if (n > 0 && (size_t)n < cap) {
            /* Dot segments of the path part (after the authority, before ? and #). */
            char *o = strstr(out, "://");
            char *p = o ? o + 3 + strcspn(o + 3, "/?#") : strchr(out, ':') + 1;
            size_t plen = strcspn(p, "?#");
            char tail[1024], segs[1024];
            if (plen >= sizeof(segs) || strlen(p + plen) >= sizeof(tail))
                return false; /* not resolved, rather than resolved without its dot segments */
            {
                memcpy(segs, p, plen);
                segs[plen] = '\0';
                strcpy(tail, p + plen);
                remove_dots(segs);
                n = (int)(p - out) + snprintf(p, cap - (size_t)(p - out), "%s%s", segs, tail);
            }
        }
    }
    if (n < 0 || (size_t)n >= cap)
        return false;
    /* An empty fragment is no fragment. */
    size_t len = strlen(out);
    if (len && out[len - 1] == '#')
        out[len - 1] = '\0';
    return true;
}

bool gh__uri_unescape(const char *s, size_t len, char *out, size_t cap, size_t *outlen)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '%') {
            int hi = i + 2 < len ? gh_hex_digit((unsigned char)s[i + 1]) : -1, lo = i + 2 < len ? gh_hex_digit((unsigned char)s[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return false;
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        if (n + 1 >= cap)
            return false;
        out[n++] = c;
    }
    out[n] = '\0';
    *outlen = n;
    return true;
}
