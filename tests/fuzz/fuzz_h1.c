/* Fuzzes everything that reads client or upstream bytes: the request head parser in both
 * modes (fed whole and in two pieces at a point the input chooses, which must parse alike;
 * strict acceptance must imply the same defensive acceptance), path normalization of what it
 * accepts, the chunked decoder (on the input and on the body after an accepted chunked head, fed
 * whole and byte by byte, which must agree), the response parser, and cookie lookup and the
 * admin listener's authorization in the fields of an accepted head. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/admin_auth.h"
#include "wire/h1.h"
#include "wire/normalize.h"

static gh_h1_header hdrs[100], split_hdrs[100];

/* An accepted host's canonical form fits GH_HOST_CANON_MAX, parses again, and is its own
 * canonical form: one spelling per host. */
static void host(const gh_h1_request *req)
{
    char once[GH_HOST_CANON_MAX], twice[GH_HOST_CANON_MAX];
    if (!req->host)
        return;
    gh_host parts = req->host_parts;
    size_t n = gh_host_canon(req->host, &parts, once);
    gh_host again;
    if (gh_host_parse(once, n, &again) != NULL || again.name_len != parts.name_len ||
        again.port != parts.port)
        abort();
    if (gh_host_canon(once, &again, twice) != n || memcmp(once, twice, n) != 0)
        abort();
}

/* The parse of data[0..size): fed whole, or first data[0..split) then all of it, as a connection
 * receiving the head in two reads would. */
static gh_reason parse(const uint8_t *data, size_t size, size_t split, bool defensive,
                       gh_h1_header *h, gh_h1_request *req)
{
    gh_h1_limits lim = {16384, 100, 8192, defensive};
    size_t scanned = 0;
    gh_reason r = GH_R_AGAIN;
    if (split < size)
        r = gh_h1_parse_request((const char *)data, split, &scanned, &lim, h, req);
    if (r == GH_R_AGAIN)
        r = gh_h1_parse_request((const char *)data, size, &scanned, &lim, h, req);
    return r;
}

/* Two parses of the same bytes agree on everything that decides framing and routing. */
static void same(gh_reason a, const gh_h1_request *x, gh_reason b, const gh_h1_request *y)
{
    if (a != b)
        abort();
    if (a != GH_R_OK)
        return;
    if (x->head_len != y->head_len || x->body != y->body ||
        x->content_length != y->content_length || x->method != y->method ||
        x->method_len != y->method_len || x->target != y->target ||
        x->target_len != y->target_len || x->nheaders != y->nheaders || x->minor != y->minor ||
        x->host_len != y->host_len || x->keep_alive != y->keep_alive ||
        x->ambiguous != y->ambiguous)
        abort();
}

/* A cookie found lies inside a field's value, right after its "name=", and holds no ';'. */
static void cookies(const gh_h1_request *req)
{
    static const char *const names[] = {"session", "a", "x"};
    for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
        size_t len = 0, nl = strlen(names[k]);
        const char *v = gh_h1_cookie(req->headers, req->nheaders, names[k], &len);
        if (!v)
            continue;
        bool inside = false;
        for (size_t i = 0; i < req->nheaders; i++) {
            const gh_h1_header *h = &req->headers[i];
            inside |= v - nl - 1 >= h->value && v + len <= h->value + h->value_len;
        }
        if (!inside || memcmp(v - nl - 1, names[k], nl) != 0 || v[-1] != '=' ||
            memchr(v, ';', len))
            abort();
    }
}

static bool has_field(const gh_h1_request *req, const char *name)
{
    size_t count = 0;
    gh_h1_find_last(req->headers, req->nheaders, name, strlen(name), &count);
    return count > 0;
}

/* Without a token: every request in but some for a browser's page (Origin or Sec-Fetch-Site),
 * refused cors-refused; a change for a page that is let in carries the dashboard's header. */
static void admin_auth_tokenless(const gh_h1_request *req, bool safe)
{
    gh_admin_verdict v = gh_admin_authorize(req, NULL);
    bool page = has_field(req, "origin") || has_field(req, "sec-fetch-site");
    if ((v.reason != GH_R_OK && v.reason != GH_R_CORS_REFUSED) || (v.reason == GH_R_OK) != !v.why)
        abort();
    if (v.reason == GH_R_CORS_REFUSED ? !page
                                      : page && !safe && !has_field(req, GH_ADMIN_DASHBOARD_HEADER))
        abort();
}

/* The admin verdict is one of its four, says why exactly when it refuses, and lets a request
 * in only with one Authorization field; a Bearer one must be the token itself, a Basic one
 * strict base64, and a change let in with Basic credentials carries the dashboard's header. */
