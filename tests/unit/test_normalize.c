/* The canonical path: RFC 3986 dot-segment removal (its 5.4 examples), the classic bypasses,
 * each rule's modes, UTF-8 of escaped bytes, and the query check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "wire/normalize.h"

static const gh_path_rules defaults = {0};

static gh_reason norm(const char *in, const gh_path_rules *rules, char *out, size_t cap)
{
    size_t len = 0;
    const char *detail = NULL;
    assert_true(GH_NORMALIZED_MAX(strlen(in)) <= cap);
    gh_reason r = gh_normalize_path(in, strlen(in), rules, out, &len, &detail);
    if (r == GH_R_OK)
        assert_int_equal(len, strlen(out));
    else
        assert_non_null(detail);
    return r;
}

static void expect(const char *in, const gh_path_rules *rules, const char *want)
{
    char out[512];
    gh_reason r = norm(in, rules, out, sizeof(out));
    if (r != GH_R_OK || strcmp(out, want) != 0)
        fail_msg("%s: want %s, got %s", in, want, r == GH_R_OK ? out : gh_reason_slug(r));
    /* The canonical form is a fixed point: normalizing it again changes nothing. */
    char again[512];
    if (norm(out, rules, again, sizeof(again)) != GH_R_OK || strcmp(again, out) != 0)
        fail_msg("%s: %s is not canonical", in, out);
}

static void refused(const char *in, const gh_path_rules *rules, gh_reason want)
{
    char out[512];
    gh_reason r = norm(in, rules, out, sizeof(out));
    if (r != want)
        fail_msg("%s: want %s, got %s", in, gh_reason_slug(want),
                 r == GH_R_OK ? out : gh_reason_slug(r));
}

/* RFC 3986 5.4: each reference resolved against http://a/b/c/d;p?q, as far as its path goes
 * (5.2.2 and 5.2.3 merge; remove_dot_segments is what the gateway does). The base's ";p" needs
 * parameters kept. Where the RFC clamps ".." at the root (5.4.2), the gateway refuses. */
