/* The admin listener's authorization (server/admin_auth.c): Bearer or Basic credentials, Basic's
 * base64 read strictly, and the header a change made with Basic credentials, or by a browser's
 * page when there is no token, must carry. */
#include <openssl/evp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "server/admin_auth.h"

/* 24 bytes: "admin:" and it make 30, whose base64 has no padding. */
static const char TOKEN[] = "0123456789abcdef-token:x";

/* The verdict on `method /status` with these header lines (each ending in CRLF), for a
 * listener that wants token (NULL: none). */
static gh_reason verdict_at(const char *token, const char *host, const char *method,
                            const char *lines)
{
    static char raw[4096];
    static gh_h1_header hdrs[16];
    gh_h1_request req;
    int n = snprintf(raw, sizeof(raw), "%s /status HTTP/1.1\r\nHost: %s\r\n%s\r\n", method, host,
                     lines);
    assert_true(n > 0 && (size_t)n < sizeof(raw));
    size_t scanned = 0;
    gh_h1_limits lim = {sizeof(raw), 16, 1024, false};
    assert_int_equal(gh_h1_parse_request(raw, (size_t)n, &scanned, &lim, hdrs, &req), GH_R_OK);
    gh_admin_verdict v = gh_admin_authorize(&req, token);
    assert_true((v.reason == GH_R_OK) == (v.why == NULL));
    return v.reason;
}

static gh_reason verdict_for(const char *token, const char *method, const char *lines)
{
    return verdict_at(token, "127.0.0.1:9901", method, lines);
}

static gh_reason verdict_on(const char *method, const char *lines)
{
    return verdict_for(TOKEN, method, lines);
}

/* base64 of text, into out. */
static void encode(const char *text, char *out)
{
    EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)text, (int)strlen(text));
}

static gh_reason with_basic(const char *method, const char *b64_shown, const char *more)
{
    char lines[2048];
    snprintf(lines, sizeof(lines), "Authorization: Basic %s\r\n%s", b64_shown, more);
    return verdict_on(method, lines);
}

static void bearer_and_basic_let_in(void **state)
{
    (void)state;
    char lines[256], b64[128];
    snprintf(lines, sizeof(lines), "Authorization: Bearer %s\r\n", TOKEN);
    assert_int_equal(verdict_on("GET", lines), GH_R_OK);
    assert_int_equal(verdict_on("POST", lines), GH_R_OK); /* no browser sends Bearer alone */
    encode("admin:0123456789abcdef-token:x", b64); /* a colon in the password is the password's */
    assert_int_equal(with_basic("GET", b64, ""), GH_R_OK);
    snprintf(lines, sizeof(lines), "Authorization: basic %s\r\n", b64);
    assert_int_equal(verdict_on("GET", lines), GH_R_OK); /* the scheme is case-insensitive */
    encode(":0123456789abcdef-token:x", b64);
    assert_int_equal(with_basic("HEAD", b64, ""), GH_R_OK);
    encode("0123456789abcdef-token:x:", b64); /* the token as the user name: not the password */
    assert_int_equal(with_basic("GET", b64, ""), GH_R_INVALID_TOKEN);
}

/* Only base64 itself (RFC 4648 4) is read: EVP_DecodeBlock alone would skip whitespace before
 * and after it and take '-' for an end of data, and it ignores the bits padding leaves over. */
static void basic_base64_is_strict(void **state)
{
    (void)state;
    char b64[128], shown[256];
    encode("admin:0123456789abcdef-token:x", b64);
    assert_int_equal(strlen(b64) % 4, 0);
    assert_null(strchr(b64, '='));
    /* (Whitespace after the value is the field's own, and the parser drops it.) */
    static const char *const forms[] = {"    %s", "\t\t\t\t%s", " \t\t %s", "%s----", "  %s--"};
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        snprintf(shown, sizeof(shown), forms[i], b64);
        if (with_basic("GET", shown, "") != GH_R_MISSING_TOKEN)
            fail_msg("form %zu (\"%s\") let in", i, shown);
    }
    /* Padding's left-over bits set: the same bytes spelt otherwise. */
    encode("admin1:0123456789abcdef-token:x", b64);
    assert_int_equal(with_basic("GET", b64, ""), GH_R_OK);
    size_t n = strlen(b64);
    assert_true(n >= 3 && b64[n - 1] == '=' && b64[n - 2] == '=');
    b64[n - 3] = (char)(b64[n - 3] + 1); /* A, Q, g or w (low bits clear): one more is a digit */
    assert_int_equal(with_basic("GET", b64, ""), GH_R_MISSING_TOKEN);
    encode("admin12:0123456789abcdef-token:x", b64); /* 32 bytes: one '=' */
    n = strlen(b64);
    assert_true(b64[n - 1] == '=' && b64[n - 2] != '=');
    assert_int_equal(with_basic("GET", b64, ""), GH_R_OK);
    b64[n - 2] = (char)(b64[n - 2] + 1); /* its two low bits are clear: one more is a digit */
    assert_int_equal(with_basic("GET", b64, ""), GH_R_MISSING_TOKEN);
}

