/* The probe's servers: one connection's bytes. Requests are framed here (head, then a body by
 * Content-Length or chunked, de-chunked), handed to server_answer.c whole, and read one after
 * another on a keep-alive connection. The parser is the probe's own, lenient where the gateway
 * is strict (a bare LF ends a line): it is there to see what the gateway sent, not to judge. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "probe/server_int.h"

typedef enum { STEP_MORE, STEP_GO, STEP_DONE, STEP_BAD, STEP_DROP } step;

void gh_psrv_out(gh_psrv_conn *c, const void *bytes, size_t len)
{
    if (c->dead || len == 0)
        return;
    if (c->out_off > 0) { /* what was written goes first: the buffer only ever holds pending */
        memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
        c->out_len -= c->out_off;
        c->out_off = 0;
    }
    if (len > GH_PSRV_OUT_MAX - c->out_len) {
        c->dead = true;
        return;
    }
    if (c->out_len + len > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap < c->out_len + len)
            cap *= 2;
        char *grown = realloc(c->out, cap);
        if (!grown) {
            c->dead = true;
            return;
        }
        c->out = grown;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, bytes, len);
    c->out_len += len;
}

static void req_clear(gh_psrv_req *q)
{
    free(q->head);
    free(q->body);
    memset(q, 0, sizeof(*q));
}

void gh_psrv_conn_free(gh_psrv_conn *c)
{
    if (!c)
        return;
    if (c->fd >= 0)
        close(c->fd);
    req_clear(&c->req);
    free(c->in);
    free(c->out);
    free(c);
}

void gh_psrv_conn_end(gh_probe_server *s, gh_psrv_conn *c)
{
    if (c->req.head && c->role == GH_PROBE_UPSTREAM)
        gh_psrv_record(s, c, false);
    req_clear(&c->req);
}

static void consume(gh_psrv_conn *c, size_t n)
{
    memmove(c->in, c->in + n, c->in_len - n);
    c->in_len -= n;
    c->scanned = 0;
}

/* Keeps body bytes up to the maximum; the rest are counted and dropped. */
static void body_add(gh_psrv_conn *c, const char *bytes, size_t n)
{
    gh_psrv_req *q = &c->req;
    q->body_total += n;
    size_t room = GH_PSRV_BODY_MAX - q->body_len;
    size_t keep = n < room ? n : room;
    if (keep == 0)
        return;
    if (q->body_len + keep + 1 > q->body_cap) {
        size_t cap = q->body_cap ? q->body_cap : 1024;
        while (cap < q->body_len + keep + 1)
            cap *= 2;
        if (cap > GH_PSRV_BODY_MAX + 1)
            cap = GH_PSRV_BODY_MAX + 1;
        char *grown = realloc(q->body, cap);
        if (!grown) {
            c->dead = true;
            return;
        }
        q->body = grown;
        q->body_cap = cap;
    }
    memcpy(q->body + q->body_len, bytes, keep);
    q->body_len += keep;
    q->body[q->body_len] = '\0';
}

/* Where the head ends (just after its blank line, CRLF or bare LF), or 0 when it has not. */
static size_t head_end(gh_psrv_conn *c)
{
    const char *b = c->in;
    size_t i = c->scanned;
    for (; i + 1 < c->in_len; i++) {
        if (b[i] != '\n')
            continue;
        if (b[i + 1] == '\n')
            return i + 2;
        if (b[i + 1] == '\r' && i + 2 < c->in_len && b[i + 2] == '\n')
            return i + 3;
    }
    c->scanned = i > 2 ? i - 2 : 0; /* "\n\r" may yet be followed by "\n" */
    return 0;
}

/* Whether the comma-separated list v[0..n) has token (case-insensitive). */
static bool list_has(const char *v, size_t n, const char *token)
{
    size_t tlen = strlen(token), i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t start = i;
        while (i < n && v[i] != ',')
            i++;
        size_t end = i;
        while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t'))
            end--;
        if (end - start == tlen && strncasecmp(v + start, token, tlen) == 0)
            return true;
    }
    return false;
}

/* Whether the last coding of a Transfer-Encoding value is chunked. */
static bool last_is_chunked(const char *v, size_t n)
{
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    size_t start = n;
    while (start > 0 && v[start - 1] != ',')
        start--;
    while (start < n && (v[start] == ' ' || v[start] == '\t'))
        start++;
    return n - start == 7 && strncasecmp(v + start, "chunked", 7) == 0;
}

typedef struct framing {
    bool have_length, have_te, chunked;
    uint64_t length;
} framing;

static void content_length(gh_psrv_req *q, framing *f, const char *v, size_t n)
{
    uint64_t x = 0;
    if (n == 0 || n > 18) {
        q->bad = true;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)v[i])) {
            q->bad = true;
            return;
        }
        x = x * 10 + (uint64_t)(v[i] - '0');
    }
    if (f->have_length && f->length != x)
        q->bad = true;
    f->have_length = true;
    f->length = x;
}

