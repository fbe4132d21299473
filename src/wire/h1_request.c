/* Request head parsing and the framing rules of RFC 9112 that keep a request from being read
 * two ways (request smuggling). */
#include <string.h>
#include <strings.h>

#include "wire/h1.h"
#include "wire/h1_lines.h"

static const char h2_preface[] = "PRI * HTTP/2.0\r\n";

static gh_reason fail(gh_h1_request *req, gh_reason r, const char *detail)
{
    req->detail = detail;
    return r;
}

/* The method and the target, wherever they came from (a request line, HTTP/2's pseudo-header
 * fields): a token, and an origin-form target (or "*" for OPTIONS) within the limit. */
static gh_reason check_method_target(const gh_h1_limits *lim, gh_h1_request *req)
{
    for (size_t i = 0; i < req->method_len; i++)
        if (!gh_h1_is_tchar((unsigned char)req->method[i]))
            return fail(req, GH_R_BAD_METHOD, "the method contains a non-token character");
    const char *target = req->target, *target_end = target + req->target_len;
    if (req->target_len > lim->max_target)
        return fail(req, GH_R_TARGET_TOO_LONG,
                    "the request target is longer than limits.max_target_bytes");
    if (target_end == target)
        return fail(req, GH_R_BAD_TARGET, "an empty request target");
    for (const char *c = target; c < target_end; c++) {
        unsigned char ch = (unsigned char)*c;
        if (ch == '\r')
            return fail(req, GH_R_BARE_CR, "bare CR in the request line");
        if (ch == '\n')
            return fail(req, GH_R_BARE_LF, "bare LF in the request line");
        if (ch == ' ')
            return fail(req, GH_R_BAD_TARGET, "a raw space in the request target");
        if (ch <= 0x20 || ch >= 0x7f)
            return fail(req, GH_R_BAD_TARGET,
                        "a control, non-ASCII or whitespace byte in the request target");
        if (ch == '#')
            return fail(req, GH_R_BAD_TARGET, "a fragment in the request target");
    }
    return GH_R_OK;
}

/* What the method allows of the target's form: no CONNECT tunnel, "*" only with OPTIONS, else
 * origin-form. */
static gh_reason check_target_form(gh_h1_request *req)
{
    const char *target = req->target;
    if (req->method_len == 7 && memcmp(req->method, "CONNECT", 7) == 0)
        return fail(req, GH_R_CONNECT_REFUSED, "CONNECT tunnels are not proxied");
    if (target[0] == '*' && req->target_len == 1) {
        if (!(req->method_len == 7 && memcmp(req->method, "OPTIONS", 7) == 0))
            return fail(req, GH_R_BAD_TARGET, "asterisk-form is only valid with OPTIONS");
    } else if (target[0] != '/') {
        if (memmem(target, req->target_len, "://", 3))
            return fail(req, GH_R_ABSOLUTE_FORM,
                        "absolute-form targets are for forward proxies; send origin-form (/path)");
        return fail(req, GH_R_BAD_TARGET, "the request target is not origin-form (/path)");
    }
    return GH_R_OK;
}