static void rfc3986_examples(void **state)
{
    (void)state;
    gh_path_rules keep = {.parameters = GH_PATH_KEEP};
    static const struct {
        const char *ref, *path;
    } cases[] = {
        {"g", "/b/c/g"},        {"./g", "/b/c/g"},      {"g/", "/b/c/g/"},     {"/g", "/g"},
        {";x", "/b/c/;x"},      {"g;x", "/b/c/g;x"},    {".", "/b/c/"},        {"./", "/b/c/"},
        {"..", "/b/"},          {"../", "/b/"},         {"../g", "/b/g"},      {"../..", "/"},
        {"../../", "/"},        {"../../g", "/g"},      {"/./g", "/g"},        {"/../g", NULL},
        {"g.", "/b/c/g."},      {".g", "/b/c/.g"},      {"g..", "/b/c/g.."},   {"..g", "/b/c/..g"},
        {"./../g", "/b/g"},     {"./g/.", "/b/c/g/"},   {"g/./h", "/b/c/g/h"}, {"g/../h", "/b/c/h"},
        {"g;x=1/./y", "/b/c/g;x=1/y"}, {"g;x=1/../y", "/b/c/y"}, {"../../../g", NULL},
        {"../../../../g", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char merged[128];
        if (cases[i].ref[0] == '/')
            snprintf(merged, sizeof(merged), "%s", cases[i].ref);
        else
            snprintf(merged, sizeof(merged), "/b/c/%s", cases[i].ref);
        if (cases[i].path)
            expect(merged, &keep, cases[i].path);
        else
            refused(merged, &keep, GH_R_PATH_ABOVE_ROOT);
    }
}

static void canonical_forms(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } ok[] = {
        {"/", "/"},
        {"/a/b", "/a/b"},
        {"//a///b", "/a/b"},
        {"/a/./b", "/a/b"},
        {"/a/b/../c", "/a/c"},
        {"/a/b/..", "/a/"},
        {"/a/b/.", "/a/b/"},
        {"/a/", "/a/"},
        {"/%61%2e%2E/b", "/a../b"}, /* "a.." is a name, not a dot segment */
        {"/a/%2e%2e/b", "/b"},
        {"/a/%2E/b", "/a/b"},
        {"/%7euser", "/~user"},
        {"/a%3fb", "/a%3Fb"},
        {"/a%3bb", "/a%3Bb"}, /* an escaped ';' is data, not a parameter */
        {"/%e2%82%ac", "/%E2%82%AC"},
        {"/./admin", "/admin"},
        {"/admin/../x", "/x"},
        {"//admin", "/admin"},
        {"/ADMIN", "/ADMIN"}, /* case stays */
        {"/a/...", "/a/..."},
        {"/%25%32%65", "/%252e"}, /* double encoding stays encoded once */
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        expect(ok[i].in, &defaults, ok[i].out);
}

static void classic_bypasses_refused(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        gh_reason why;
    } bad[] = {
        {"/..", GH_R_PATH_ABOVE_ROOT},
        {"/a/../..", GH_R_PATH_ABOVE_ROOT},
        {"/%2e%2e/", GH_R_PATH_ABOVE_ROOT},
        {"/%2E%2e/etc/passwd", GH_R_PATH_ABOVE_ROOT},
        {"/admin%2f", GH_R_ENCODED_SLASH},
        {"/admin%2F..", GH_R_ENCODED_SLASH},
        {"/a%5cb", GH_R_BACKSLASH},
        {"/a\\b", GH_R_BACKSLASH},
        {"/..\\admin", GH_R_BACKSLASH},
        {"/admin;x/", GH_R_PATH_PARAMETERS},
        {"/x/..;/admin", GH_R_PATH_PARAMETERS},
        {"/admin%00", GH_R_PATH_CONTROL},
        {"/admin%00.json", GH_R_PATH_CONTROL},
        {"/%0d%0aSet-Cookie:x", GH_R_PATH_CONTROL},
        {"/a%7f", GH_R_PATH_CONTROL},
        {"/%c0%ae%c0%ae/", GH_R_PATH_UTF8}, /* overlong '.' */
        {"/%c0%af", GH_R_PATH_UTF8},        /* overlong '/' */
        {"/%ed%a0%80", GH_R_PATH_UTF8},     /* a surrogate */
        {"/%f4%90%80%80", GH_R_PATH_UTF8},  /* above U+10FFFF */
        {"/%e2%82", GH_R_PATH_UTF8},        /* cut short */
        {"/%80", GH_R_PATH_UTF8},
        {"/%zz", GH_R_BAD_PATH},
        {"/%4", GH_R_BAD_PATH},
        {"/a%", GH_R_BAD_PATH},
        {"relative", GH_R_BAD_PATH},
        {"*", GH_R_BAD_PATH},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        refused(bad[i].in, &defaults, bad[i].why);
}

static void rules_keep_and_decode(void **state)
{
    (void)state;
    gh_path_rules keep = {.encoded_slash = GH_PATH_KEEP, .backslash = GH_PATH_KEEP,
                          .parameters = GH_PATH_KEEP, .invalid_utf8 = GH_PATH_KEEP};
    expect("/files/a%2fb", &keep, "/files/a%2Fb");
    expect("/files/a%2F..%2Fb", &keep, "/files/a%2F..%2Fb"); /* one segment: no climbing */
    expect("/a\\b", &keep, "/a%5Cb");
    expect("/a%5cb", &keep, "/a%5Cb");
    expect("/a;jsessionid=1/b", &keep, "/a;jsessionid=1/b");
    expect("/%c0%ae", &keep, "/%C0%AE");
    refused("/x/..;/admin", &keep, GH_R_PATH_PARAMETERS); /* never a dot segment with parameters */
    refused("/x/.;/admin", &keep, GH_R_PATH_PARAMETERS);
    refused("/admin%00", &keep, GH_R_PATH_CONTROL); /* never configurable */

    gh_path_rules decode = {.encoded_slash = GH_PATH_DECODE, .backslash = GH_PATH_DECODE};
    expect("/a%2fb", &decode, "/a/b");
    expect("/a\\b", &decode, "/a/b");
    expect("/a%5Cb", &decode, "/a/b");
    expect("/a/b%2f..%2f..%2fc", &decode, "/c"); /* decoded first, so dot segments apply */
    refused("/a%2f..%2f..%2f..", &decode, GH_R_PATH_ABOVE_ROOT);
    refused("/..\\..\\x", &decode, GH_R_PATH_ABOVE_ROOT);

    gh_path_rules slashes = {.keep_slashes = true};
    expect("/a//b", &slashes, "/a//b");
    expect("//a", &slashes, "//a");
    expect("/a//../b", &slashes, "/a/b"); /* '..' removes the empty segment */
    expect("/a/", &slashes, "/a/");
}

static void queries(void **state)
{
    (void)state;
    const char *detail;
    static const char *good[] = {"", "a=1&b=2", "q=%20x%2Fy", "a=/b?c", "x=%E2%82%AC", "f[a]=1"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (gh_check_query(good[i], strlen(good[i]), &detail) != GH_R_OK)
            fail_msg("%s refused", good[i]);
    static const char *bad[] = {"a=%zz", "a=%4", "a=%", "a=%00", "a=%0a", "a=b#frag", "a=\x01",
                                "a=\x80"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        detail = NULL;
        if (gh_check_query(bad[i], strlen(bad[i]), &detail) != GH_R_BAD_QUERY)
            fail_msg("%s accepted", bad[i]);
        assert_non_null(detail);
    }
}

static void limits(void **state)
{
    (void)state;
    char in[2048], out[GH_NORMALIZED_MAX(2048)];
    size_t n = 0;
    for (int i = 0; i < 257; i++)
        n += (size_t)snprintf(in + n, sizeof(in) - n, "/a");
    size_t len;
    const char *detail;
    assert_int_equal(gh_normalize_path(in, n, &defaults, out, &len, &detail), GH_R_BAD_PATH);
    /* The worst growth: every byte a kept backslash. */
    gh_path_rules keep = {.backslash = GH_PATH_KEEP};
    memset(in, '\\', 600);
    in[0] = '/';
    assert_int_equal(gh_normalize_path(in, 600, &keep, out, &len, &detail), GH_R_OK);
    assert_int_equal(len, 1 + 3 * 599);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc3986_examples),      cmocka_unit_test(canonical_forms),
        cmocka_unit_test(classic_bypasses_refused), cmocka_unit_test(rules_keep_and_decode),
        cmocka_unit_test(queries),               cmocka_unit_test(limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