static void admin_auth(const gh_h1_request *req)
{
    static const char token[] = "fuzz-token";
    bool safe = (req->method_len == 3 && !memcmp(req->method, "GET", 3)) ||
                (req->method_len == 4 && !memcmp(req->method, "HEAD", 4));
    admin_auth_tokenless(req, safe);
    gh_admin_verdict v = gh_admin_authorize(req, token);
    if (v.reason != GH_R_OK && v.reason != GH_R_MISSING_TOKEN && v.reason != GH_R_INVALID_TOKEN &&
        v.reason != GH_R_CORS_REFUSED)
        abort();
    if ((v.reason == GH_R_OK) != (v.why == NULL))
        abort();
    if (v.reason != GH_R_OK)
        return;
    size_t count = 0;
    const gh_h1_header *h = GH_H1_FIND_LAST(req->headers, req->nheaders, "authorization", &count);
    if (count != 1)
        abort();
    bool bearer = h->value_len >= 7 && strncasecmp(h->value, "bearer ", 7) == 0;
    if (bearer && (h->value_len != 7 + sizeof(token) - 1 || memcmp(h->value + 7, token, 10)))
        abort();
    for (size_t i = 6; !bearer && i < h->value_len; i++)
        if (!memchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=",
                    h->value[i], 65))
            abort();
    if (!bearer && !safe && !has_field(req, GH_ADMIN_DASHBOARD_HEADER))
        abort();
}

static void normalized(const gh_h1_request *req)
{
    char *path = malloc(GH_NORMALIZED_MAX(req->target_len));
    size_t len;
    const char *detail;
    const char *q = memchr(req->target, '?', req->target_len);
    size_t plen = q ? (size_t)(q - req->target) : req->target_len;
    const gh_path_rules rules = {0};
    if (gh_normalize_path(req->target, plen, &rules, path, &len, &detail) == GH_R_OK &&
        (len > plen + 1 || path[0] != '/' || strstr(path, "/../") || strstr(path, "//")))
        abort();
    free(path);
    host(req);
    cookies(req);
    admin_auth(req);
}

/* The chunked decoder over data[0..size) in reads of at most `step` bytes: GH_R_OK once the last
 * chunk ended, GH_R_AGAIN short of it, or the refusal; the data bytes in *total, where it stopped
 * in *end. */
static gh_reason dechunk(const uint8_t *data, size_t size, size_t step, size_t *total, size_t *end)
{
    gh_chunked c = {0};
    size_t off = 0;
    *total = 0;
    while (off < size && !gh_chunked_done(&c)) {
        size_t feed = size - off < step ? size - off : step, consumed, n;
        const char *d;
        if (gh_chunked_step(&c, (const char *)data + off, feed, &consumed, &d, &n) != GH_R_OK) {
            *end = off;
            return GH_R_BAD_CHUNK;
        }
        if (consumed == 0 || consumed > feed || n > consumed)
            abort();
        *total += n;
        off += consumed;
    }
    *end = off;
    return gh_chunked_done(&c) ? GH_R_OK : GH_R_AGAIN;
}

/* A chunked body is judged alike fed whole and byte by byte: where reads split a chunk line
 * must never change the verdict, the data or where the body ends. */
static void chunked(const uint8_t *data, size_t size)
{
    size_t total, end, bytes_total, bytes_end;
    gh_reason whole = dechunk(data, size, size, &total, &end);
    gh_reason bytes = dechunk(data, size, 1, &bytes_total, &bytes_end);
    if (whole != bytes || (whole != GH_R_BAD_CHUNK && (total != bytes_total || end != bytes_end)))
        abort();
}

/* Each mode: the head split at a point the input chooses (its last byte) parses exactly as the
 * whole head; and whatever strict mode accepts, defensive mode accepts the same way. */
static void requests(const uint8_t *data, size_t size)
{
    size_t split = size ? (size_t)data[size - 1] * (size + 1) / 256 : 0;
    gh_h1_request strict, defensive, piecewise;
    gh_reason rs = parse(data, size, size, false, hdrs, &strict);
    same(rs, &strict, parse(data, size, split, false, split_hdrs, &piecewise), &piecewise);
    gh_reason rd = parse(data, size, size, true, split_hdrs, &defensive);
    if (rs == GH_R_OK) {
        if (strict.head_len > size || strict.nheaders > 100 || strict.ambiguous)
            abort();
        same(rs, &strict, rd, &defensive);
        normalized(&strict);
        if (strict.body == GH_BODY_CHUNKED) /* the body after an accepted head, as a connection */
            chunked(data + strict.head_len, size - strict.head_len);
    }
    same(rd, &defensive, parse(data, size, split, true, hdrs, &piecewise), &piecewise);
    if (rd == GH_R_OK)
        normalized(&defensive);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    requests(data, size);
    chunked(data, size);
    gh_h1_response resp;
    gh_h1_parse_response((const char *)data, size, 32768, 100, size & 1, hdrs, &resp);
    return 0;
}
