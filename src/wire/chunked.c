/* Chunked transfer coding (RFC 9112 7.1). Strict: a size of 1 to 15 hex digits, extensions read
 * by their grammar and bounded, CRLF and nothing else ending every line, trailers read and
 * discarded under a bound. What a lenient parser could read another way (a bare LF or CR, junk
 * after the size, an unclosed quote) is refused: the gateway and the upstream must agree on where
 * each chunk ends, and the "funky chunks" desyncs live in exactly those disagreements. */
#include <string.h>

#include "core/hex.h"
#include "wire/h1.h"

enum {
    S_SIZE = 0,
    S_SIZE_LF,
    S_DATA,
    S_DATA_CR,
    S_DATA_LF,
    S_TRAILER_START,
    S_TRAILER_LINE,
    S_TRAILER_LF,
    S_FINAL_LF,
    S_DONE,
    /* The chunk extension, *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ),
     * from here on: every byte of it counts against GH_CHUNK_MAX_EXT. */
    S_EXT_WS,      /* BWS after the size or a value: only ";" may follow, never the CRLF */
    S_EXT_NAME0,   /* after ";": BWS, then a name (an empty one is refused) */
    S_EXT_NAME,    /* in a name */
    S_EXT_NAME_WS, /* BWS after a name: ";" or "=" follows */
    S_EXT_VALUE0,  /* after "=": BWS, then a token or a quoted string */
    S_EXT_TOKEN,   /* in a token value */
    S_EXT_QUOTED,  /* inside quotes */
    S_EXT_QPAIR,   /* after a backslash inside quotes */
    S_EXT_QEND,    /* after the closing quote */
};

#define GH_CHUNK_MAX_EXT 1024
#define GH_CHUNK_MAX_TRAILER 8192

bool gh_chunked_done(const gh_chunked *c)
{
    return c->state == S_DONE;
}

static bool is_ws(unsigned char ch)
{
    return ch == ' ' || ch == '\t';
}

/* What may stand inside quotes unescaped (qdtext, apart from '"' and '\') or after a backslash
 * (quoted-pair): HTAB, SP, visible ASCII, obs-text. Never CR or LF, which would end the line for
 * a parser that does not track quotes, nor other controls. */
static bool quotable(unsigned char ch)
{
    return ch == '\t' || (ch >= 0x20 && ch != 0x7f);
}

/* Moves to `next` when ok, so each case below reads as the grammar's alternatives. */
static bool to(gh_chunked *c, bool ok, uint8_t next)
{
    if (ok)
        c->state = next;
    return ok;
}

/* After a name (or BWS after it): another extension or a value. */
static bool after_name(gh_chunked *c, unsigned char ch)
{
    return ch == ';' ? to(c, true, S_EXT_NAME0) : to(c, ch == '=', S_EXT_VALUE0);
}

/* After a value: BWS before another extension, or that extension's ";". */
static bool after_value(gh_chunked *c, unsigned char ch)
{
    return is_ws(ch) ? to(c, true, S_EXT_WS) : to(c, ch == ';', S_EXT_NAME0);
}

/* One byte of a chunk extension. The line may end only right after a name or a value. */
static bool ext_byte(gh_chunked *c, unsigned char ch)
{
    uint8_t s = c->state;
    if (ch == '\r' && (s == S_EXT_NAME || s == S_EXT_TOKEN || s == S_EXT_QEND))
        return to(c, true, S_SIZE_LF);
    if (++c->ext_len > GH_CHUNK_MAX_EXT)
        return false;
    switch (s) {
    case S_EXT_WS:
        return is_ws(ch) || to(c, ch == ';', S_EXT_NAME0);
    case S_EXT_NAME0:
        return is_ws(ch) || to(c, gh_h1_is_tchar(ch), S_EXT_NAME);
    case S_EXT_NAME:
        if (gh_h1_is_tchar(ch))
            return true;
        return is_ws(ch) ? to(c, true, S_EXT_NAME_WS) : after_name(c, ch);
    case S_EXT_NAME_WS:
        return is_ws(ch) || after_name(c, ch);
    case S_EXT_VALUE0:
        if (is_ws(ch))
            return true;
        return ch == '"' ? to(c, true, S_EXT_QUOTED) : to(c, gh_h1_is_tchar(ch), S_EXT_TOKEN);
    case S_EXT_TOKEN:
        return gh_h1_is_tchar(ch) || after_value(c, ch);
    case S_EXT_QEND:
        return after_value(c, ch);
    case S_EXT_QUOTED:
        if (ch == '"')
            return to(c, true, S_EXT_QEND);
        return ch == '\\' ? to(c, true, S_EXT_QPAIR) : quotable(ch);
    case S_EXT_QPAIR:
        return to(c, quotable(ch), S_EXT_QUOTED);
    default:
        return false;
    }
}

/* One byte of the size: hex digits, then the extension or the CR. */
static bool size_byte(gh_chunked *c, unsigned char ch)
{
    int v = gh_hex_digit(ch);
    if (v >= 0) {
        if (++c->digits > 15) /* 15 digits fill 60 bits: the size cannot overflow */
            return false;
        c->remaining = (c->remaining << 4) | (uint64_t)v;
        return true;
    }
    if (c->digits == 0)
        return false;
    c->ext_len = 1;
    if (ch == ';')
        return to(c, true, S_EXT_NAME0);
    if (is_ws(ch))
        return to(c, true, S_EXT_WS);
    return to(c, ch == '\r', S_SIZE_LF);
}

/* One byte of the framing around the data (sizes, extensions, line ends, trailers): every
 * state but S_DATA takes exactly one byte, so a line split across reads is judged as if whole.
 * False when it breaks the grammar. */
static bool framing_byte(gh_chunked *c, unsigned char ch)
{
    if (c->state >= S_EXT_WS)
        return ext_byte(c, ch);
    switch (c->state) {
    case S_SIZE:
        return size_byte(c, ch);
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
