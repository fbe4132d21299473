/* The HTTP/1.1 parser's own cases: limits, request line forms, framing rules, incremental
 * feeding, responses and the chunked decoder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "wire/h1.h"

static gh_h1_header hdrs[128];

static gh_reason parse_mode(const char *raw, bool defensive, gh_h1_request *req)
{
    size_t scanned = 0;
    gh_h1_limits lim = {16384, 100, 8192, defensive};
    return gh_h1_parse_request(raw, strlen(raw), &scanned, &lim, hdrs, req);
}

static gh_reason parse(const char *raw, gh_h1_request *req)
{
    return parse_mode(raw, false, req);
}

static void refusals(void **state)
{
    (void)state;
    static const struct {
        const char *raw;
        gh_reason want;
    } cases[] = {
        {"GET / HTTP/1.1\r\n\r\n", GH_R_MISSING_HOST},
        {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", GH_R_MULTIPLE_HOST},
        {"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", GH_R_BAD_HOST},
        {"GET / HTTP/1.1\r\nHost: a.test:80:80\r\n\r\n", GH_R_BAD_HOST},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
         "content-type: application/x-www-form-urlencoded\r\n\r\n",
         GH_R_DUPLICATE_FIELD},
        {"GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer a\r\nAuthorization: Bearer b\r\n\r\n",
         GH_R_DUPLICATE_FIELD},
        {"GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n", GH_R_ABSOLUTE_FORM},
        {"CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n", GH_R_CONNECT_REFUSED},
        {"GET * HTTP/1.1\r\nHost: a\r\n\r\n", GH_R_BAD_TARGET},
        {"GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", GH_R_BAD_TARGET},
        {"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", GH_R_BAD_TARGET},
        {"GET / HTTP/2.0\r\nHost: a\r\n\r\n", GH_R_VERSION_NOT_SUPPORTED},
        {"GET / HTTP/1.1x\r\nHost: a\r\n\r\n", GH_R_BAD_VERSION},
        {"GET / http/1.1\r\nHost: a\r\n\r\n", GH_R_BAD_VERSION},
        {"G@T / HTTP/1.1\r\nHost: a\r\n\r\n", GH_R_BAD_METHOD},
        {"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n", GH_R_OBS_FOLD},
        {"GET / HTTP/1.1\r\nHost: a\r\nX : 1\r\n\r\n", GH_R_WS_BEFORE_COLON},
        {"GET / HTTP/1.1\r\nHost: a\r\nX\r\n\r\n", GH_R_BAD_HEADER_NAME},
        {"GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n", GH_R_BAD_HEADER_NAME},
        {"GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f\r\n\r\n", GH_R_BAD_HEADER_VALUE},
        {"GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", GH_R_BARE_CR},
        {"GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n", GH_R_BARE_LF},
        {"\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", GH_R_BARE_LF},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", GH_R_BAD_CONTENT_LENGTH},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n", GH_R_BAD_CONTENT_LENGTH},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n", GH_R_BAD_CONTENT_LENGTH},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1234567890123456789\r\n\r\n",
         GH_R_BAD_CONTENT_LENGTH},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
         GH_R_MULTIPLE_CONTENT_LENGTH},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
         GH_R_MULTIPLE_CONTENT_LENGTH},
        {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n",
         GH_R_TE_WITH_CL},
        {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
         GH_R_BAD_TRANSFER_ENCODING},
        {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
         GH_R_BAD_TRANSFER_ENCODING},
        {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
         "chunked\r\n\r\n",
         GH_R_MULTIPLE_CHUNKED},
        {"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", GH_R_TE_IN_HTTP10},
        {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n", GH_R_AMBIGUOUS_BODY},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent_Length: 5\r\n\r\n", GH_R_LOOKALIKE_FRAMING_HEADER},
        {"POST / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n", GH_R_BAD_EXPECT},
        {"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", GH_R_H2_PREFACE},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        gh_h1_request req;
        gh_reason r = parse(cases[i].raw, &req);
        if (r != cases[i].want)
            fail_msg("case %zu: %s: want %s got %s", i, cases[i].raw, gh_reason_slug(cases[i].want),
                     gh_reason_slug(r));
        assert_non_null(req.detail);
    }
}

static void accepts_and_fills(void **state)
{
    (void)state;
    gh_h1_request req;
    assert_int_equal(parse("\r\nPOST /a?b=1 HTTP/1.1\r\nHost: Example.com:8080\r\n"
                           "Transfer-Encoding: Chunked\r\nExpect: 100-continue\r\n"
                           "Connection: close\r\nX-A:  v  \r\n\r\nBODY",
                           &req),
                     GH_R_OK);
    assert_int_equal(req.method_len, 4);
    assert_memory_equal(req.target, "/a?b=1", 6);
    assert_int_equal(req.minor, 1);
    assert_int_equal(req.body, GH_BODY_CHUNKED);
    assert_true(req.expect_continue);
    assert_false(req.keep_alive);
    assert_int_equal(req.nheaders, 5);
    assert_int_equal(req.headers[4].value_len, 1); /* OWS trimmed both sides */
    assert_memory_equal(req.host, "Example.com:8080", 16);
    assert_int_equal(req.head_len, strlen("\r\nPOST /a?b=1 HTTP/1.1\r\nHost: Example.com:8080\r\n"
                                          "Transfer-Encoding: Chunked\r\nExpect: 100-continue\r\n"
                                          "Connection: close\r\nX-A:  v  \r\n\r\n"));

    assert_int_equal(parse("GET / HTTP/1.0\r\n\r\n", &req), GH_R_OK);
    assert_false(req.keep_alive);
    assert_int_equal(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &req), GH_R_OK);
    assert_true(req.keep_alive);
    assert_int_equal(parse("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", &req), GH_R_OK);
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", &req),
                     GH_R_OK);
    assert_int_equal(req.body, GH_BODY_NONE);
    assert_int_equal(parse("PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 000123\r\n\r\n", &req),
                     GH_R_OK);
    assert_int_equal(req.content_length, 123);
}

