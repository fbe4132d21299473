/* Framing: request smuggling against a proxied route. Each case hides a request where two
 * readers of a request's framing would disagree (Content-Length against Transfer-Encoding,
 * odd spellings of either, broken lines, chunk sizes a lax parser misreads, upgrades that
 * should not open) and sends a harmless request after it on the same connection; the shared
 * judgement (framing_judge.c) decides from the answers, and in self-test from what the
 * upstream received. Every attack is a GET with a body, so that live --profile safe sends it;
 * the HTTP/2 cases are in cases_framing_h2.c. */
#include <stdio.h>
#include <string.h>

#include "probe/framing.h"

#define OWASP_MISCONF "API8:2023"
#define CWE_SMUGGLING 444
#define NUL_MARK '\x01' /* stands for a NUL byte while a request is built as a string */

/* A request of route: line (NULL: "GET path HTTP/1.1", a method alone: that method's), the
 * valid request's fields, extra lines, the blank line and body; NUL_MARK bytes become NUL. */
static const char *request(gh_probe *p, const gh_probe_route *route, const char *line,
                           const char *extra, const char *body, size_t *len)
{
    if (!line || !strchr(line, ' '))
        line = gh_arena_printf(&p->arena, "%s %s HTTP/1.1", line ? line : "GET", route->path);
    char *s = (char *)gh_arena_printf(&p->arena, "%s\r\n%s%s\r\n%s", line, gh_frm_fields(p, route),
                                      extra ? extra : "", body ? body : "");
    *len = strlen(s);
    for (char *c = s; (c = memchr(c, NUL_MARK, (size_t)(s + *len - c))); c++)
        *c = '\0';
    return s;
}

/* s (with NUL_MARK for NUL) as a verdict shows the bytes sent. */
static const char *show_nul(gh_probe *p, const char *s)
{
    size_t n = strlen(s);
    char *copy = gh_arena_strndup(&p->arena, s, n);
    for (char *c = copy; (c = memchr(c, NUL_MARK, (size_t)(copy + n - c))); c++)
        *c = '\0';
    return gh_frm_show(p, copy, n);
}

/* The two bodies that tell Content-Length and chunked readers apart. */
typedef enum { BODY_CL_TE, BODY_TE_CL } body_kind;

/* The body and the Content-Length value that goes with it:
 * CL_TE: the chunked body ends at once ("0" CRLF CRLF) and the smuggled request follows; the
 *        Content-Length covers both, so a reader by Content-Length forwards it all as body.
 * TE_CL: one chunk that is the smuggled request (with a Content-Length of its own covering the
 *        chunked body's end); the Content-Length covers only the chunk's size line. */
static const char *two_way_body(gh_probe *p, const gh_probe_route *route, body_kind kind,
                                size_t *cl)
{
    if (kind == BODY_CL_TE) {
        const char *b = gh_arena_printf(&p->arena, "0\r\n\r\n%s", gh_frm_smuggled(p, route, NULL));
        *cl = strlen(b);
        return b;
    }
    const char *s = gh_frm_smuggled(p, route, "Content-Length: 7\r\n"); /* "\r\n0\r\n\r\n" */
    const char *size = gh_arena_printf(&p->arena, "%zx\r\n", strlen(s));
    *cl = strlen(size);
    return gh_arena_printf(&p->arena, "%s%s\r\n0\r\n\r\n", size, s);
}

static const char *kind_name(body_kind kind)
{
    return kind == BODY_CL_TE ? "chunked body ending at once, Content-Length covering a request after it"
                              : "one chunk holding a request, Content-Length covering only its size";
}

/* The route of a case whose attack has a body, and the method that carries it; NULL with r
 * skipped. */
static const gh_probe_route *aim_body(gh_probe *p, gh_probe_result *r, const char **method)
{
    const gh_probe_route *route = gh_frm_aim(p, r);
    *method = route ? gh_frm_body_method(p, r, route) : NULL;
    return *method ? route : NULL;
}

/* Each Transfer-Encoding spelling (its lines, CRLF-ended) beside a Content-Length, with both
 * bodies; cl_first: Content-Length comes first. */