static void field(gh_psrv_req *q, framing *f, const char *name, size_t nlen, const char *v,
                  size_t vlen)
{
#define IS(lit) (nlen == sizeof(lit) - 1 && strncasecmp(name, lit, nlen) == 0)
    if (IS("content-length")) {
        content_length(q, f, v, vlen);
    } else if (IS("transfer-encoding")) {
        f->have_te = true;
        f->chunked = last_is_chunked(v, vlen); /* the last field's last coding decides */
    } else if (IS("connection")) {
        if (list_has(v, vlen, "close"))
            q->close = true;
    } else if (IS("upgrade")) {
        if (list_has(v, vlen, "websocket"))
            q->websocket = true;
    } else if (IS("sec-websocket-key")) {
        if (vlen < sizeof(q->ws_key)) {
            memcpy(q->ws_key, v, vlen);
            q->ws_key[vlen] = '\0';
        }
    }
#undef IS
}

static void request_line(gh_psrv_req *q, const char *l, size_t n)
{
    const char *sp1 = memchr(l, ' ', n);
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - l)) : NULL;
    if (!sp1 || !sp2 || sp1 == l || (size_t)(sp1 - l) >= sizeof(q->method)) {
        q->bad = true;
        q->close = true;
        return;
    }
    memcpy(q->method, l, (size_t)(sp1 - l));
    const char *target = sp1 + 1;
    size_t tlen = (size_t)(sp2 - target);
    const char *query = memchr(target, '?', tlen);
    if (query)
        tlen = (size_t)(query - target);
    if (tlen >= sizeof(q->path))
        tlen = sizeof(q->path) - 1;
    memcpy(q->path, target, tlen);
    const char *version = sp2 + 1;
    size_t vlen = n - (size_t)(version - l);
    if (vlen == 8 && memcmp(version, "HTTP/1.0", 8) == 0)
        q->http10 = true;
    else if (vlen != 8 || memcmp(version, "HTTP/1.1", 8) != 0)
        q->bad = true;
    q->is_head = strcmp(q->method, "HEAD") == 0;
}

/* The next line of [p, end): its length without CR/LF; *next after its LF. */
static size_t line_at(const char *p, const char *end, const char **next)
{
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    if (!eol)
        eol = end;
    *next = eol < end ? eol + 1 : end;
    size_t n = (size_t)(eol - p);
    if (n > 0 && p[n - 1] == '\r')
        n--;
    return n;
}

/* Parses the head in q->head and sets how its body is framed into the connection's state. */
static step parse_head(gh_psrv_conn *c)
{
    gh_psrv_req *q = &c->req;
    const char *p = q->head, *end = q->head + q->head_len, *next;
    request_line(q, p, line_at(p, end, &next));
    framing f = {0};
    for (p = next; p < end; p = next) {
        size_t n = line_at(p, end, &next);
        if (n == 0)
            break;
        const char *colon = memchr(p, ':', n);
        if (!colon || colon == p) {
            q->bad = true;
            continue;
        }
        const char *v = colon + 1, *vend = p + n;
        while (v < vend && (*v == ' ' || *v == '\t'))
            v++;
        while (vend > v && (vend[-1] == ' ' || vend[-1] == '\t'))
            vend--;
        field(q, &f, p, (size_t)(colon - p), v, (size_t)(vend - v));
    }
    if (q->http10)
        q->close = true;
    if (f.have_te) {
        if (!f.chunked || q->http10)
            q->bad = true;
        if (f.have_length) /* both framings: answered, then closed (RFC 9112 6.1) */
            q->close = true;
        if (q->bad)
            return STEP_DONE;
        c->state = GH_PSRV_CHUNK_SIZE;
        return STEP_GO;
    }
    if (q->bad)
        return STEP_DONE;
    if (f.have_length && f.length > 0) {
        q->remaining = f.length;
        c->state = GH_PSRV_BODY;
        return STEP_GO;
    }
    return STEP_DONE;
}

static step step_head(gh_psrv_conn *c, size_t *used)
{
    size_t skip = 0; /* empty lines before a request line are ignored (RFC 9112 2.2) */
    while (skip < c->in_len && (c->in[skip] == '\r' || c->in[skip] == '\n'))
        skip++;
    if (skip > 0) {
        consume(c, skip);
        return STEP_GO;
    }
    size_t end = head_end(c);
    if (end == 0)
        return c->in_len >= GH_PSRV_HEAD_MAX ? STEP_DROP : STEP_MORE;
    if (end > GH_PSRV_HEAD_MAX)
        return STEP_DROP;
    gh_psrv_req *q = &c->req;
    q->head = malloc(end + 1);
    if (!q->head) {
        c->dead = true;
        return STEP_DROP;
    }
    memcpy(q->head, c->in, end);
    q->head[end] = '\0';
    q->head_len = end;
    *used = end;
    return parse_head(c);
}