/* Method SP request-target SP HTTP-version, in [p, eol). */
static gh_reason parse_request_line(const char *p, const char *eol, const gh_h1_limits *lim,
                                    gh_h1_request *req)
{
    const char *s = p;
    while (s < eol && gh_h1_is_tchar((unsigned char)*s))
        s++;
    if (s == p)
        return fail(req, GH_R_BAD_REQUEST_LINE, "the request line does not start with a method");
    if (s == eol || *s != ' ')
        return fail(req, GH_R_BAD_METHOD, "the method contains a non-token character");
    req->method = p;
    req->method_len = (size_t)(s - p);

    const char *target = s + 1;
    const char *last_sp = eol;
    while (last_sp > target && last_sp[-1] != ' ')
        last_sp--;
    if (last_sp <= target + 1 && (last_sp == target || last_sp[-1] != ' '))
        return fail(req, GH_R_BAD_VERSION, "the request line has no HTTP version");
    req->target = target;
    req->target_len = (size_t)(last_sp - 1 - target);
    gh_reason r = check_method_target(lim, req);
    if (r != GH_R_OK)
        return r;

    const char *v = last_sp;
    size_t vlen = (size_t)(eol - v);
    if (vlen == 8 && memcmp(v, "HTTP/1.", 7) == 0 && (v[7] == '1' || v[7] == '0')) {
        req->minor = v[7] - '0';
    } else if (vlen == 8 && memcmp(v, "HTTP/", 5) == 0 && v[5] >= '0' && v[5] <= '9' &&
               v[6] == '.' && v[7] >= '0' && v[7] <= '9') {
        return fail(req, GH_R_VERSION_NOT_SUPPORTED, "only HTTP/1.0 and HTTP/1.1 are served here");
    } else {
        for (const char *c = v; c < eol; c++) {
            if (*c == '\r')
                return fail(req, GH_R_BARE_CR, "bare CR in the request line");
            if (*c == '\n')
                return fail(req, GH_R_BARE_LF, "bare LF in the request line");
        }
        return fail(req, GH_R_BAD_VERSION, "a malformed HTTP version");
    }
    return check_target_form(req);
}

/* A name that becomes content-length or transfer-encoding once '-' and '_' are ignored, but is
 * not spelled that way: CGI-style backends (WSGI, PHP, Rack) map '_' and '-' to the same
 * variable, so such a field can carry framing past the gateway. */
