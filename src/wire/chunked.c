/* Chunked transfer coding (RFC 9112 7.1). Strict: hex sizes without sign or padding beyond 16
 * digits, extensions bounded and free of control characters, CRLF everywhere, trailers read
 * and discarded under a bound. */
#include <string.h>

#include "core/hex.h"
#include "wire/h1.h"

enum {
    S_SIZE = 0,
    S_EXT,
    S_SIZE_LF,
    S_DATA,
    S_DATA_CR,
    S_DATA_LF,
    S_TRAILER_START,
    S_TRAILER_LINE,
    S_TRAILER_LF,
    S_FINAL_LF,
    S_DONE,
};

#define GH_CHUNK_MAX_EXT 1024
#define GH_CHUNK_MAX_TRAILER 8192

bool gh_chunked_done(const gh_chunked *c)
{
    return c->state == S_DONE;
}

/* One byte of the framing around the data (sizes, extensions, line ends, trailers): every
 * state but S_DATA takes exactly one byte. False when it breaks the grammar. */
static bool framing_byte(gh_chunked *c, unsigned char ch)
{
    switch (c->state) {
    case S_SIZE: {
        int v = gh_hex_digit((unsigned char)ch);
        if (v >= 0) {
            if (++c->digits > 15)
                return false;
            c->remaining = (c->remaining << 4) | (uint64_t)v;
        } else if (c->digits == 0) {
            return false;
        } else if (ch == ';' || ch == ' ' || ch == '\t') {
            c->state = S_EXT;
            c->ext_len = 1;
        } else if (ch == '\r') {
            c->state = S_SIZE_LF;
        } else {
            return false;
        }
        return true;
    }
    case S_EXT:
        if (ch == '\r')
            c->state = S_SIZE_LF;
        else if ((ch < 0x20 && ch != '\t') || ch == 0x7f || ++c->ext_len > GH_CHUNK_MAX_EXT)
            return false;
        return true;
    case S_SIZE_LF:
        c->digits = 0;
        c->state = c->remaining ? S_DATA : S_TRAILER_START;
        return ch == '\n';
    case S_DATA_CR:
        c->state = S_DATA_LF;
        return ch == '\r';
    case S_DATA_LF:
        c->state = S_SIZE;
        return ch == '\n';
    case S_TRAILER_START:
        if (ch == '\r') {
            c->state = S_FINAL_LF;
            return true;
        }
        c->state = S_TRAILER_LINE;
        /* fall through: the byte starts a trailer field line */
        /* FALLTHROUGH */
    case S_TRAILER_LINE:
        if (++c->trailer_len > GH_CHUNK_MAX_TRAILER)
            return false;
        if (ch == '\r')
            c->state = S_TRAILER_LF;
        else if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
            return false;
        return true;
    case S_TRAILER_LF:
        c->state = S_TRAILER_START;
        return ch == '\n';
    case S_FINAL_LF:
        c->state = S_DONE;
        return ch == '\n';
    default:
        return false;
    }
}

gh_reason gh_chunked_step(gh_chunked *c, const char *in, size_t len, size_t *consumed,
                          const char **data, size_t *data_len)
{
    size_t i = 0;
    *data = NULL;
    *data_len = 0;
    while (i < len && c->state != S_DONE) {
        if (c->state == S_DATA) {
            size_t n = len - i;
            if (n > c->remaining)
                n = (size_t)c->remaining;
            *data = in + i;
            *data_len = n;
            c->remaining -= n;
            if (c->remaining == 0)
                c->state = S_DATA_CR;
            *consumed = i + n;
            return GH_R_OK;
        }
        if (!framing_byte(c, (unsigned char)in[i]))
            return GH_R_BAD_CHUNK;
        i++;
    }
    *consumed = i;
    return GH_R_OK;
}