static step step_data(gh_psrv_conn *c, size_t *used, gh_psrv_state after)
{
    gh_psrv_req *q = &c->req;
    size_t n = c->in_len < q->remaining ? c->in_len : (size_t)q->remaining;
    body_add(c, c->in, n);
    q->remaining -= n;
    *used = n;
    if (q->remaining > 0)
        return STEP_MORE;
    if (after == GH_PSRV_HEAD)
        return STEP_DONE;
    c->state = after;
    return STEP_GO;
}

static step step_chunk_size(gh_psrv_conn *c, size_t *used)
{
    const char *eol = memchr(c->in, '\n', c->in_len);
    if (!eol)
        return c->in_len > GH_PSRV_LINE_MAX ? STEP_BAD : STEP_MORE;
    uint64_t size = 0;
    size_t digits = 0;
    const char *p = c->in;
    for (; p < eol && isxdigit((unsigned char)*p); p++, digits++) {
        if (digits == 15)
            return STEP_BAD;
        size = size * 16 + (uint64_t)(isdigit((unsigned char)*p) ? *p - '0'
                                                                  : (tolower(*p) - 'a' + 10));
    }
    if (digits == 0 || (p < eol && *p != ';' && *p != '\r' && *p != ' ' && *p != '\t'))
        return STEP_BAD;
    *used = (size_t)(eol + 1 - c->in);
    c->req.remaining = size;
    c->state = size > 0 ? GH_PSRV_CHUNK_DATA : GH_PSRV_TRAILERS;
    return STEP_GO;
}

static step step_chunk_crlf(gh_psrv_conn *c, size_t *used)
{
    if (c->in_len >= 1 && c->in[0] == '\n')
        *used = 1;
    else if (c->in_len >= 2 && c->in[0] == '\r' && c->in[1] == '\n')
        *used = 2;
    else if (c->in_len < 2 && (c->in_len == 0 || c->in[0] == '\r'))
        return STEP_MORE;
    else
        return STEP_BAD;
    c->state = GH_PSRV_CHUNK_SIZE;
    return STEP_GO;
}

static step step_trailers(gh_psrv_conn *c, size_t *used)
{
    const char *eol = memchr(c->in, '\n', c->in_len);
    if (!eol)
        return c->in_len > GH_PSRV_HEAD_MAX ? STEP_BAD : STEP_MORE;
    size_t n = (size_t)(eol + 1 - c->in);
    *used = n;
    c->req.trailer_len += n;
    if (c->req.trailer_len > GH_PSRV_HEAD_MAX)
        return STEP_BAD;
    return n == 1 || (n == 2 && c->in[0] == '\r') ? STEP_DONE : STEP_GO;
}

static step step_any(gh_psrv_conn *c, size_t *used)
{
    switch (c->state) {
    case GH_PSRV_HEAD:
        return step_head(c, used);
    case GH_PSRV_BODY:
        return step_data(c, used, GH_PSRV_HEAD);
    case GH_PSRV_CHUNK_SIZE:
        return step_chunk_size(c, used);
    case GH_PSRV_CHUNK_DATA:
        return step_data(c, used, GH_PSRV_CHUNK_CRLF);
    case GH_PSRV_CHUNK_CRLF:
        return step_chunk_crlf(c, used);
    case GH_PSRV_TRAILERS:
        return step_trailers(c, used);
    case GH_PSRV_TUNNEL:
        gh_psrv_out(c, c->in, c->in_len);
        *used = c->in_len;
        return STEP_MORE;
    case GH_PSRV_CLOSING:
        *used = c->in_len;
        return STEP_MORE;
    }
    return STEP_DROP;
}

void gh_psrv_conn_input(gh_probe_server *s, gh_psrv_conn *c)
{
    while (!c->dead) {
        size_t used = 0;
        step r = step_any(c, &used);
        if (used > 0)
            consume(c, used);
        switch (r) {
        case STEP_GO:
            continue;
        case STEP_MORE: /* everything buffered was taken, or more must come first */
            return;
        case STEP_DROP: /* a head over the limit: no answer, the connection goes */
            gh_psrv_conn_end(s, c);
            c->state = GH_PSRV_CLOSING;
            c->in_len = 0;
            return;
        case STEP_BAD: /* invalid body framing: what came is recorded, then a 400 */
            c->req.close = true;
            if (c->role == GH_PROBE_UPSTREAM)
                gh_psrv_record(s, c, false);
            gh_psrv_respond(c, 400, "Bad Request", GH_PSRV_LIT("{\"probe\":\"bad framing\"}"));
            c->state = GH_PSRV_CLOSING;
            c->in_len = 0;
            return;
        case STEP_DONE:
            gh_psrv_answer(s, c);
            if (c->state == GH_PSRV_CLOSING || c->state == GH_PSRV_TUNNEL) {
                req_clear(&c->req);
                continue; /* CLOSING drops the rest; TUNNEL echoes it */
            }
            req_clear(&c->req);
            c->state = GH_PSRV_HEAD;
            continue;
        }
    }
}