static void te_with_cl(gh_probe *p, gh_probe_result *r, const char *const *te, size_t n,
                       bool cl_first)
{
    const char *method;
    const gh_probe_route *route = aim_body(p, r, &method);
    for (size_t i = 0; route && i < n && gh_frm_more(r); i++)
        for (int k = BODY_CL_TE; k <= BODY_TE_CL && gh_frm_more(r); k++) {
            size_t cl, len;
            const char *body = two_way_body(p, route, (body_kind)k, &cl);
            const char *cl_line = gh_arena_printf(&p->arena, "Content-Length: %zu\r\n", cl);
            const char *extra = gh_arena_printf(&p->arena, "%s%s", cl_first ? cl_line : te[i],
                                                cl_first ? te[i] : cl_line);
            const char *bytes = request(p, route, method, extra, body, &len);
            const char *what = gh_arena_printf(&p->arena, "%s: Content-Length %s \"%s\" (%s)", method,
                                               cl_first ? "then" : "after",
                                               show_nul(p, te[i]),
                                               kind_name((body_kind)k));
            gh_frm_judge(p, r, route, bytes, len, NULL, false, what);
        }
}

#define TE_CASE(fn, cl_first, ...)                                                            \
    static void fn(gh_probe *p, gh_probe_result *r)                                           \
    {                                                                                         \
        static const char *const te[] = {__VA_ARGS__};                                        \
        te_with_cl(p, r, te, sizeof(te) / sizeof(te[0]), cl_first);                           \
    }

TE_CASE(cl_then_te, true, "Transfer-Encoding: chunked\r\n")
TE_CASE(te_then_cl, false, "Transfer-Encoding: chunked\r\n")
TE_CASE(te_list, true, "Transfer-Encoding: chunked, identity\r\n", "Transfer-Encoding: identity, chunked\r\n")
TE_CASE(te_unknown, true, "Transfer-Encoding: xchunked\r\n", "Transfer-Encoding: chunked-false\r\n")
TE_CASE(te_blanks, true, "Transfer-Encoding:\tchunked\r\n", "Transfer-Encoding:  chunked \r\n",
        "Transfer-Encoding:\x0b" "chunked\r\n", "Transfer-Encoding: \x0c" "chunked\r\n")
TE_CASE(te_case, true, "Transfer-Encoding: Chunked\r\n", "Transfer-Encoding: CHUNKED\r\n")
TE_CASE(te_twice, true, "Transfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n",
        "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n")
TE_CASE(te_blank_colon, true, "Transfer-Encoding : chunked\r\n", "Transfer-Encoding\t: chunked\r\n")
TE_CASE(obs_fold, true, "Transfer-Encoding:\r\n chunked\r\n", "X-Probe: a\r\n Transfer-Encoding: chunked\r\n",
        "X-Probe: a\r\n\tTransfer-Encoding: chunked\r\n")
TE_CASE(bare_cr, true, "X-Probe: a\rTransfer-Encoding: chunked\r\n")
TE_CASE(bare_lf, true, "X-Probe: a\nTransfer-Encoding: chunked\r\n", "Transfer-Encoding: chunked\n")
TE_CASE(te_lookalike, true, "Transfer_Encoding: chunked\r\n", "Transfer--Encoding: chunked\r\n",
        "Content_Length: 0\r\nTransfer_Encoding: chunked\r\n")
TE_CASE(nul_value, true, "Transfer-Encoding: chunked\x01\r\n", "X-Probe: a\x01Transfer-Encoding: chunked\r\n")

/* "Content-Length: 2^64 + n": a reader that wraps at 64 bits takes it as n. */
static const char *huge_cl(gh_probe *p, size_t n)
{
    unsigned __int128 v = ((unsigned __int128)1 << 64) + n;
    char digits[48];
    size_t k = sizeof(digits);
    digits[--k] = '\0';
    do {
        digits[--k] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v);
    return gh_arena_printf(&p->arena, "Content-Length: %s\r\n", digits + k);
}

/* Content-Length spellings (a printf format taking the smuggled request's length once) with
 * the smuggled request as the body: a reader that takes the value as that length forwards it
 * as body, one that takes it as 0 (or another number) reads it as a request. */
static void cl_spellings(gh_probe *p, gh_probe_result *r, const char *const *fmts, size_t n)
{
    const char *method;
    const gh_probe_route *route = aim_body(p, r, &method);
    for (size_t i = 0; route && i < n && gh_frm_more(r); i++) {
        const char *body = gh_frm_smuggled(p, route, NULL);
        size_t bl = strlen(body), len;
        const char *extra = fmts[i][0] ? gh_arena_printf(&p->arena, fmts[i], bl) : huge_cl(p, bl);
        const char *bytes = request(p, route, method, extra, body, &len);
        const char *what = gh_arena_printf(&p->arena, "%s: \"%s\" with a request as its body", method,
                                           gh_frm_show(p, extra, strlen(extra)));
        gh_frm_judge(p, r, route, bytes, len, NULL, false, what);
    }
}

