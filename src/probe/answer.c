/* The answers that came back on one connection: HTTP/1.x responses one after another, each
 * framed by its status, Content-Length or chunked coding, or the close. Tolerant: the probe
 * reads whatever a gateway of any brand sends, and what it cannot frame ends the parse. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "probe/probe_internal.h"

/* The end of the head (just past its blank line), or NULL while it is incomplete. */
static const char *head_end(const char *s, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (s[i] != '\n')
            continue;
        if (s[i + 1] == '\n')
            return s + i + 2;
        if (i + 2 < len && s[i + 1] == '\r' && s[i + 2] == '\n')
            return s + i + 3;
    }
    return NULL;
}

/* A field's value in head (first occurrence), without its surrounding blanks; *vlen its length. */
static const char *field_in(const char *head, size_t len, const char *name, size_t *vlen)
{
    size_t nl = strlen(name);
    const char *line = memchr(head, '\n', len);
    while (line && (size_t)(line + 1 - head) < len) {
        line++;
        const char *end = memchr(line, '\n', len - (size_t)(line - head));
        size_t ll = end ? (size_t)(end - line) : len - (size_t)(line - head);
        if (ll > nl && line[nl] == ':' && strncasecmp(line, name, nl) == 0) {
            const char *v = line + nl + 1, *e = line + ll;
            while (v < e && (*v == ' ' || *v == '\t'))
                v++;
            while (e > v && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
                e--;
            *vlen = (size_t)(e - v);
            return v;
        }
        line = end;
    }
    return NULL;
}

/* De-chunks s[0..len): the bytes the chunked body took (0 while it is incomplete); the data
 * into out (when out is not NULL, which has len bytes of room), its length in *dlen. */
static size_t dechunk(const char *s, size_t len, char *out, size_t *dlen)
{
    size_t off = 0;
    *dlen = 0;
    for (;;) {
        const char *nl = memchr(s + off, '\n', len - off);
        if (!nl)
            return 0;
        /* The size's hex digits start the line and end before its newline: strtoul alone
         * would take blanks, newlines and signs before them and read the next line's size. */
        if (!isxdigit((unsigned char)s[off]))
            return 0;
        char *end;
        unsigned long size = strtoul(s + off, &end, 16);
        if (end > nl || size > len)
            return 0;
        off = (size_t)(nl - s) + 1;
        if (size == 0) { /* trailers to the blank line */
            for (;;) {
                const char *t = memchr(s + off, '\n', len - off);
                if (!t)
                    return 0;
                bool blank = t == s + off || (t == s + off + 1 && s[off] == '\r');
                off = (size_t)(t - s) + 1;
                if (blank)
                    return off;
            }
        }
        if (len - off < size + 1)
            return 0;
        if (out)
            memcpy(out + *dlen, s + off, size);
        *dlen += size;
        off += size;
        if (s[off] == '\r')
            off++;
        if (off >= len || s[off] != '\n')
            return 0;
        off++;
    }
}

static int status_of(const char *s, size_t len)
{
    if (len < 12 || strncmp(s, "HTTP/", 5) != 0)
        return 0;
    const char *sp = memchr(s, ' ', len);
    if (!sp || (size_t)(sp - s) + 4 > len)
        return 0;
    int st = 0;
    for (int i = 1; i <= 3; i++) {
        if (sp[i] < '0' || sp[i] > '9')
            return 0;
        st = st * 10 + (sp[i] - '0');
    }
    return st;
}

void gh_probe_parse_answers(gh_probe *p, gh_probe_exchange *x, const char *data, size_t len,
                            bool at_eof, bool is_head, bool final)
{
    size_t off = 0;
    int n = 0;
    bool prev_interim = false;
    while (off < len && n < GH_PROBE_MAX_RESPONSES) {
        const char *s = data + off, *he = head_end(s, len - off);
        int status = status_of(s, len - off);
        if (!he || !status)
            break;
        size_t hlen = (size_t)(he - s), rest = len - off - hlen, blen = 0, took = 0;
        const char *body = he;
        size_t vlen = 0;
        const char *te = field_in(s, hlen, "Transfer-Encoding", &vlen);
        bool chunked = te && vlen >= 7 && strncasecmp(te + vlen - 7, "chunked", 7) == 0;
        const char *cl = field_in(s, hlen, "Content-Length", &vlen);
        bool complete = true;
        char *dechunked = NULL;
        if ((status >= 100 && status < 200 && status != 101) || status == 204 || status == 304 ||
            (n == 0 && is_head)) {
            took = 0;
        } else if (status == 101) {
            blen = took = rest; /* the tunnel's bytes: all that follows */
        } else if (chunked) {
            dechunked = final ? malloc(rest + 1) : NULL;
            took = dechunk(he, rest, dechunked, &blen);
            complete = took > 0;
            body = dechunked;
        } else if (cl) {
            unsigned long long want = strtoull(cl, NULL, 10);
            complete = want <= rest;
            blen = took = complete ? (size_t)want : rest;
        } else {
            blen = took = rest; /* to the close */
            complete = at_eof;
        }
        if (!complete && !final) { /* counted once it has come whole (or the close ended it) */
            free(dechunked);
            if (!cl && !chunked)
                n++; /* a body to the close: answered, now waiting for the close */
            break;
        }
        /* 1xx after 1xx: one interim answer before each final one is evidence (100 Continue
         * before a refusal); a flood of them must not take every slot from the answers. */
        bool interim = status >= 100 && status < 200 && status != 101;
        if (interim && prev_interim) {
            off += hlen;
            continue;
        }
        prev_interim = interim;
        if (final) {
            gh_probe_response *r = &x->r[n];
            r->status = status;
            r->head = gh_arena_strndup(&p->arena, s, hlen);
            r->head_len = hlen;
            r->body = gh_arena_strndup(&p->arena, body ? body : "", complete ? blen : (chunked ? 0 : blen));
            r->body_len = complete ? blen : (chunked ? 0 : blen);
        }
        free(dechunked);
        n++;
        if (!complete || status == 101)
            break;
        off += hlen + took;
    }
    x->nresponses = n;
}

const char *gh_probe_field(gh_probe *p, const gh_probe_response *res, const char *name)
{
    size_t vlen = 0;
    const char *v = res->head ? field_in(res->head, res->head_len, name, &vlen) : NULL;
    return v ? gh_arena_strndup(&p->arena, v, vlen) : NULL;
}