static void defensive_mode(void **state)
{
    (void)state;
    gh_h1_request req;
    assert_int_equal(
        parse_mode("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n", true, &req), GH_R_OK);
    assert_true(req.ambiguous);
    assert_false(req.keep_alive);
    /* Defensive mode forwards oddities, never broken framing. */
    assert_int_equal(parse_mode("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                                "Content-Length: 1\r\n\r\n",
                                true, &req),
                     GH_R_TE_WITH_CL);
    assert_int_equal(parse_mode("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
                                "Content-Length: 2\r\n\r\n",
                                true, &req),
                     GH_R_MULTIPLE_CONTENT_LENGTH);
}

static void limits(void **state)
{
    (void)state;
    char big[20000];
    gh_h1_request req;
    size_t scanned = 0;
    gh_h1_limits lim = {16384, 100, 8192, false};
    /* Head larger than max_head: 431 even before the end arrives. */
    int n = snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: a\r\nX: ");
    memset(big + n, 'a', 16500);
    assert_int_equal(gh_h1_parse_request(big, (size_t)n + 16500, &scanned, &lim, hdrs, &req),
                     GH_R_HEAD_TOO_LARGE);
    /* A target beyond max_target: 414, also before the head is complete. */
    n = snprintf(big, sizeof(big), "GET /");
    memset(big + n, 'a', 9000);
    scanned = 0;
    assert_int_equal(gh_h1_parse_request(big, (size_t)n + 9000, &scanned, &lim, hdrs, &req),
                     GH_R_TARGET_TOO_LONG);
    /* More than max_headers fields: 431. */
    n = snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < 100; i++)
        n += snprintf(big + n, sizeof(big) - (size_t)n, "X-%d: v\r\n", i);
    n += snprintf(big + n, sizeof(big) - (size_t)n, "\r\n");
    scanned = 0;
    assert_int_equal(gh_h1_parse_request(big, (size_t)n, &scanned, &lim, hdrs, &req),
                     GH_R_TOO_MANY_HEADERS);
}

