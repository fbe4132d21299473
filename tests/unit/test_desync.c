/* Every case of ../shared/testdata/http-desync-guardian/tests/ (every .yaml), rendered to bytes and
 * read by the parser and the path normalizer in both strictness modes:
 *   Severe     refused in strict and defensive mode;
 *   Ambiguous  refused in strict mode; in defensive mode accepted and marked ambiguous (the
 *              gateway then closes both connections), unless listed below;
 *   Compliant, Acceptable  accepted, unless listed below.
 * `deliberate` lists every case the gateway refuses on purpose, with the rule that refuses it;
 * for those the test asserts that exact rule, in both modes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "desync_corpus.h"
#include "wire/h1.h"
#include "wire/normalize.h"

static const struct {
    const char *file, *name, *reason, *why;
} deliberate[] = {
    {"acceptable.yaml", "No TE/CL headers, some others are non-compliant",
     "whitespace-before-colon",
     "whitespace between a field name and its colon (RFC 9112 5.1: MUST reject)"},
    {"acceptable.yaml", "TE and some others are non-compliant", "whitespace-before-colon", "same"},
    {"acceptable.yaml", "CL and some others are non-compliant", "whitespace-before-colon", "same"},
    {"acceptable.yaml", "A non-essential header with a non-printable character (x01)",
     "bad-header-name", "control characters in names"},
    {"acceptable.yaml", "Non-RFC, but OK HTTP/0.9", "version-not-supported",
     "only HTTP/1.0 and HTTP/1.1 are served (505)"},
    {"acceptable.yaml", "Unknown but OK HTTP/1.2", "version-not-supported", "same"},
    {"acceptable.yaml", "Empty version, which means HTTP/0.9", "bad-version",
     "HTTP/0.9 has no headers and no framing to check"},
    {"bad-header-characters.yaml", "Some-Header\\x01", "bad-header-name",
     "control characters in names"},
    {"bad-header-characters.yaml", "\\x01Some-Header", "bad-header-name", "same"},
    {"bad-header-characters.yaml", "Some-Header: \\x01value", "bad-header-value",
     "control characters in values"},
    {"bad-header-characters.yaml", "Some-Header: value\\x01", "bad-header-value", "same"},
    {"more-compliant-tests.yaml", "Correct TE OK", "bad-transfer-encoding",
     "Transfer-Encoding must be exactly chunked: other codings are not decoded here"},
    {"more-compliant-tests.yaml", "Transfer-Encoding: identity and chunked OK",
     "bad-transfer-encoding", "same"},
    {"more-compliant-tests.yaml", "Multiple transfer encoding headers in a single request OK",
     "bad-transfer-encoding", "same"},
    {"more-compliant-tests.yaml", "TE with custom parameters OK", "bad-transfer-encoding", "same"},
    {"rfc-compliant.yaml", "Different Transfer-Encoding headers", "bad-transfer-encoding", "same"},
    {"rfc-compliant.yaml", "Different Transfer-Encoding headers combined", "bad-transfer-encoding",
     "same"},
    {"rfc-compliant.yaml", "Transfer-Encoding with a param: chunked;custom_param",
     "bad-transfer-encoding", "same"},
    {"rfc-compliant.yaml", "Compliant URL", "bad-target",
     "a fragment (#) and raw quotes in the target"},
    {"rfc-compliant.yaml", "International in URI", "bad-target",
     "raw non-ASCII bytes in the target (percent-encode them)"},
    {"rfc-compliant.yaml", "Empty URI", "bad-target", "the target must be origin-form"},
    {"uri-specific-test-cases.yaml", "Extra spaces in version", "bad-target",
     "a space after the version leaves a space inside the target"},
    {"uri-specific-test-cases.yaml", "[space] in URI", "bad-target", "raw spaces in the target"},
    {"uri-specific-test-cases.yaml", "%09 in URI is OK", "control-character-in-path",
     "encoded control characters in the path"},
    {"uri-specific-test-cases.yaml", "%0D in URI is OK", "control-character-in-path", "same"},
    {"uri-specific-test-cases.yaml", "%0A in URI is OK", "control-character-in-path", "same"},
};

static const char *listed_reason(const desync_case *c)
{
    for (size_t i = 0; i < sizeof(deliberate) / sizeof(deliberate[0]); i++)
        if (strcmp(deliberate[i].file, c->file) == 0 && strcmp(deliberate[i].name, c->name) == 0)
            return deliberate[i].reason;
    return NULL;
}

/* What the gateway does with the bytes before routing: parse, then normalize the path. */
static gh_reason accept(const desync_case *c, bool defensive, bool *ambiguous)
{
    gh_h1_header hdrs[100];
    gh_h1_request req;
    size_t scanned = 0;
    gh_h1_limits lim = {16384, 100, 8192, defensive};
    gh_reason r = gh_h1_parse_request(c->raw, c->raw_len, &scanned, &lim, hdrs, &req);
    if (r != GH_R_OK)
        return r;
    *ambiguous = req.ambiguous;
    const char *q = memchr(req.target, '?', req.target_len);
    size_t plen = q ? (size_t)(q - req.target) : req.target_len;
    char path[GH_NORMALIZED_MAX(8192)];
    size_t out_len;
    const char *detail;
    const gh_path_rules rules = {0};
    return gh_normalize_path(req.target, plen, &rules, path, &out_len, &detail);
}