#define CL_CASE(fn, ...)                                                                      \
    static void fn(gh_probe *p, gh_probe_result *r)                                           \
    {                                                                                         \
        static const char *const fmts[] = {__VA_ARGS__};                                      \
        cl_spellings(p, r, fmts, sizeof(fmts) / sizeof(fmts[0]));                             \
    }

CL_CASE(cl_two, "Content-Length: %zu\r\nContent-Length: 0\r\n", "Content-Length: 0\r\nContent-Length: %zu\r\n")
CL_CASE(cl_list, "Content-Length: %zu, 0\r\n", "Content-Length: 0, %zu\r\n", "Content-Length: %1$zu, %1$zu\r\n")
CL_CASE(cl_sign, "Content-Length: +%zu\r\n", "Content-Length: 00%zu\r\n", "Content-Length: -0\r\n")
CL_CASE(cl_hex, "Content-Length: 0x%zx\r\n", "Content-Length: %zxh\r\n")
CL_CASE(cl_huge, "" /* 2^64 + the length: huge_cl */, "Content-Length: 99999999999999999999999999\r\n")

/* A request line (printf format taking the route's path) and nothing else odd. */
static void odd_lines(gh_probe *p, gh_probe_result *r, const char *const *fmts, size_t n)
{
    const gh_probe_route *route = gh_frm_aim(p, r);
    for (size_t i = 0; route && i < n && gh_frm_more(r); i++) {
        size_t len;
        const char *line = gh_arena_printf(&p->arena, fmts[i], route->path);
        const char *bytes = request(p, route, line, NULL, NULL, &len);
        const char *what = gh_arena_printf(&p->arena, "the request line \"%s\"",
                                           gh_frm_show(p, line, strlen(line)));
        gh_frm_judge(p, r, route, bytes, len, NULL, false, what);
    }
}

#define LINE_CASE(fn, ...)                                                                    \
    static void fn(gh_probe *p, gh_probe_result *r)                                           \
    {                                                                                         \
        static const char *const fmts[] = {__VA_ARGS__};                                      \
        odd_lines(p, r, fmts, sizeof(fmts) / sizeof(fmts[0]));                                \
    }

LINE_CASE(line_blanks, "GET  %s HTTP/1.1", "GET %s  HTTP/1.1", "GET\t%s\tHTTP/1.1", "GET %s HTTP/1.1 ")
LINE_CASE(line_version, "GET %s HTTP/1.2", "GET %s", "GET %s HTTP/01.1", "GET %s http/1.1")
LINE_CASE(line_method, "get %s HTTP/1.1", "GeT %s HTTP/1.1")
LINE_CASE(line_absolute, "GET http://probe-other.invalid%s HTTP/1.1", "GET http://probe-other.invalid:1%s HTTP/1.1")

/* Chunked bodies (no Content-Length) whose chunk-size line (or the bytes after it) a lax parser
 * reads as the last chunk: then the smuggled request that follows (when smuggle) is a request
 * of its own. Without smuggle the body is whole as it is, and only the follow-up comes after. */
static void chunks_then(gh_probe *p, gh_probe_result *r, const char *const *chunks, size_t n,
                        bool smuggle)
{
    const char *method;
    const gh_probe_route *route = aim_body(p, r, &method);
    for (size_t i = 0; route && i < n && gh_frm_more(r); i++) {
        size_t len;
        const char *body = gh_arena_printf(&p->arena, "%s%s", chunks[i],
                                           smuggle ? gh_frm_smuggled(p, route, NULL) : "");
        const char *bytes = request(p, route, method, "Transfer-Encoding: chunked\r\n", body, &len);
        const char *what = gh_arena_printf(&p->arena, "%s: the chunked body \"%s\"%s", method,
                                           gh_frm_show(p, chunks[i], strlen(chunks[i])),
                                           smuggle ? " and a request after it" : "");
        gh_frm_judge(p, r, route, bytes, len, NULL, false, what);
    }
}

#define CHUNK_CASE(fn, ...)                                                                   \
    static void fn(gh_probe *p, gh_probe_result *r)                                           \
    {                                                                                         \
        static const char *const chunks[] = {__VA_ARGS__};                                    \
        chunks_then(p, r, chunks, sizeof(chunks) / sizeof(chunks[0]), true);                  \
    }

CHUNK_CASE(chunk_overflow, "10000000000000000\r\n\r\n", "fffffffffffffffff\r\n\r\n",
           "1000000000000000000000000000000000\r\n\r\n")