/* Fed one byte at a time, the parser answers AGAIN until the last byte, then OK. */
static void incremental(void **state)
{
    (void)state;
    const char *raw = "\r\n\r\nGET /x HTTP/1.1\r\nHost: a\r\nA: b\r\n\r\n";
    size_t len = strlen(raw), scanned = 0;
    gh_h1_limits lim = {16384, 100, 8192, false};
    gh_h1_request req;
    for (size_t i = 1; i < len; i++)
        assert_int_equal(gh_h1_parse_request(raw, i, &scanned, &lim, hdrs, &req), GH_R_AGAIN);
    assert_int_equal(gh_h1_parse_request(raw, len, &scanned, &lim, hdrs, &req), GH_R_OK);
    assert_int_equal(req.nheaders, 2);
}

static void responses(void **state)
{
    (void)state;
    gh_h1_response r;
    const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello";
    assert_int_equal(gh_h1_parse_response(ok, strlen(ok), 32768, 128, false, hdrs, &r), GH_R_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body, GH_BODY_LENGTH);
    assert_int_equal(r.content_length, 5);
    assert_true(r.keep_alive);
    const char *head = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
    assert_int_equal(gh_h1_parse_response(head, strlen(head), 32768, 128, true, hdrs, &r), GH_R_OK);
    assert_int_equal(r.body, GH_BODY_NONE);
    const char *eof = "HTTP/1.0 200 OK\r\n\r\n";
    assert_int_equal(gh_h1_parse_response(eof, strlen(eof), 32768, 128, false, hdrs, &r), GH_R_OK);
    assert_int_equal(r.body, GH_BODY_UNTIL_CLOSE);
    assert_false(r.keep_alive);
    const char *nrp = "HTTP/1.1 204\r\n\r\n";
    assert_int_equal(gh_h1_parse_response(nrp, strlen(nrp), 32768, 128, false, hdrs, &r), GH_R_OK);
    static const char *bad[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
        "HTTP/1.1 2x0 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nBad Header: x\r\n\r\n",
        "SMTP ready\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(gh_h1_parse_response(bad[i], strlen(bad[i]), 32768, 128, false, hdrs, &r),
                         GH_R_UPSTREAM_BAD_RESPONSE);
        assert_non_null(r.detail);
    }
}

/* Decodes a whole chunked body; returns the reason and the decoded bytes. */
static gh_reason dechunk(const char *in, size_t step, char *out, size_t *out_len, size_t *rest)
{
    gh_chunked c = {0};
    size_t len = strlen(in), off = 0;
    *out_len = 0;
    while (off < len && !gh_chunked_done(&c)) {
        size_t feed = len - off < step ? len - off : step, consumed;
        const char *data;
        size_t dlen;
        gh_reason r = gh_chunked_step(&c, in + off, feed, &consumed, &data, &dlen);
        if (r != GH_R_OK)
            return r;
        if (dlen)
            memcpy(out + *out_len, data, dlen);
        *out_len += dlen;
        off += consumed;
    }
    *rest = len - off;
    return gh_chunked_done(&c) ? GH_R_OK : GH_R_AGAIN;
}