static bool lookalike_framing(const gh_h1_header *h)
{
    if (h->name_len < 13 || h->name_len > 40)
        return false;
    char folded[41];
    size_t n = 0;
    for (size_t i = 0; i < h->name_len; i++) {
        char c = h->name[i];
        if (c == '-' || c == '_')
            continue;
        folded[n++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    folded[n] = '\0';
    if (strcmp(folded, "contentlength") != 0 && strcmp(folded, "transferencoding") != 0)
        return false;
    return !GH_H1_NAME_IS(h, "content-length") && !GH_H1_NAME_IS(h, "transfer-encoding");
}

/* What the semantic checks need from the fields, gathered in one pass. */
typedef struct field_scan {
    size_t hosts, lengths, te, content_types, authorizations;
    uint64_t cl;
    bool close, ka;
} field_scan;

/* Fields that hold one value: sent twice, the gateway would check one and a backend might read
 * the other (a JSON body checked, a form parsed; one identity verified, another believed).
 * Host and Content-Length have their own reasons. */
static gh_reason check_singletons(gh_h1_request *req, const field_scan *fs)
{
    if (fs->content_types > 1)
        return fail(req, GH_R_DUPLICATE_FIELD, "more than one Content-Type field");
    if (fs->authorizations > 1)
        return fail(req, GH_R_DUPLICATE_FIELD, "more than one Authorization field");
    return GH_R_OK;
}

static gh_reason scan_fields(gh_h1_request *req, field_scan *fs)
{
    for (size_t i = 0; i < req->nheaders; i++) {
        const gh_h1_header *h = &req->headers[i];
        if (lookalike_framing(h))
            return fail(req, GH_R_LOOKALIKE_FRAMING_HEADER,
                        "a header name that imitates Content-Length or Transfer-Encoding");
        if (h->name_len == 4 && GH_H1_NAME_IS(h, "host")) {
            fs->hosts++;
            req->host = h->value;
            req->host_len = h->value_len;
        } else if (h->name_len == 6 && GH_H1_NAME_IS(h, "expect")) {
            if (h->value_len != 12 || strncasecmp(h->value, "100-continue", 12) != 0)
                return fail(req, GH_R_BAD_EXPECT, "only Expect: 100-continue is supported");
            req->expect_continue = req->minor == 1;
        } else if (h->name_len == 10 && GH_H1_NAME_IS(h, "connection")) {
            fs->close |= gh_h1_list_has(h->value, h->value_len, "close");
            fs->ka |= gh_h1_list_has(h->value, h->value_len, "keep-alive");
        } else if (h->name_len == 14 && GH_H1_NAME_IS(h, "content-length")) {
            uint64_t v;
            if (gh__h1_parse_length(h->value, h->value_len, &v) != 0)
                return fail(req, GH_R_BAD_CONTENT_LENGTH,
                            "Content-Length is not a single decimal number");
            if (fs->lengths++ && v != fs->cl)
                return fail(req, GH_R_MULTIPLE_CONTENT_LENGTH,
                            "multiple Content-Length fields with different values");
            fs->cl = v;
        } else if (h->name_len == 17 && GH_H1_NAME_IS(h, "transfer-encoding")) {
            fs->te++;
        } else if (h->name_len == 12 && GH_H1_NAME_IS(h, "content-type")) {
            fs->content_types++;
        } else if (h->name_len == 13 && GH_H1_NAME_IS(h, "authorization")) {
            fs->authorizations++;
        }
    }
    return GH_R_OK;
}

static gh_reason check_host(gh_h1_request *req, const field_scan *fs)
{
    if (req->minor == 1 && fs->hosts == 0)
        return fail(req, GH_R_MISSING_HOST, "HTTP/1.1 requires a Host header");
    if (fs->hosts > 1)
        return fail(req, GH_R_MULTIPLE_HOST, "more than one Host header");
    if (fs->hosts == 1 && req->host_len == 0)
        return fail(req, GH_R_BAD_HOST, "an empty Host header");
    const char *err = fs->hosts ? gh_host_parse(req->host, req->host_len, &req->host_parts) : NULL;
    return err ? fail(req, GH_R_BAD_HOST, err) : GH_R_OK;
}

/* Where the body ends, decided once: exactly one way to read it, or a refusal. */
static gh_reason check_framing(const gh_h1_limits *lim, gh_h1_request *req, const field_scan *fs)
{
    if (fs->te && fs->lengths)
        return fail(req, GH_R_TE_WITH_CL, "both Transfer-Encoding and Content-Length are present");
    if (fs->te) {
        if (req->minor == 0)
            return fail(req, GH_R_TE_IN_HTTP10, "Transfer-Encoding is undefined in HTTP/1.0");
        const char *detail = NULL;
        gh_reason r = gh__h1_check_te(req->headers, req->nheaders, &detail);
        if (r != GH_R_OK)
            return fail(req, r, detail);
        req->body = GH_BODY_CHUNKED;
    } else if (req->unframed) {
        req->body = GH_BODY_CHUNKED; /* of unknown length: forwarded chunked */
    } else if (fs->lengths) {
        if (fs->lengths > 1) {
            if (!lim->defensive)
                return fail(req, GH_R_MULTIPLE_CONTENT_LENGTH,
                            "duplicate Content-Length fields (same value)");
            req->ambiguous = true;
        }
        req->content_length = fs->cl;
        req->body = fs->cl ? GH_BODY_LENGTH : GH_BODY_NONE;
    }
    bool bodiless = (req->method_len == 3 && memcmp(req->method, "GET", 3) == 0) ||
                    (req->method_len == 4 && memcmp(req->method, "HEAD", 4) == 0);
    if (bodiless && req->body != GH_BODY_NONE) {
        if (!lim->defensive)
            return fail(req, GH_R_AMBIGUOUS_BODY, "a GET or HEAD request carries a body");
        req->ambiguous = true;
    }
    return GH_R_OK;
}

/* The semantic checks on the parsed fields: Host, Content-Length, Transfer-Encoding,
 * Connection, Expect. */
static gh_reason check_fields(const gh_h1_limits *lim, gh_h1_request *req)
{
    field_scan fs = {0};
    gh_reason r = scan_fields(req, &fs);
    if (r == GH_R_OK)
        r = check_host(req, &fs);
    if (r == GH_R_OK)
        r = check_singletons(req, &fs);
    if (r == GH_R_OK)
        r = check_framing(lim, req, &fs);
    if (r != GH_R_OK)
        return r;
    req->keep_alive = !req->ambiguous && (req->minor == 1 ? !fs.close : (fs.ka && !fs.close));
    return GH_R_OK;
}

gh_reason gh_h1_parse_request(const char *buf, size_t len, size_t *scanned, const gh_h1_limits *lim,
                              gh_h1_header *hdrs, gh_h1_request *req)
{
    memset(req, 0, sizeof(*req));
    size_t cmp = len < sizeof(h2_preface) - 1 ? len : sizeof(h2_preface) - 1;
    if (cmp >= 4 && memcmp(buf, h2_preface, cmp) == 0) {
        if (cmp < sizeof(h2_preface) - 1)
            return GH_R_AGAIN;
        return fail(req, GH_R_H2_PREFACE,
                    "this listener speaks HTTP/1.1; the client sent the HTTP/2 connection preface");
    }

    /* RFC 9112 2.2: ignore empty lines before the request line. */
    size_t start = 0;
    while (start + 1 < len && buf[start] == '\r' && buf[start + 1] == '\n')
        start += 2;
    if (start < len && buf[start] == '\n')
        return fail(req, GH_R_BARE_LF, "bare LF before the request line");

    size_t end = gh__h1_find_head_end(buf, len, start, scanned);
    if (end == SIZE_MAX) {
        /* Refuse early what can no longer become a valid head. */
        const char *line_end = memchr(buf + start, '\n', len - start);
        size_t line_len = line_end ? (size_t)(line_end - buf) - start : len - start;
        if (line_len > lim->max_target + 32)
            return fail(req, GH_R_TARGET_TOO_LONG,
                        "the request line is longer than limits.max_target_bytes allows");
        if (len >= lim->max_head)
            return fail(req, GH_R_HEAD_TOO_LARGE, "the request head exceeds limits.max_head_bytes");
        return GH_R_AGAIN;
    }
    if (end + 4 > lim->max_head)
        return fail(req, GH_R_HEAD_TOO_LARGE, "the request head exceeds limits.max_head_bytes");
    req->head_len = end + 4;

    const char *p = buf + start;
    const char *block_end = buf + end + 2; /* includes the last field line's CRLF */
    const char *eol = memmem(p, (size_t)(block_end - p), "\r\n", 2);
    gh_reason r = parse_request_line(p, eol, lim, req);
    if (r != GH_R_OK)
        return r;

    req->headers = hdrs;
    const char *detail = NULL;
    r = gh__h1_parse_fields(eol + 2, block_end, hdrs, lim->max_headers, &req->nheaders, &detail);
    if (r != GH_R_OK)
        return fail(req, r, detail);
    return check_fields(lim, req);
}

gh_reason gh_h1_check_request(const gh_h1_limits *lim, gh_h1_request *req)
{
    if (req->head_len > lim->max_head)
        return fail(req, GH_R_HEAD_TOO_LARGE, "the request head exceeds limits.max_head_bytes");
    if (req->nheaders > lim->max_headers)
        return fail(req, GH_R_TOO_MANY_HEADERS, "more header fields than limits.max_headers");
    gh_reason r = check_method_target(lim, req);
    if (r == GH_R_OK)
        r = check_target_form(req);
    for (size_t i = 0; i < req->nheaders && r == GH_R_OK; i++) {
        const gh_h1_header *h = &req->headers[i];
        r = gh__h1_check_name(h->name, h->name_len, &req->detail);
        if (r == GH_R_OK)
            r = gh__h1_check_value(h->value, h->value_len, &req->detail);
    }
    return r == GH_R_OK ? check_fields(lim, req) : r;
}