CHUNK_CASE(chunk_sign, "-0\r\n\r\n", "+0\r\n\r\n")
CHUNK_CASE(chunk_0x, "0x0\r\n\r\n", "0X0\r\n\r\n")
CHUNK_CASE(chunk_blanks, " 0\r\n\r\n", "\t0\r\n\r\n")
CHUNK_CASE(chunk_ext, "0;a=\"b\rc\"\r\n\r\n", "0;a=\"unterminated\r\n\r\n", "0;a=\"b\nc\"\r\n\r\n",
           "0;\r\n\r\n")
CHUNK_CASE(chunk_no_crlf, "3\r\nabc0\r\n\r\n", "3\r\nabcXY0\r\n\r\n")

/* Framing and routing fields as trailers: a gateway that merges trailers into the head, or
 * passes them on as they came, lets them frame or route what the upstream reads. */
static void chunk_trailers(gh_probe *p, gh_probe_result *r)
{
    static const char *const chunks[] = {
        "3\r\nabc\r\n0\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n",
        "3\r\nabc\r\n0\r\nHost: probe-other.invalid\r\n\r\n"};
    chunks_then(p, r, chunks, 2, false);
}

/* The last chunk without the blank line that ends the trailers: the follow-up's lines come
 * where trailers do. Refused, or read as trailers (one answer); a second answer means the body
 * was ended at the last chunk, which leaves an upstream that reads on waiting for trailers. */
static void chunk_unended(gh_probe *p, gh_probe_result *r)
{
    const char *method;
    const gh_probe_route *route = aim_body(p, r, &method);
    if (!route)
        return;
    size_t len;
    const char *bytes = request(p, route, method, "Transfer-Encoding: chunked\r\n", "3\r\nabc\r\n0\r\n", &len);
    gh_frm_judge_swallowed(p, r, route, bytes, len,
                           gh_arena_printf(&p->arena, "%s: a chunked body whose last chunk has no blank "
                                                      "line after it", method));
}

static void chunk_tricks_no_crlf(gh_probe *p, gh_probe_result *r)
{
    chunk_no_crlf(p, r);
    if (gh_frm_more(r))
        chunk_unended(p, r);
}

/* Upgrade: h2c on HTTP/1.1 (RFC 7540 3.2, removed by RFC 9113): a gateway that switches, or
 * passes the upgrade to an upstream that does, hands the client an HTTP/2 connection past it. */
static void upgrade_h2c(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = gh_frm_aim(p, r);
    if (!route)
        return;
    static const char *const variants[] = {
        "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n",
        "Connection: Upgrade\r\nUpgrade: h2c\r\n"};
    for (size_t i = 0; i < 2 && gh_frm_more(r); i++) {
        size_t len;
        const char *bytes = request(p, route, NULL, variants[i], NULL, &len);
        gh_frm_judge(p, r, route, bytes, len, NULL, false,
                     i == 0 ? "Upgrade: h2c with HTTP2-Settings" : "Upgrade: h2c without HTTP2-Settings");
    }
}

/* Whether route requires credentials the probe can leave out (token, API key, signature). */
static bool needs_credentials(gh_probe *p, const gh_probe_route *route)
{
    const gh_route_conf *c = route->conf;
    return gh_frm_route_fits(p, route) && c &&
           (c->auth_token || c->auth_api_key || c->auth_hmac) && !c->auth_mtls;
}

/* A WebSocket handshake the gateway must refuse, then a request with no credentials: through a
 * tunnel opened anyway it would reach the upstream past every check. */
static void websocket(gh_probe *p, gh_probe_result *r, const char *const *hs, size_t n)
{
    const gh_probe_route *route = gh_probe_find_route(p, needs_credentials);
    bool unauth = route != NULL;
    if (!route)
        route = gh_probe_find_route(p, gh_frm_route_fits);
    if (!route) {
        gh_probe_skip(r, "no route takes GET to an upstream");
        return;
    }
    gh_probe_aim(p, r, route->conf);
    if (!gh_probe_baseline(p, r, route))
        return;
    const char *follow = unauth ? gh_probe_request(p, "GET", route->path, route->host, NULL, NULL, NULL) : NULL;
    for (size_t i = 0; i < n && gh_frm_more(r); i++) {
        size_t len;
        const char *extra = gh_arena_printf(&p->arena, "Connection: Upgrade\r\nUpgrade: websocket\r\n%s", hs[i]);
        const char *bytes = request(p, route, NULL, extra, NULL, &len);
        const char *what = gh_arena_printf(&p->arena, "a WebSocket handshake with %s",
                                           gh_frm_show(p, hs[i], strlen(hs[i])));
        gh_frm_judge(p, r, route, bytes, len, follow, unauth, what);
    }
}