static void chunked(void **state)
{
    (void)state;
    char out[256];
    size_t n, rest;
    const char *body = "5\r\nhello\r\nA;ext=1\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\nNEXT";
    for (size_t step = 1; step <= strlen(body); step++) {
        assert_int_equal(dechunk(body, step, out, &n, &rest), GH_R_OK);
        assert_int_equal(n, 15);
        assert_memory_equal(out, "hello0123456789", 15);
        assert_int_equal(rest, 4); /* the pipelined request stays */
    }
    static const char *bad[] = {
        "x\r\n",
        "5\r\nhelloX\r\n",
        "5\nhello\r\n0\r\n\r\n",
        "-5\r\n",
        "10000000000000000\r\n",
        "5;\x01\r\nhello\r\n",
        "0\r\nBad\x01: x\r\n\r\n",
        "5\r\nhello\r\r",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(dechunk(bad[i], 64, out, &n, &rest), GH_R_BAD_CHUNK);
    assert_int_equal(dechunk("5\r\nhel", 64, out, &n, &rest), GH_R_AGAIN);
}

/* The verdict on body fed whole and byte by byte, which must agree (and decode the same bytes):
 * where the reads split a chunk line must never change how it is judged. */
static gh_reason whole_and_bytes(const char *body)
{
    char whole[256], bytes[256];
    size_t n1, n2, rest1, rest2;
    gh_reason r1 = dechunk(body, SIZE_MAX, whole, &n1, &rest1);
    gh_reason r2 = dechunk(body, 1, bytes, &n2, &rest2);
    if (r1 != r2)
        fail_msg("\"%s\": %d fed whole, %d byte by byte", body, r1, r2);
    if (r1 == GH_R_OK && (n1 != n2 || rest1 != rest2 || memcmp(whole, bytes, n1) != 0))
        fail_msg("\"%s\": decoded differently whole and byte by byte", body);
    return r1;
}

/* Chunk lines by RFC 9112 7.1: chunk-size [ chunk-ext ] CRLF, where chunk-ext is
 * *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ), and CRLF ending every line
 * of the framing (after the size, after the data, each trailer, the end). */
static void chunk_lines(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        gh_reason want;
    } cases[] = {
        {"2;a=b\r\nhi\r\n0\r\n\r\n", GH_R_OK},
        {"2 ; a = \"q\\\"x\"\r\nhi\r\n0\r\n\r\n", GH_R_OK},
        {"2;a;b=c\r\nhi\r\n0\r\n\r\n", GH_R_OK},
        {"2\t;\ta\t=\tb ;c\r\nhi\r\n0\r\n\r\n", GH_R_OK},
        {"2;a=\"\"\r\nhi\r\n0\r\n\r\n", GH_R_OK},
        {"2;a=\"x;y=z \\\\ \x80\"\r\nhi\r\n0\r\n\r\n", GH_R_OK}, /* obs-text, ";" quoted */
        {"B\r\nhello world\r\n0\r\n\r\n", GH_R_OK},
        {"0000000000000B\r\nhello world\r\n0000;z=1\r\n\r\n", GH_R_OK},
        {"000000000000002\r\nhi\r\n0\r\n\r\n", GH_R_OK}, /* 15 digits, the most */
        {"0\r\nT: v\r\n\r\n", GH_R_OK},
        /* after the size: only BWS and ";" extensions */
        {"2 junk\r\nhi\r\n0\r\n\r\n", GH_R_BAD_CHUNK},
        {"2x\r\nhi\r\n0\r\n\r\n", GH_R_BAD_CHUNK},
        {"2 \r\nhi\r\n0\r\n\r\n", GH_R_BAD_CHUNK},
        {"2\t\r\nhi\r\n0\r\n\r\n", GH_R_BAD_CHUNK},
        {" 2\r\nhi\r\n0\r\n\r\n", GH_R_BAD_CHUNK},
        {"\r\nhi\r\n0\r\n\r\n", GH_R_BAD_CHUNK},
        {"0000000000000002\r\nhi\r\n0\r\n\r\n", GH_R_BAD_CHUNK},
        /* names */
        {"2;\r\nhi\r\n0\r\n\r\n", GH_R_BAD_CHUNK},
        {"2; =v\r\nhi\r\n0\r\n\r\n", GH_R_BAD_CHUNK},
        {"2;=v\r\nhi\r\n0\r\n\r\n", GH_R_BAD_CHUNK},
        {"2;;a\r\nhi\r\n0\r\n\r\n", GH_R_BAD_CHUNK},
        {"2;a \r\nhi\r\n0\r\n\r\n", GH_R_BAD_CHUNK},
        {"2;a@b\r\nhi\r\n0\r\n\r\n", GH_R_BAD_CHUNK},
        {"2;a b\r\nhi\r\n0\r\n\r\n", GH_R_BAD_CHUNK},
        /* values */
        {"2;a=\r\nhi\r\n0\r\n\r\n", GH_R_BAD_CHUNK},
        {"2;a=b \r\nhi\r\n0\r\n\r\n", GH_R_BAD_CHUNK},
        {"2;a=b c\r\nhi\r\n0\r\n\r\n", GH_R_BAD_CHUNK},
        {"2;a=b\"\r\nhi\r\n0\r\n\r\n", GH_R_BAD_CHUNK},
        {"2;a=\"b\"c\r\nhi\r\n0\r\n\r\n", GH_R_BAD_CHUNK},
        {"2;a=\"b\r\nhi\r\n0\r\n\r\n", GH_R_BAD_CHUNK},
        {"2;a=\"b\r\nhi\r\n0\r\n\r\n\"\r\n", GH_R_BAD_CHUNK},
        {"2;a=\"b\nc\"\r\nhi\r\n0\r\n\r\n", GH_R_BAD_CHUNK},
        {"2;a=\"b\rc\"\r\nhi\r\n0\r\n\r\n", GH_R_BAD_CHUNK},
        {"2;a=\"b\x01\"\r\nhi\r\n0\r\n\r\n", GH_R_BAD_CHUNK},
        {"2;a=\"b\x7f\"\r\nhi\r\n0\r\n\r\n", GH_R_BAD_CHUNK},
        {"2;a=\"b\\\x01\"\r\nhi\r\n0\r\n\r\n", GH_R_BAD_CHUNK},
        {"2;a=\"b\\\r\nhi\r\n0\r\n\r\n", GH_R_BAD_CHUNK},
        {"2;a=\"b\\\n\"\r\nhi\r\n0\r\n\r\n", GH_R_BAD_CHUNK},
        /* line ends other than CRLF: after a size, the data, a trailer, the last chunk, the end */
        {"2\nhi\r\n0\r\n\r\n", GH_R_BAD_CHUNK},
        {"2\rhi\r\n0\r\n\r\n", GH_R_BAD_CHUNK},
        {"2\r\rhi\r\n0\r\n\r\n", GH_R_BAD_CHUNK},
        {"2;a=b\nhi\r\n0\r\n\r\n", GH_R_BAD_CHUNK},
        {"2;a=\"b\"\nhi\r\n0\r\n\r\n", GH_R_BAD_CHUNK},
        {"2\r\nhi\n0\r\n\r\n", GH_R_BAD_CHUNK},
        {"2\r\nhi\r0\r\n\r\n", GH_R_BAD_CHUNK},
        {"2\r\nhi0\r\n\r\n", GH_R_BAD_CHUNK},
        {"0\n\r\n", GH_R_BAD_CHUNK},
        {"0\r\r\n\r\n", GH_R_BAD_CHUNK},
        {"0\r\n\n", GH_R_BAD_CHUNK},
        {"0\r\n\rX", GH_R_BAD_CHUNK},
        {"0\r\nT: v\n\r\n", GH_R_BAD_CHUNK},
        {"0\r\nT: v\rX\r\n\r\n", GH_R_BAD_CHUNK},
        {"0\r\nT: v\r\n\n", GH_R_BAD_CHUNK},
        {"0\r\n\nT: v\r\n\r\n", GH_R_BAD_CHUNK},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (whole_and_bytes(cases[i].body) != cases[i].want)
            fail_msg("case %zu \"%s\": want %d", i, cases[i].body, cases[i].want);
}

/* An extension is bounded (1024 bytes from the ";" to the CR) whatever its grammar; so is the
 * size (15 digits, above). */
static void chunk_extension_bound(void **state)
{
    (void)state;
    char body[1100];
    for (size_t ext = 1023; ext <= 1025; ext++) {
        size_t n = 0;
        body[n++] = '2';
        body[n++] = ';';
        memset(body + n, 'a', ext - 1);
        n += ext - 1;
        snprintf(body + n, sizeof(body) - n, "\r\nhi\r\n0\r\n\r\n");
        assert_int_equal(whole_and_bytes(body), ext <= 1024 ? GH_R_OK : GH_R_BAD_CHUNK);
    }
}

static void helpers(void **state)
{
    (void)state;
    gh_h1_header h = {"Connection", "x", 10, 1};
    assert_true(gh_h1_is_hop_by_hop(&h));
    h = (gh_h1_header){"Content-Type", "x", 12, 1};
    assert_false(gh_h1_is_hop_by_hop(&h));
    assert_true(gh_h1_list_has("keep-alive, Close", 17, "close"));
    assert_false(gh_h1_list_has("closed", 6, "close"));
    assert_string_equal(gh_h1_status_text(431), "Request Header Fields Too Large");
}

static void find(void **state)
{
    (void)state;
    gh_h1_header h[] = {{"Host", "a", 4, 1}, {"X-Key", "1", 5, 1}, {"x-key", "2", 5, 1},
                        {"X-Keys", "3", 6, 1}};
    size_t n = sizeof(h) / sizeof(h[0]), count = 9;
    assert_ptr_equal(GH_H1_FIND(h, n, "x-key"), &h[1]);
    assert_ptr_equal(gh_h1_find(h, n, "X-KEY", 5), &h[1]); /* a configured name in any case */
    assert_null(GH_H1_FIND(h, n, "x-ke"));
    assert_null(GH_H1_FIND(h, 1, "x-key"));
    assert_ptr_equal(gh_h1_find_last(h, n, "X-Key", 5, &count), &h[2]);
    assert_int_equal(count, 2);
    assert_ptr_equal(gh_h1_find_last(h, n, "host", 4, &count), &h[0]);
    assert_int_equal(count, 1);
    assert_null(gh_h1_find_last(h, n, "cookie", 6, &count));
    assert_int_equal(count, 0);
}

/* A head given as parts (an HTTP/2 stream's fields) is judged as the same head sent as HTTP/1.1
 * bytes: the same reason, case by case. unframed: a body of unknown length follows (HTTP/2
 * without content-length; as HTTP/1.1, chunked). */
typedef struct parts_case {
    const char *method, *target;
    const char *fields[4][2];
    bool unframed;
    gh_reason want;
} parts_case;

static const parts_case PARTS[] = {
    {"GET", "/", {{"Host", "a"}, {"X", "one\x01two"}}, false, GH_R_BAD_HEADER_VALUE},
    {"GET", "/", {{"Host", "a"}, {"X", "one\x7ftwo"}}, false, GH_R_BAD_HEADER_VALUE},
    {"GET", "/", {{"Host", "a"}, {"X(", "v"}}, false, GH_R_BAD_HEADER_NAME},
    {"G@T", "/", {{"Host", "a"}}, false, GH_R_BAD_METHOD},
    {"GET", "/a#b", {{"Host", "a"}}, false, GH_R_BAD_TARGET},
    {"GET", "/a\x01", {{"Host", "a"}}, false, GH_R_BAD_TARGET},
    {"GET", "*", {{"Host", "a"}}, false, GH_R_BAD_TARGET},
    {"OPTIONS", "*", {{"Host", "a"}}, false, GH_R_OK},
    {"GET", "http://a/", {{"Host", "a"}}, false, GH_R_ABSOLUTE_FORM},
    {"CONNECT", "/", {{"Host", "a"}}, false, GH_R_CONNECT_REFUSED},
    {"GET", "/", {{"X", "v"}}, false, GH_R_MISSING_HOST},
    {"GET", "/", {{"Host", "a"}, {"Host", "b"}}, false, GH_R_MULTIPLE_HOST},
    {"GET", "/", {{"Host", "a b"}}, false, GH_R_BAD_HOST},
    {"POST", "/", {{"Host", "a"}, {"Content-Length", "x"}}, false, GH_R_BAD_CONTENT_LENGTH},
    {"POST", "/", {{"Host", "a"}, {"Content-Length", "1"}, {"Content-Length", "2"}}, false,
     GH_R_MULTIPLE_CONTENT_LENGTH},
    {"POST", "/", {{"Host", "a"}, {"Content-Type", "a/b"}, {"Content-Type", "c/d"}}, false,
     GH_R_DUPLICATE_FIELD},
    {"POST", "/", {{"Host", "a"}, {"Content_Length", "1"}}, false, GH_R_LOOKALIKE_FRAMING_HEADER},
    {"GET", "/", {{"Host", "a"}, {"Expect", "later"}}, false, GH_R_BAD_EXPECT},
    {"GET", "/", {{"Host", "a"}}, true, GH_R_AMBIGUOUS_BODY},
    {"POST", "/", {{"Host", "a"}}, true, GH_R_OK},
    {"POST", "/", {{"Host", "a"}, {"Content-Length", "5"}}, false, GH_R_OK},
};

static void parts_as_http11(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(PARTS) / sizeof(PARTS[0]); i++) {
        const parts_case *c = &PARTS[i];
        char raw[512];
        gh_h1_header f[4];
        size_t n = 0;
        int len = snprintf(raw, sizeof(raw), "%s %s HTTP/1.1\r\n", c->method, c->target);
        for (; n < 4 && c->fields[n][0]; n++) {
            len += snprintf(raw + len, sizeof(raw) - (size_t)len, "%s: %s\r\n", c->fields[n][0], c->fields[n][1]);
            f[n] = (gh_h1_header){c->fields[n][0], c->fields[n][1], (uint32_t)strlen(c->fields[n][0]),
                                  (uint32_t)strlen(c->fields[n][1])};
        }
        len += snprintf(raw + len, sizeof(raw) - (size_t)len, "%s\r\n",
                        c->unframed ? "Transfer-Encoding: chunked\r\n" : "");
        gh_h1_request as_bytes, as_parts = {.method = c->method,
                                            .method_len = strlen(c->method),
                                            .target = c->target,
                                            .target_len = strlen(c->target),
                                            .minor = 1,
                                            .headers = f,
                                            .nheaders = n,
                                            .head_len = (size_t)len,
                                            .unframed = c->unframed};
        gh_h1_limits lim = {16384, 100, 8192, false};
        gh_reason r = gh_h1_check_request(&lim, &as_parts);
        if (r != c->want || parse(raw, &as_bytes) != c->want)
            fail_msg("case %zu (%s %s): parts %d, bytes %d, want %d", i, c->method, c->target, r,
                     parse(raw, &as_bytes), c->want);
        if (r == GH_R_OK)
            assert_int_equal(as_parts.body, as_bytes.body);
    }
    /* The parts' own bounds: the head's size and its field count. */
    gh_h1_header f[2] = {{"Host", "a", 4, 1}, {"X", "v", 1, 1}};
    gh_h1_request big = {.method = "GET", .method_len = 3, .target = "/", .target_len = 1,
                         .minor = 1, .headers = f, .nheaders = 2, .head_len = 16385};
    gh_h1_limits lim = {16384, 1, 8192, false};
    assert_int_equal(gh_h1_check_request(&lim, &big), GH_R_HEAD_TOO_LARGE);
    big.head_len = 100;
    assert_int_equal(gh_h1_check_request(&lim, &big), GH_R_TOO_MANY_HEADERS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(refusals),       cmocka_unit_test(accepts_and_fills),
        cmocka_unit_test(defensive_mode), cmocka_unit_test(limits),
        cmocka_unit_test(incremental),    cmocka_unit_test(responses),
        cmocka_unit_test(chunked),        cmocka_unit_test(chunk_lines),
        cmocka_unit_test(helpers),        cmocka_unit_test(chunk_extension_bound),
        cmocka_unit_test(find),           cmocka_unit_test(parts_as_http11),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
