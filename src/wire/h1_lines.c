#include <string.h>
#include <strings.h>

#include "wire/h1_lines.h"

static const unsigned char tchar_table[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1, ['+'] = 1,
    ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1,  ['~'] = 1, ['0'] = 1,
    ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1,  ['7'] = 1, ['8'] = 1,
    ['9'] = 1, ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1,  ['F'] = 1, ['G'] = 1,
    ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1,  ['N'] = 1, ['O'] = 1,
    ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1,  ['V'] = 1, ['W'] = 1,
    ['X'] = 1, ['Y'] = 1, ['Z'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1,  ['d'] = 1, ['e'] = 1,
    ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1,  ['l'] = 1, ['m'] = 1,
    ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1,  ['t'] = 1, ['u'] = 1,
    ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

bool gh_h1_is_tchar(unsigned char c)
{
    return tchar_table[c];
}

bool gh_h1_is_token(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!tchar_table[(unsigned char)*s])
            return false;
    return true;
}

size_t gh__h1_find_head_end(const char *buf, size_t len, size_t from_min, size_t *scanned)
{
    size_t from = *scanned > 3 ? *scanned - 3 : 0;
    if (from < from_min)
        from = from_min;
    *scanned = len;
    if (from + 4 > len)
        return SIZE_MAX;
    const char *hit = memmem(buf + from, len - from, "\r\n\r\n", 4);
    return hit ? (size_t)(hit - buf) : SIZE_MAX;
}

static int is_ows(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* A field value's bytes (RFC 9110 5.5): no control character but HTAB. */
gh_reason gh__h1_check_value(const char *v, size_t len, const char **detail)
{
    const char *c = v, *ve = v + len;
    /* Eight bytes at a time while none is a control character (< 0x20 or 0x7f): long values
     * (tokens, cookies) are checked at a fraction of the cost; the byte loop finds the culprit. */
    for (; ve - c >= 8; c += 8) {
        uint64_t x;
        memcpy(&x, c, 8);
        const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
        uint64_t below_space = (x - 0x20 * ones) & ~x & highs;
        uint64_t del = ((x ^ 0x7f * ones) - ones) & ~(x ^ 0x7f * ones) & highs;
        if (below_space | del)
            break;
    }
    for (; c < ve; c++) {
        unsigned char ch = (unsigned char)*c;
        if (ch >= 0x20 && ch != 0x7f)
            continue;
        if (ch == '\t')
            continue;
        if (ch == '\r') {
            *detail = "bare CR in a header value";
            return GH_R_BARE_CR;
        }
        if (ch == '\n') {
            *detail = "bare LF in a header value";
            return GH_R_BARE_LF;
        }
        *detail = "a control character or NUL in a header value";
        return GH_R_BAD_HEADER_VALUE;
    }
    return GH_R_OK;
}

gh_reason gh__h1_check_name(const char *name, size_t len, const char **detail)
{
    if (len == 0) {
        *detail = "an empty header name";
        return GH_R_BAD_HEADER_NAME;
    }
    for (size_t i = 0; i < len; i++)
        if (!tchar_table[(unsigned char)name[i]]) {
            *detail = "a header name with a non-token character";
            return GH_R_BAD_HEADER_NAME;
        }
    return GH_R_OK;
}

/* One header line [p, eol): name ":" OWS value OWS. */
static gh_reason parse_field(const char *p, const char *eol, gh_h1_header *h, const char **detail)
{
    const char *s = p;
    if (is_ows((unsigned char)*s)) {
        *detail = "a header line starts with whitespace (obs-fold or indented name)";
        return GH_R_OBS_FOLD;
    }
    while (s < eol && tchar_table[(unsigned char)*s])
        s++;
    if (s == eol || *s != ':') {
        if (s < eol && is_ows((unsigned char)*s)) {
            const char *t = s;
            while (t < eol && is_ows((unsigned char)*t))
                t++;
            if (t < eol && *t == ':' && s > p) {
                *detail = "whitespace between a header name and its colon";
                return GH_R_WS_BEFORE_COLON;
            }
        }
        if (s < eol && *s == '\r') {
            *detail = "bare CR in a header name";
            return GH_R_BARE_CR;
        }
        if (s < eol && *s == '\n') {
            *detail = "bare LF in a header name";
            return GH_R_BARE_LF;
        }
        *detail =
            s == eol ? "a header line without a colon" : "a header name with a non-token character";
        return GH_R_BAD_HEADER_NAME;
    }
    if (s == p) {
        *detail = "an empty header name";
        return GH_R_BAD_HEADER_NAME;
    }
    h->name = p;
    h->name_len = (uint32_t)(s - p);
    const char *v = s + 1;
    while (v < eol && is_ows((unsigned char)*v))
        v++;
    const char *ve = eol;
    while (ve > v && is_ows((unsigned char)ve[-1]))
        ve--;
    gh_reason r = gh__h1_check_value(v, (size_t)(ve - v), detail);
    if (r != GH_R_OK)
        return r;
    h->value = v;
    h->value_len = (uint32_t)(ve - v);
    return GH_R_OK;
}

gh_reason gh__h1_parse_fields(const char *p, const char *end, gh_h1_header *hdrs, size_t max,
                              size_t *n, const char **detail)
{
    *n = 0;
    while (p < end) {
        /* Lines end at LF; the byte before it must be CR, any other CR is found by the value
         * check as a bare CR. */
        const char *lf = memchr(p, '\n', (size_t)(end - p));
        if (!lf || lf == p || lf[-1] != '\r') {
            *detail = "bare LF in the request head";
            return GH_R_BARE_LF;
        }
        if (*n == max) {
            *detail = "more header fields than limits.max_headers";
            return GH_R_TOO_MANY_HEADERS;
        }
        gh_reason r = parse_field(p, lf - 1, &hdrs[*n], detail);
        if (r != GH_R_OK)
            return r;
        (*n)++;
        p = lf + 1;
    }
    return GH_R_OK;
}

int gh__h1_parse_length(const char *v, size_t len, uint64_t *out)
{
    if (len == 0 || len > 18)
        return -1;
    uint64_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        n = n * 10 + (uint64_t)(v[i] - '0');
    }
    *out = n;
    return 0;
}

/* Splits the Transfer-Encoding values into list elements and requires exactly one: chunked. */
gh_reason gh__h1_check_te(const gh_h1_header *hdrs, size_t n, const char **detail)
{
    size_t elements = 0, chunked = 0;
    bool plain_chunked_last = false;
    for (size_t i = 0; i < n; i++) {
        if (!GH_H1_NAME_IS(&hdrs[i], "transfer-encoding"))
            continue;
        const char *p = hdrs[i].value, *end = p + hdrs[i].value_len;
        for (;;) {
            const char *comma = memchr(p, ',', (size_t)(end - p));
            const char *e = comma ? comma : end;
            const char *s = p, *t = e;
            while (s < t && is_ows((unsigned char)*s))
                s++;
            while (t > s && is_ows((unsigned char)t[-1]))
                t--;
            elements++;
            bool is_chunked = (t - s == 7 && strncasecmp(s, "chunked", 7) == 0);
            if (is_chunked)
                chunked++;
            plain_chunked_last = is_chunked;
            if (!is_chunked && t - s >= 7 && strncasecmp(s, "chunked", 7) == 0)
                chunked++; /* chunked with parameters */
            if (!comma)
                break;
            p = comma + 1;
        }
    }
    if (elements == 1 && chunked == 1 && plain_chunked_last)
        return GH_R_OK;
    if (chunked > 1) {
        *detail = "Transfer-Encoding applies chunked more than once";
        return GH_R_MULTIPLE_CHUNKED;
    }
    *detail = "Transfer-Encoding must be exactly \"chunked\"; other codings are not accepted";
    return GH_R_BAD_TRANSFER_ENCODING;
}

static bool name_compare(const gh_h1_header *h, const char *lower, size_t lower_len, bool fold)
{
    if (h->name_len != lower_len)
        return false;
    for (size_t i = 0; i < lower_len; i++) {
        unsigned char c = (unsigned char)h->name[i], l = (unsigned char)lower[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c + 32);
        if (fold && l >= 'A' && l <= 'Z')
            l = (unsigned char)(l + 32);
        if (fold && c == '_')
            c = '-';
        if (fold && l == '_')
            l = '-';
        if (c != l)
            return false;
    }
    return true;
}

bool gh_h1_name_is(const gh_h1_header *h, const char *lower, size_t lower_len)
{
    return name_compare(h, lower, lower_len, false);
}

const gh_h1_header *gh_h1_find(const gh_h1_header *h, size_t n, const char *name, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (h[i].name_len == len && strncasecmp(h[i].name, name, len) == 0)
            return &h[i];
    return NULL;
}

const gh_h1_header *gh_h1_find_last(const gh_h1_header *h, size_t n, const char *name, size_t len,
                                    size_t *count)
{
    const gh_h1_header *last = NULL, *end = h + n;
    *count = 0;
    for (const gh_h1_header *p = h; (p = gh_h1_find(p, (size_t)(end - p), name, len)); p++) {
        last = p;
        (*count)++;
    }
    return last;
}

bool gh_h1_name_folds_to(const gh_h1_header *h, const char *lower, size_t lower_len)
{
    return name_compare(h, lower, lower_len, true);
}

bool gh_h1_list_has(const char *v, size_t len, const char *token)
{
    return gh_h1_list_has_n(v, len, token, strlen(token));
}

bool gh_h1_list_has_n(const char *v, size_t len, const char *token, size_t tl)
{
    const char *end = v + len;
    while (v < end) {
        const char *comma = memchr(v, ',', (size_t)(end - v));
        const char *e = comma ? comma : end;
        const char *s = v, *t = e;
        while (s < t && is_ows((unsigned char)*s))
            s++;
        while (t > s && is_ows((unsigned char)t[-1]))
            t--;
        if ((size_t)(t - s) == tl && strncasecmp(s, token, tl) == 0)
            return true;
        if (!comma)
            break;
        v = comma + 1;
    }
    return false;
}

size_t gh_h1_split_fields(const char *text, gh_h1_header *out, size_t max)
{
    size_t n = 0;
    const char *detail = NULL;
    if (!text)
        return 0;
    return gh__h1_parse_fields(text, text + strlen(text), out, max, &n, &detail) == GH_R_OK ? n
                                                                                          : SIZE_MAX;
}

bool gh_h1_is_hop_by_hop(const gh_h1_header *h)
{
    switch (h->name_len) {
    case 2:
        return GH_H1_NAME_IS(h, "te");
    case 7:
        return GH_H1_NAME_IS(h, "trailer") || GH_H1_NAME_IS(h, "upgrade");
    case 10:
        return GH_H1_NAME_IS(h, "connection") || GH_H1_NAME_IS(h, "keep-alive");
    case 16:
        return GH_H1_NAME_IS(h, "proxy-connection");
    case 17:
        return GH_H1_NAME_IS(h, "transfer-encoding");
    case 19:
        return GH_H1_NAME_IS(h, "proxy-authenticate") || GH_H1_NAME_IS(h, "proxy-authorization");
    default:
        return false;
    }
}

const char *gh_h1_status_text(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 304:
        return "Not Modified";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 411:
        return "Length Required";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 417:
        return "Expectation Failed";
    case 422:
        return "Unprocessable Content";
    case 426:
        return "Upgrade Required";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 421:
        return "Misdirected Request";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}

const char *gh_h1_cookie(const gh_h1_header *h, size_t n, const char *name, size_t *len)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < n; i++) {
        if (!GH_H1_NAME_IS(&h[i], "cookie"))
            continue;
        const char *p = h[i].value, *end = h[i].value + h[i].value_len;
        while (p < end) {
            const char *semi = memchr(p, ';', (size_t)(end - p));
            const char *e = semi ? semi : end;
            while (p < e && *p == ' ')
                p++;
            if ((size_t)(e - p) > nl && memcmp(p, name, nl) == 0 && p[nl] == '=') {
                *len = (size_t)(e - p - (ptrdiff_t)nl - 1);
                return p + nl + 1;
            }
            p = e + 1;
        }
    }
    return NULL;
}