static void websocket_version(gh_probe *p, gh_probe_result *r)
{
    static const char *const hs[] = {
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 12\r\n",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 1337\r\n"};
    websocket(p, r, hs, 2);
}

static void websocket_key(gh_probe *p, gh_probe_result *r)
{
    static const char *const hs[] = {"Sec-WebSocket-Version: 13\r\n",
                                     "Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n"};
    websocket(p, r, hs, 2);
}

/* Expect: 100-continue without credentials: the refusal must come on the head alone, before
 * any 100 Continue invites the body; the body (a request) must not be read as one; then a
 * valid request on the same connection. */
static void expect_continue(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = gh_probe_find_route(p, needs_credentials);
    if (!route) {
        gh_probe_skip(r, "no route that takes GET to an upstream requires a token, API key or signature");
        return;
    }
    gh_probe_aim(p, r, route->conf);
    const char *method = gh_probe_baseline(p, r, route) ? gh_frm_body_method(p, r, route) : NULL;
    if (!method)
        return;
    const char *body = gh_frm_smuggled(p, route, NULL);
    const char *head = gh_arena_printf(&p->arena,
                                       "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: " GH_PROBE_UA
                                       "\r\nExpect: 100-continue\r\nContent-Length: %zu\r\n\r\n",
                                       method, route->path, route->host, strlen(body));
    size_t flen;
    const char *follow = gh_probe_valid_request(p, route, NULL, &flen);
    const char *parts[3] = {head, body, follow};
    size_t lens[3] = {strlen(head), strlen(body), flen};
    gh_probe_opts o = {.parts = parts, .part_lens = lens, .nparts = 3, .pause_ms = 300, .wait_ms = 500};
    gh_probe_exchange x;
    if (gh_probe_send(p, r, route->target, NULL, 0, &o, &x) != 0)
        return;
    gh_probe_note(p, r, &x);
    int forwarded = gh_probe_upstream_note(p, r, NULL);
    int first = x.nresponses ? x.r[0].status : 0, finals = 0, last = 0;
    for (int i = 0; i < x.nresponses; i++)
        if (x.r[i].status >= 200 || x.r[i].status == 101)
            finals++, last = x.r[i].status;
    int refusal = first == 100 && x.nresponses > 1 ? x.r[1].status : first;
    if (x.connect_failed || x.tls_error)
        gh_probe_error(r, "cannot reach %s:%d", route->target->host, route->target->port);
    else if (first == 100)
        gh_probe_fail(r, "100 Continue came before the refusal (then %d): the gateway invited the body "
                         "of a request without credentials", refusal);
    else if (first < 400)
        gh_probe_fail(r, "a request without credentials, waiting for 100 Continue, was answered %d", first);
    else if (finals > 2)
        gh_probe_fail(r, "refused with %d, then %d answers more: the body was read as a request", first,
                      finals - 1);
    else if (forwarded > (finals == 2 ? 1 : 0))
        gh_probe_fail(r, "refused with %d, yet the upstream received %d request(s)", first, forwarded);
    else if (finals == 2 && last >= 400 && last != 429)
        gh_probe_fail(r, "refused with %d; the valid request after it was answered %d: the body was "
                         "read as part of it", first, last);
    else
        gh_probe_pass(r, "refused with %d on the head, no 100 Continue; %s", first,
                      finals == 2 ? "the body was skipped and the next request answered"
                                  : "the connection closed");
}