/* A change made with Basic credentials (which a browser sends on its own) needs the dashboard's
 * header, whatever the method's spelling; reading does not. */
static void basic_changes_need_the_dashboard_header(void **state)
{
    (void)state;
    char b64[128];
    encode("admin:0123456789abcdef-token:x", b64);
    static const char *const changes[] = {"POST", "post", "PUT", "DELETE", "OPTIONS", "PATCH",
                                          "Get"};
    for (size_t i = 0; i < sizeof(changes) / sizeof(changes[0]); i++) {
        if (with_basic(changes[i], b64, "") != GH_R_CORS_REFUSED)
            fail_msg("%s let in without X-Gatehouse-Dashboard", changes[i]);
        if (with_basic(changes[i], b64, "X-Gatehouse-Dashboard: 1\r\n") != GH_R_OK)
            fail_msg("%s refused with X-Gatehouse-Dashboard", changes[i]);
    }
    assert_int_equal(with_basic("POST", b64, "x-gatehouse-dashboard:\r\n"), GH_R_OK);
    assert_int_equal(with_basic("GET", b64, ""), GH_R_OK);
    assert_int_equal(with_basic("HEAD", b64, ""), GH_R_OK);
}

/* Without a token anyone may ask, but a browser's page is not anyone: another site's form or
 * script must not reload, stop or ban through the operator's browser. A browser says it sent
 * the request for a page (Origin, Sec-Fetch-Site); tools say neither. */
static void tokenless_changes_from_a_page_need_the_dashboard_header(void **state)
{
    (void)state;
    static const char *const pages[] = {
        "Origin: https://evil.example\r\n",
        "Origin: null\r\n",
        "Sec-Fetch-Site: cross-site\r\n",
        "Origin: https://evil.example\r\nSec-Fetch-Site: cross-site\r\n",
    };
    char lines[256];
    for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
        if (verdict_for(NULL, "POST", pages[i]) != GH_R_CORS_REFUSED)
            fail_msg("POST with %s let in", pages[i]);
        if (verdict_for(NULL, "DELETE", pages[i]) != GH_R_CORS_REFUSED)
            fail_msg("DELETE with %s let in", pages[i]);
        assert_int_equal(verdict_for(NULL, "GET", pages[i]), GH_R_OK);
        snprintf(lines, sizeof(lines), "%sX-Gatehouse-Dashboard: 1\r\n", pages[i]);
        assert_int_equal(verdict_for(NULL, "POST", lines), GH_R_OK);
    }
    assert_int_equal(verdict_for(NULL, "POST", ""), GH_R_OK); /* curl, gatehouse reload */
    assert_int_equal(verdict_for(NULL, "POST", "Content-Type: application/json\r\n"), GH_R_OK);
}

/* DNS rebinding: another site's page whose name now points at 127.0.0.1 is the listener's own
 * origin to the browser (it may add any header and read the answers), but its Host says that
 * name. Without a token, a browser's request is let in only under a loopback name. */
static void tokenless_pages_only_under_a_loopback_name(void **state)
{
    (void)state;
    static const char *const loopback[] = {"127.0.0.1:9901", "localhost:9901", "LOCALHOST",
                                           "[::1]:9901", "127.8.9.10", "localhost."};
    static const char *const others[] = {"evil.example:9901", "127.0.0.1.evil.example",
                                         "localhost.evil.example", "10.0.0.1:9901",
                                         "[::2]:9901", "evil.localhost"};
    const char *page = "Sec-Fetch-Site: same-origin\r\nX-Gatehouse-Dashboard: 1\r\n";
    for (size_t i = 0; i < sizeof(loopback) / sizeof(loopback[0]); i++) {
        if (verdict_at(NULL, loopback[i], "GET", page) != GH_R_OK ||
            verdict_at(NULL, loopback[i], "POST", page) != GH_R_OK)
            fail_msg("a page under %s refused", loopback[i]);
    }
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        if (verdict_at(NULL, others[i], "GET", page) != GH_R_CORS_REFUSED ||
            verdict_at(NULL, others[i], "POST", "Origin: http://evil.example:9901\r\n"
                                                "X-Gatehouse-Dashboard: 1\r\n") !=
                GH_R_CORS_REFUSED)
            fail_msg("a page under %s let in", others[i]);
        assert_int_equal(verdict_at(NULL, others[i], "POST", ""), GH_R_OK); /* a tool */
    }
    char lines[256];
    snprintf(lines, sizeof(lines), "Authorization: Bearer %s\r\nOrigin: http://a.example\r\n",
             TOKEN); /* with a token, the token decides */
    assert_int_equal(verdict_at(TOKEN, "a.example", "GET", lines), GH_R_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bearer_and_basic_let_in),
        cmocka_unit_test(basic_base64_is_strict),
        cmocka_unit_test(basic_changes_need_the_dashboard_header),
        cmocka_unit_test(tokenless_changes_from_a_page_need_the_dashboard_header),
        cmocka_unit_test(tokenless_pages_only_under_a_loopback_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