#define FAIL(...) return (snprintf(why, why_len, __VA_ARGS__), why)

/* NULL when the case holds, else why not (written into why). */
static const char *check_case(const desync_case *c, char *why, size_t why_len)
{
    bool amb_strict = false, amb_def = false;
    gh_reason strict = accept(c, false, &amb_strict), def = accept(c, true, &amb_def);
    const char *listed = listed_reason(c);
    if (strcmp(c->tier, "Severe") == 0) {
        if (strict == GH_R_OK || def == GH_R_OK)
            FAIL("%s: Severe case accepted (strict=%s defensive=%s)", c->id, gh_reason_slug(strict),
                 gh_reason_slug(def));
        /* A refusal always carries a 4xx/5xx status and the connection closes. */
        if (gh_reason_status(strict) < 400 || gh_reason_status(def) < 400)
            FAIL("%s: refused without an error status", c->id);
        return NULL;
    }
    if (listed) {
        if (strcmp(gh_reason_slug(strict), listed) != 0 || strcmp(gh_reason_slug(def), listed) != 0)
            FAIL("%s: expected deliberate refusal %s, got strict=%s defensive=%s", c->id, listed,
                 gh_reason_slug(strict), gh_reason_slug(def));
        return NULL;
    }
    if (strcmp(c->tier, "Ambiguous") == 0) {
        if (strict == GH_R_OK)
            FAIL("%s: Ambiguous case accepted in strict mode", c->id);
        if (def != GH_R_OK && def != strict)
            FAIL("%s: strict=%s but defensive=%s", c->id, gh_reason_slug(strict),
                 gh_reason_slug(def));
        if (def == GH_R_OK && !amb_def)
            FAIL("%s: accepted in defensive mode without the ambiguous mark", c->id);
        return NULL;
    }
    if (strict != GH_R_OK || def != GH_R_OK)
        FAIL("%s: %s case refused (strict=%s defensive=%s) but not listed as deliberate", c->id,
             c->tier, gh_reason_slug(strict), gh_reason_slug(def));
    return NULL;
}

#undef FAIL

/* ../shared is not part of the project: without it the corpus is skipped with a reason, except
 * under CI=true, where a missing suite would silently drop its cases from the totals. */
#define CORPUS "../shared/testdata/http-desync-guardian/tests"

static bool in_ci(void)
{
    const char *ci = getenv("CI");
    return ci && strcmp(ci, "true") == 0;
}

/* The whole corpus as one test: each case is counted on the GH-CASES line that the test runner
 * adds to its totals, and each failing case is printed with its id. */
static void corpus_cases(void **state)
{
    (void)state;
    desync_case *cases;
    size_t n = desync_load(CORPUS, &cases);
    if (n == 0) {
        printf("GH-CASES desync passed=0 failed=%d skipped=%d\n", in_ci(), !in_ci());
        if (in_ci())
            fail_msg("desync corpus not found at %s (CI=true: a missing suite fails)", CORPUS);
        printf("desync corpus not found at %s: skipped\n", CORPUS);
        skip();
    }
    size_t failed = 0;
    for (size_t i = 0; i < n; i++) {
        char why[512];
        const char *bad = check_case(&cases[i], why, sizeof(why));
        if (bad) {
            printf("FAILED desync case %s\n", bad);
            failed++;
        }
    }
    printf("GH-CASES desync passed=%zu failed=%zu skipped=0\n", n - failed, failed);
    desync_free(cases, n);
    assert_int_equal(failed, 0);
}

/* Ambiguous cases that defensive mode accepts must still be a minority: the mode exists to
 * forward well-formed oddities, not to relax the framing rules. */
static void defensive_accepts_only_well_formed(void **state)
{
    (void)state;
    desync_case *cases;
    size_t n = desync_load(CORPUS, &cases);
    if (n == 0)
        skip(); /* corpus_cases reports the missing corpus */
    size_t accepted = 0;
    for (size_t i = 0; i < n; i++) {
        bool amb = false;
        if (strcmp(cases[i].tier, "Ambiguous") == 0 && accept(&cases[i], true, &amb) == GH_R_OK)
            accepted++;
    }
    desync_free(cases, n);
    assert_in_range(accepted, 1, 12);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(corpus_cases),
        cmocka_unit_test(defensive_accepts_only_well_formed),
    };
    return cmocka_run_group_tests_name("desync", tests, NULL, NULL);
}
