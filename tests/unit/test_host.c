/* Host parsing and its canonical form (src/wire/host.c), and the parser's use of it: one
 * spelling per host, everything else refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "wire/h1.h"
#include "wire/host.h"

/* The canonical form of s, or "!" when it is refused. */
static const char *canon(const char *s, char *out)
{
    gh_host h;
    if (gh_host_parse(s, strlen(s), &h) != NULL)
        return "!";
    out[gh_host_canon(s, &h, out)] = '\0';
    return out;
}

static void canonical_forms(void **state)
{
    (void)state;
    char out[300];
    assert_string_equal(canon("admin.test", out), "admin.test");
    assert_string_equal(canon("admin.test.", out), "admin.test");
    assert_string_equal(canon("ADMIN.TEST.", out), "admin.test");
    assert_string_equal(canon("admin.test.:80", out), "admin.test:80");
    assert_string_equal(canon("Admin.Test:0080", out), "admin.test:80");
    assert_string_equal(canon("svc_a.internal", out), "svc_a.internal");
    assert_string_equal(canon("127.0.0.1:8080", out), "127.0.0.1:8080");
    assert_string_equal(canon("[::1]:443", out), "[::1]:443");
    assert_string_equal(canon("[2001:DB8::A]", out), "[2001:db8::a]");
    assert_string_equal(canon("localhost", out), "localhost");
    gh_host h;
    assert_null(gh_host_parse("[0:0::0001]:8443", 16, &h));
    assert_int_equal(gh_host_canon("[0:0::0001]:8443", &h, out), 10);
    assert_int_equal(h.name_len, 5); /* routes match the canonical name's length */
    assert_null(gh_host_parse("Admin.Test.:8443", 16, &h));
    assert_int_equal(h.name_len, 10); /* the name routes match: dot and port left out */
    assert_int_equal(h.port, 8443);
}

/* An IPv6 literal has one spelling: a route for [::1] is not skipped by [0::1]. */
static void ipv6_literals(void **state)
{
    (void)state;
    char out[300];
    static const char *const loopback[] = {"[0::1]", "[::0001]", "[0:0:0:0:0:0:0:1]",
                                           "[0000:0000:0000:0000:0000:0000:0000:0001]", "[::1]"};
    for (size_t i = 0; i < sizeof(loopback) / sizeof(loopback[0]); i++)
        assert_string_equal(canon(loopback[i], out), "[::1]");
    assert_string_equal(canon("[2001:0DB8:0:0::0A]:0443", out), "[2001:db8::a]:443");
    assert_string_equal(canon("[::FFFF:7F00:1]", out), "[::ffff:127.0.0.1]");
    /* longer than the client's spelling: the canonical form has its own bound */
    assert_string_equal(canon("[::ffff:a:a]:65535", out), "[::ffff:0.10.0.10]:65535");
    assert_string_equal(canon("[0000:0000:0000:0000:0000:ffff:255.255.255.255]:65535", out),
                        "[::ffff:255.255.255.255]:65535");
}

static void malformed_hosts(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "admin.test:80:80", "admin.test:",      "admin.test:99999", "admin.test:0",
        "admin.test:8o",    "admin.test..",     ".admin.test",      "admin..test",
        ".",                "a%2etest",         "a b",              "a/b",
        "a@b",              "127.1",            "0x7f.0.0.1",       "2130706433",
        "01.2.3.4",         "[::1",             "[::1]x",           "[fe80::1%25eth0]",
        "[v1.x]",           "::1",              "a]b",              "",
    };
    char out[300];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (strcmp(canon(bad[i], out), "!") != 0)
            fail_msg("'%s' was accepted as '%s'", bad[i], out);
    char longlabel[80];
    memset(longlabel, 'a', 64);
    strcpy(longlabel + 64, ".test");
    assert_string_equal(canon(longlabel, out), "!");
    char longname[300];
    for (size_t i = 0; i < 255; i++)
        longname[i] = i % 2 ? '.' : 'a';
    longname[255] = '\0';
    assert_string_equal(canon(longname, out), "!");
}

/* The request parser refuses each malformed Host with bad-host, and fills the parts of a good
 * one. */
static void parser_uses_it(void **state)
{
    (void)state;
    static gh_h1_header hdrs[16];
    gh_h1_limits lim = {16384, 16, 8192, false};
    static const char *const bad[] = {"admin.test:80:80", "admin.test..", "a:x", "127.1"};
    char raw[256];
    gh_h1_request req;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t scanned = 0;
        snprintf(raw, sizeof(raw), "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", bad[i]);
        assert_int_equal(gh_h1_parse_request(raw, strlen(raw), &scanned, &lim, hdrs, &req),
                         GH_R_BAD_HOST);
        assert_non_null(req.detail);
    }
    size_t scanned = 0;
    const char *ok = "GET / HTTP/1.1\r\nHost: ADMIN.TEST.:80\r\n\r\n";
    assert_int_equal(gh_h1_parse_request(ok, strlen(ok), &scanned, &lim, hdrs, &req), GH_R_OK);
    assert_int_equal(req.host_parts.name_len, 10);
    assert_int_equal(req.host_parts.port, 80);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(canonical_forms),
        cmocka_unit_test(ipv6_literals),
        cmocka_unit_test(malformed_hosts),
        cmocka_unit_test(parser_uses_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