const gh_probe_case gh_probe_cases_framing[] = {
    {"FRM-001", "framing", "Content-Length, then Transfer-Encoding: chunked (CL.TE and TE.CL bodies)",
     OWASP_MISCONF, CWE_SMUGGLING, GH_PSEV_HIGH, 0,
     "400 and the connection closed, or one framing (chunked) and then the close; nothing smuggled",
     "Refuse a request with both Content-Length and Transfer-Encoding, and close its connection "
     "(RFC 9112 6.1); Gatehouse always does.",
     cl_then_te},
    {"FRM-002", "framing", "Transfer-Encoding: chunked, then Content-Length (both bodies)", OWASP_MISCONF,
     CWE_SMUGGLING, GH_PSEV_HIGH, 0, "400 and the connection closed; nothing smuggled",
     "Refuse both framings whatever their order; never let the last field win.", te_then_cl},
    {"FRM-003", "framing", "Transfer-Encoding lists (chunked, identity) beside Content-Length", OWASP_MISCONF,
     CWE_SMUGGLING, GH_PSEV_HIGH, 0, "400 or 501 and the connection closed; nothing smuggled",
     "Accept only Transfer-Encoding: chunked, alone; refuse other codings (501) and any list.", te_list},
    {"FRM-004", "framing", "unknown transfer coding (xchunked) beside Content-Length", OWASP_MISCONF,
     CWE_SMUGGLING, GH_PSEV_HIGH, 0, "400 or 501 and the connection closed; nothing smuggled",
     "Refuse an unknown transfer coding (RFC 9112 6.1: 501) instead of falling back on Content-Length.",
     te_unknown},
    {"FRM-005", "framing", "Transfer-Encoding with tab, extra blanks, vertical tab or form feed", OWASP_MISCONF,
     CWE_SMUGGLING, GH_PSEV_HIGH, 0, "400 and the connection closed; nothing smuggled",
     "Trim only SP and HTAB around values; refuse other control bytes and Content-Length beside it.",
     te_blanks},
    {"FRM-006", "framing", "Transfer-Encoding: Chunked / CHUNKED beside Content-Length", OWASP_MISCONF,
     CWE_SMUGGLING, GH_PSEV_HIGH, 0, "400 and the connection closed; nothing smuggled",
     "Compare coding names case-insensitively (they are) and refuse them beside Content-Length.", te_case},
    {"FRM-007", "framing", "Transfer-Encoding in two fields beside Content-Length", OWASP_MISCONF,
     CWE_SMUGGLING, GH_PSEV_HIGH, 0, "400 and the connection closed; nothing smuggled",
     "Read every Transfer-Encoding field as one list; refuse a list that is not just chunked.", te_twice},
    {"FRM-008", "framing", "Transfer-Encoding with blanks before the colon", OWASP_MISCONF, CWE_SMUGGLING,
     GH_PSEV_HIGH, 0, "400 and the connection closed; nothing smuggled",
     "Refuse whitespace between a field name and its colon (RFC 9112 5.1).", te_blank_colon},
    {"FRM-009", "framing", "obs-fold continuation lines carrying Transfer-Encoding", OWASP_MISCONF,
     CWE_SMUGGLING, GH_PSEV_HIGH, 0, "400 and the connection closed; nothing smuggled",
     "Refuse obs-fold in requests (RFC 9112 5.2).", obs_fold},
    {"FRM-010", "framing", "bare CR splitting a field line (Transfer-Encoding after it)", OWASP_MISCONF,
     CWE_SMUGGLING, GH_PSEV_HIGH, 0, "400 and the connection closed; nothing smuggled",
     "Refuse a bare CR anywhere in the head (RFC 9112 2.2).", bare_cr},
    {"FRM-011", "framing", "bare LF splitting a field line, or ending Transfer-Encoding", OWASP_MISCONF,
     CWE_SMUGGLING, GH_PSEV_HIGH, 0, "400 and the connection closed; nothing smuggled",
     "Refuse bare LF line ends in requests, or read them exactly like CRLF everywhere.", bare_lf},
    {"FRM-012", "framing", "NUL in a field value (Transfer-Encoding and another field)", OWASP_MISCONF,
     CWE_SMUGGLING, GH_PSEV_HIGH, 0, "400 and the connection closed; nothing smuggled",
     "Refuse NUL, CR and LF in field values (RFC 9110 5.5).", nul_value},
    {"FRM-013", "framing", "two Content-Length fields with different values", OWASP_MISCONF, CWE_SMUGGLING,
     GH_PSEV_HIGH, 0, "400 and the connection closed; nothing smuggled",
     "Refuse differing Content-Length values (RFC 9112 6.3).", cl_two},
    {"FRM-014", "framing", "Content-Length as a comma list (differing and repeated values)", OWASP_MISCONF,
     CWE_SMUGGLING, GH_PSEV_HIGH, 0,
     "400 and the connection closed for differing values; a list of one value repeated may be read as it",
     "Refuse a Content-Length list of differing values (RFC 9110 8.6); http1.strictness: strict refuses any list.", cl_list},
    {"FRM-015", "framing", "Content-Length with a sign or leading zeros (+N, 0N octal-looking, -0)",
     OWASP_MISCONF, CWE_SMUGGLING, GH_PSEV_HIGH, 0,
     "400 and the connection closed (leading zeros may be read as decimal); nothing smuggled",
     "Read Content-Length as 1*DIGIT in decimal and nothing else.", cl_sign},
    {"FRM-016", "framing", "Content-Length in hexadecimal (0xNN, NNh)", OWASP_MISCONF, CWE_SMUGGLING,
     GH_PSEV_HIGH, 0, "400 and the connection closed; nothing smuggled",
     "Read Content-Length as 1*DIGIT in decimal and nothing else.", cl_hex},
    {"FRM-017", "framing", "Content-Length past 2^64 (wrapping to the body's length) and of 26 digits",
     OWASP_MISCONF, CWE_SMUGGLING, GH_PSEV_HIGH, 0, "400 or 413 and the connection closed; nothing smuggled",
     "Refuse a Content-Length that overflows; bound bodies (limits.max_body_bytes, routes.*.body.max_bytes).", cl_huge},
    {"FRM-018", "framing", "request line with two spaces, tabs or a trailing space", OWASP_MISCONF,
     CWE_SMUGGLING, GH_PSEV_MEDIUM, 0, "400 and the connection closed, or read as the one request it is",
     "Parse the request line strictly: single spaces, no tabs (RFC 9112 3).", line_blanks},
    {"FRM-019", "framing", "request line with HTTP/1.2, no version, HTTP/01.1 or http/1.1", OWASP_MISCONF,
     CWE_SMUGGLING, GH_PSEV_MEDIUM, 0,
     "400 or 505 and the connection closed (HTTP/1.2 may be read as 1.1); never HTTP/0.9",
     "Refuse versions the gateway does not speak and requests without one.", line_version},
    {"FRM-020", "framing", "lowercase method (get, GeT)", OWASP_MISCONF, CWE_SMUGGLING, GH_PSEV_LOW, 0,
     "400, 405 or 501 and the connection closed, or one answer; never read as GET by one side only",
     "Methods are case-sensitive: refuse the ones the route does not allow.", line_method},
    {"FRM-021", "framing", "absolute-form target naming another host than Host", OWASP_MISCONF, CWE_SMUGGLING,
     GH_PSEV_MEDIUM, 0, "400 and the connection closed, or routed by the target's host; origin-form upstream",
     "Take origin-form targets only (Gatehouse refuses absolute-form with 400), or route by the target's authority.", line_absolute},
    {"FRM-022", "framing", "chunk size overflowing 64 bits (wrapping to 0)", OWASP_MISCONF, CWE_SMUGGLING,
     GH_PSEV_HIGH, 0, "400 or 413 and the connection closed; nothing smuggled",
     "Refuse chunk sizes of more than 16 hex digits or over the body limit (limits.max_body_bytes).", chunk_overflow},
    {"FRM-023", "framing", "chunk size with a sign (-0, +0)", OWASP_MISCONF, CWE_SMUGGLING, GH_PSEV_HIGH, 0,
     "400 and the connection closed; nothing smuggled", "Read chunk sizes as 1*HEXDIG and nothing else.",
     chunk_sign},
    {"FRM-024", "framing", "chunk size with a 0x prefix", OWASP_MISCONF, CWE_SMUGGLING, GH_PSEV_HIGH, 0,
     "400 and the connection closed; nothing smuggled", "Read chunk sizes as 1*HEXDIG (no strtol base 0).",
     chunk_0x},
    {"FRM-025", "framing", "chunk size with leading space or tab", OWASP_MISCONF, CWE_SMUGGLING, GH_PSEV_HIGH, 0,
     "400 and the connection closed; nothing smuggled", "Read chunk sizes as 1*HEXDIG from the line's start.",
     chunk_blanks},
    {"FRM-026", "framing", "chunk extensions with quotes holding CR or LF, unterminated, or empty",
     OWASP_MISCONF, CWE_SMUGGLING, GH_PSEV_HIGH, 0, "400 and the connection closed; nothing smuggled",
     "Parse chunk extensions by RFC 9112 7.1.1 (or refuse them); bare CR or LF ends nothing.", chunk_ext},
    {"FRM-027", "framing", "chunk data without its CRLF; last chunk without the trailers' end", OWASP_MISCONF,
     CWE_SMUGGLING, GH_PSEV_HIGH, 0, "400 and the connection closed; nothing smuggled",
     "Require CRLF after each chunk's data and the blank line after the trailers.", chunk_tricks_no_crlf},
    {"FRM-028", "framing", "trailers carrying Content-Length, Transfer-Encoding or Host", OWASP_MISCONF,
     CWE_SMUGGLING, GH_PSEV_MEDIUM, 0, "400, or the trailers dropped; nothing smuggled",
     "Never merge trailers into the head; drop or refuse framing and routing fields in them (RFC 9110 6.5.1).",
     chunk_trailers},
    {"FRM-029", "framing", "Upgrade: h2c on HTTP/1.1 (h2c smuggling)", OWASP_MISCONF, CWE_SMUGGLING,
     GH_PSEV_HIGH, 0, "no 101; the request refused or answered as HTTP/1.1 with Upgrade dropped",
     "Never switch to h2c on Upgrade; drop Upgrade and HTTP2-Settings before the upstream.", upgrade_h2c},
    {"FRM-030", "framing", "WebSocket handshake with a wrong version, then a request without credentials",
     OWASP_MISCONF, CWE_SMUGGLING, GH_PSEV_HIGH, 0,
     "400 or 426 and no tunnel: the next request is refused or checked like any other",
     "Judge the handshake before the upstream (version 13, key) and open a tunnel only on the upstream's 101 "
     "(a route's websocket key).", websocket_version},
    {"FRM-031", "framing", "WebSocket handshake without a valid key, then a request without credentials",
     OWASP_MISCONF, CWE_SMUGGLING, GH_PSEV_HIGH, 0,
     "400 and no tunnel: the next request is refused or checked like any other",
     "Refuse a handshake without a 16-byte Sec-WebSocket-Key (RFC 6455 4.2.1).", websocket_key},
    {"FRM-032", "framing", "Expect: 100-continue with no credentials on a route that needs them",
     "API2:2023", 287, GH_PSEV_MEDIUM, GH_PN_CONFIG,
     "401 before any 100 Continue; the body never read as a request; nothing forwarded",
     "Run authentication on the head, before answering 100 Continue.", expect_continue},
    {"FRM-033", "framing", "HTTP/2: CR LF in a field value (downgraded into a header or request)", OWASP_MISCONF,
     CWE_SMUGGLING, GH_PSEV_HIGH, 0, "the stream reset or 400; nothing forwarded",
     "Treat CR, LF and NUL in HTTP/2 field values as malformed (RFC 9113 8.2.1).", gh_frm_h2_crlf_value},
    {"FRM-034", "framing", "HTTP/2: uppercase field name", OWASP_MISCONF, CWE_SMUGGLING, GH_PSEV_MEDIUM, 0,
     "the stream reset or 400; nothing forwarded",
     "Treat uppercase field names in HTTP/2 as malformed (RFC 9113 8.2.2).", gh_frm_h2_uppercase_name},
    {"FRM-035", "framing", "HTTP/2: te other than trailers (te: trailers accepted)", OWASP_MISCONF,
     CWE_SMUGGLING, GH_PSEV_MEDIUM, 0, "te: trailers accepted; any other te: the stream reset or 400",
     "Accept te only as \"trailers\" in HTTP/2 (RFC 9113 8.2.2).", gh_frm_h2_te},
    {"FRM-036", "framing", "HTTP/2: transfer-encoding field (H2.TE downgrade)", OWASP_MISCONF, CWE_SMUGGLING,
     GH_PSEV_HIGH, 0, "the stream reset or 400; nothing forwarded",
     "Treat connection-specific fields in HTTP/2 as malformed (RFC 9113 8.2.2).", gh_frm_h2_transfer_encoding},
    {"FRM-037", "framing", "HTTP/2: content-length that does not match the DATA (H2.CL downgrade)",
     OWASP_MISCONF, CWE_SMUGGLING, GH_PSEV_HIGH, 0, "the stream reset or 400; nothing smuggled",
     "Check content-length against the DATA received (RFC 9113 8.1.1) before forwarding.",
     gh_frm_h2_content_length},
    {"FRM-038", "framing", "HTTP/2: :path with spaces (a request line of its own when downgraded)",
     OWASP_MISCONF, CWE_SMUGGLING, GH_PSEV_HIGH, 0, "the stream reset or 400; nothing forwarded",
     "Validate :path as a request target; never copy it into a request line as it came.",
     gh_frm_h2_path_spaces},
    {"FRM-039", "framing", "look-alike framing names (Transfer_Encoding, Transfer--Encoding, Content_Length)",
     OWASP_MISCONF, CWE_SMUGGLING, GH_PSEV_HIGH, 0, "400 and the connection closed; nothing smuggled",
     "Refuse names that equal Content-Length or Transfer-Encoding once - and _ are ignored: CGI-style "
     "backends read them as the real ones.", te_lookalike},
    {0},
};
