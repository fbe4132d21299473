/* The probe's reports: a run with a pass, failures whose evidence holds quotes, '<', '&',
 * backticks, control bytes and a 300-character line, a skip and an error, rendered in every
 * format. JSON and SARIF parse and count right, JUnit is escaped and counts right, the text
 * keeps to 120 columns with the summary first, and Markdown's fences hold. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "probe/probe.h"
#include "probe/report_internal.h"

static const gh_probe_case cases[] = {
    {"TOK-001", "tokens", "A token signed with alg none", "API2:2023", 347, GH_PSEV_HIGH, 0,
     "401, nothing forwarded", "Pin the provider's algorithms.", NULL},
    {"TOK-002", "tokens", "A token whose signature was stripped", "API2:2023", 347, GH_PSEV_HIGH, 0,
     "401, nothing forwarded", "Require a signature: set algorithms: [ES256] & check kid <x>.",
     NULL},
    {"HDR-001", "headers", "X-Forwarded-For spoofed", "API8:2023", 348, GH_PSEV_MEDIUM, 0,
     "the client's own address forwarded", "Strip X-Forwarded-For at the edge.", NULL},
    {"CORS-001", "cors", "A foreign origin with credentials", "API8:2023", 942, GH_PSEV_LOW, 0,
     "no Access-Control-Allow-Origin", "List origins.", NULL},
    {"LIM-001", "limits", "A flood past the rate limit", "API4:2023", 770, GH_PSEV_MEDIUM, 0,
     "429 after the limit", "Set a limit.", NULL},
    {"XTR-001", "extra", "A case of a group outside the list", NULL, 0, GH_PSEV_LOW, 0, NULL, NULL,
     NULL},
};

/* What TOK-002 sent: everything a format must escape, and a line of 300 'Z's. */
static char sent[600];
static const char observed[] = "HTTP/1.1 200 OK\\r\\nX-Note: \"quoted\" & <b>bold</b> 'single'"
                               "\\r\\n\\r\\nhere comes a fence\\n``````";
static const char long_why[] =
    "the gateway forwarded a request whose token had no signature at all, and the upstream "
    "answered it as if the caller were probe-a; see "
    "https://example.test/a/very/long/address/without/any/space/in/it/that/goes/on/and/on/and/"
    "on/well/past/the/width/of/one/line/of/text/for/sure";

static gh_probe_target target = {.host = "127.0.0.1", .port = 8443, .tls = true};

typedef struct {
    gh_probe p;
    gh_probe_result r[6];
    size_t n;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    gh_arena_init(&f->p.arena, 4096, 0);
    f->p.config_file = "gatehouse.yaml";
    f->p.selftest = true;
    f->p.profile = GH_PROFILE_SAFE;
    f->p.caps = (gh_probe_caps){.requests = 1000,
                                .connections = 500,
                                .bytes = 1 << 20,
                                .seconds = 300,
                                .exchange_ms = 2000};
    f->p.used.requests = 17;
    f->p.used.connections = 9;
    f->p.used.bytes = 4321;
    f->p.used.started = 12345.0;
    f->p.targets = &target;
    f->p.ntargets = 1;

    snprintf(sent, sizeof(sent),
             "GET /a?x=\"1\"&y=<2> HTTP/1.1\\r\\nHost: `a` ```b```\x01\x1b[31m"
             "\x7f\\r\\n\\r\\n");
    size_t len = strlen(sent);
    memset(sent + len, 'Z', 300);
    sent[len + 300] = '\0';

    gh_probe_result *r = f->r;
    r[0] = (gh_probe_result){&cases[0], NULL, GH_PV_PASS, "401", NULL, NULL, NULL, "api", 12, 5, 0.25};
    r[1] = (gh_probe_result){&cases[1], NULL,         GH_PV_FAIL, long_why, sent, observed,
                             "GET /a HTTP/1.1", "api",      12,       5,    0.5};
    r[2] = (gh_probe_result){&cases[2], NULL,
                             GH_PV_FAIL,
                             "the spoofed address reached the upstream",
                             "GET / HTTP/1.1",
                             "HTTP/1.1 200 OK",
                             NULL,
                             NULL,
                             0,
                             0,
                             0.125};
    r[3] = (gh_probe_result){&cases[3], NULL, GH_PV_SKIP, "no route with CORS", NULL, NULL, NULL, NULL, 0,
                             0,         0};
    r[4] = (gh_probe_result){
        &cases[4], NULL, GH_PV_ERROR, "connect: refused \"127.0.0.1\"\x02", NULL, NULL, NULL, "api", 12,
        5,         0.125};
    r[5] = (gh_probe_result){&cases[5], NULL, GH_PV_PASS, "held", NULL, NULL, NULL, NULL, 0, 0, 0};
    f->n = 6;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    gh_arena_free(&f->p.arena);
    free(f);
    return 0;
}

static char *render(gh_probe_render_fn fn, const fixture *f, size_t n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_non_null(out);
    gh_probe_summary sum;
    gh_probe_summarize(f->r, n, &sum);
    fn(out, &f->p, f->r, n, &sum);
    assert_int_equal(fclose(out), 0);
    assert_non_null(buf);
    return buf;
}

static void summary_counts_verdicts_and_failures_by_severity(void **state)
{
    fixture *f = *state;
    gh_probe_summary s;
    gh_probe_summarize(f->r, f->n, &s);
    assert_int_equal(s.pass, 2);
    assert_int_equal(s.fail, 2);
    assert_int_equal(s.skip, 1);
    assert_int_equal(s.error, 1);
    assert_int_equal(s.fail_high, 1);
    assert_int_equal(s.fail_medium, 1);
    assert_int_equal(s.fail_low, 0);
    assert_true(s.seconds > 0.99 && s.seconds < 1.01);
    assert_string_equal(gh_probe_verdict_name(GH_PV_ERROR), "error");
    assert_string_equal(gh_probe_severity_name(GH_PSEV_MEDIUM), "medium");
}

static void groups_come_in_report_order_then_others(void **state)
{
    fixture *f = *state;
    size_t n;
    gh_probe_group_row *rows = gh__probe_group_rows(f->r, f->n, &n);
    assert_non_null(rows);
    assert_int_equal(n, 5);
    const char *want[] = {"tokens", "limits", "headers", "cors", "extra"};
    for (size_t i = 0; i < n; i++)
        assert_string_equal(rows[i].group, want[i]);
    assert_int_equal(rows[0].sum.pass, 1);
    assert_int_equal(rows[0].sum.fail, 1);
    assert_int_equal(rows[1].sum.error, 1);
    free(rows);
}

static json_t *parse(const char *text)
{
    json_error_t err;
    json_t *doc = json_loads(text, 0, &err);
    if (!doc)
        fail_msg("not JSON: %s at line %d", err.text, err.line);
    return doc;
}

static void json_report_has_counts_and_every_result(void **state)
{
    fixture *f = *state;
    char *text = render(gh_probe_render_json, f, f->n);
    json_t *doc = parse(text);
    assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "tool"), "name")),
                        "gatehouse probe");
    assert_string_equal(json_string_value(json_object_get(doc, "mode")), "self-test");
    assert_string_equal(json_string_value(json_object_get(doc, "profile")), "safe");
    assert_string_equal(json_string_value(json_object_get(doc, "config")), "gatehouse.yaml");
    json_t *sum = json_object_get(doc, "summary");
    assert_int_equal(json_integer_value(json_object_get(sum, "fail")), 2);
    assert_int_equal(json_integer_value(json_object_get(sum, "fail_high")), 1);
    assert_int_equal(json_integer_value(json_object_get(sum, "error")), 1);
    json_t *req = json_object_get(json_object_get(doc, "caps"), "requests");
    assert_int_equal(json_integer_value(json_object_get(req, "used")), 17);
    assert_int_equal(json_integer_value(json_object_get(req, "max")), 1000);
    json_t *results = json_object_get(doc, "results");
    assert_int_equal(json_array_size(results), 6);
    json_t *fail = json_array_get(results, 1);
    assert_string_equal(json_string_value(json_object_get(fail, "id")), "TOK-002");
    assert_string_equal(json_string_value(json_object_get(fail, "verdict")), "fail");
    assert_string_equal(json_string_value(json_object_get(fail, "severity")), "high");
    assert_string_equal(json_string_value(json_object_get(fail, "sent")), sent); /* exact */
    assert_int_equal(json_integer_value(json_object_get(fail, "line")), 12);
    assert_int_equal(json_integer_value(json_object_get(fail, "cwe")), 347);
    json_t *hdr = json_array_get(results, 2);
    assert_true(json_is_null(json_object_get(hdr, "upstream")));
    assert_true(json_is_null(json_object_get(hdr, "route")));
    json_decref(doc);
    free(text);
}

static json_t *sarif_run(const fixture *f, size_t n, char **text)
{
    *text = render(gh_probe_render_sarif, f, n);
    return parse(*text);
}

static void sarif_has_a_rule_per_case_and_a_result_per_failure(void **state)
{
    fixture *f = *state;
    char *text;
    json_t *doc = sarif_run(f, f->n, &text);
    assert_string_equal(json_string_value(json_object_get(doc, "version")), "2.1.0");
    assert_string_equal(json_string_value(json_object_get(doc, "$schema")),
                        "https://json.schemastore.org/sarif-2.1.0.json");
    json_t *run = json_array_get(json_object_get(doc, "runs"), 0);
    json_t *driver = json_object_get(json_object_get(run, "tool"), "driver");
    assert_string_equal(json_string_value(json_object_get(driver, "name")), "gatehouse probe");
    assert_null(json_object_get(driver, "informationUri"));
    json_t *rules = json_object_get(driver, "rules");
    assert_int_equal(json_array_size(rules), 6);
    json_t *results = json_object_get(run, "results");
    assert_int_equal(json_array_size(results), 2);

    json_t *r0 = json_array_get(results, 0);
    assert_string_equal(json_string_value(json_object_get(r0, "ruleId")), "TOK-002");
    assert_string_equal(json_string_value(json_object_get(r0, "level")), "error");
    json_t *rule =
        json_array_get(rules, (size_t)json_integer_value(json_object_get(r0, "ruleIndex")));
    assert_string_equal(json_string_value(json_object_get(rule, "id")), "TOK-002");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(rule, "defaultConfiguration"), "level")),
        "error");
    json_t *props = json_object_get(rule, "properties");
    assert_string_equal(json_string_value(json_object_get(props, "security-severity")), "8.0");
    json_t *tags = json_object_get(props, "tags");
    assert_string_equal(json_string_value(json_array_get(tags, 0)), "security");
    assert_string_equal(json_string_value(json_array_get(tags, 3)), "external/cwe/cwe-347");
    json_t *phys =
        json_object_get(json_array_get(json_object_get(r0, "locations"), 0), "physicalLocation");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(phys, "artifactLocation"), "uri")),
        "gatehouse.yaml");
    json_t *region = json_object_get(phys, "region");
    assert_int_equal(json_integer_value(json_object_get(region, "startLine")), 12);
    assert_int_equal(json_integer_value(json_object_get(region, "startColumn")), 5);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(r0, "properties"), "sent")), sent);
    assert_non_null(strstr(
        json_string_value(json_object_get(json_object_get(r0, "message"), "text")), "route api"));

    /* No line: the target by name instead of a place in the file. */
    json_t *r1 = json_array_get(results, 1);
    assert_string_equal(json_string_value(json_object_get(r1, "level")), "warning");
    json_t *loc = json_array_get(json_object_get(r1, "locations"), 0);
    assert_null(json_object_get(loc, "physicalLocation"));
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(loc, "logicalLocations"), 0), "name")),
                        "https://127.0.0.1:8443");

    json_t *inv = json_array_get(json_object_get(run, "invocations"), 0);
    assert_true(json_is_false(json_object_get(inv, "executionSuccessful")));
    json_t *notes = json_object_get(inv, "toolExecutionNotifications");
    assert_int_equal(json_array_size(notes), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(notes, 0), "level")),
                        "error");
    json_decref(doc);
    free(text);

    /* Without the error the run succeeded. */
    doc = sarif_run(f, 4, &text);
    inv = json_array_get(
        json_object_get(json_array_get(json_object_get(doc, "runs"), 0), "invocations"), 0);
    assert_true(json_is_true(json_object_get(inv, "executionSuccessful")));
    json_decref(doc);
    free(text);
}

/* Every '<' opens one of the report's own tags and every '&' one of XML's entities or a
 * character reference: nothing from the evidence became markup. */
static void assert_xml_markup_is_ours(const char *x)
{
    static const char *const tags[] = {"?xml ",       "testsuites ", "/testsuites>", "testsuite ",
                                       "/testsuite>", "testcase ",   "/testcase>",   "failure ",
                                       "/failure>",   "skipped ",    "error "};
    static const char *const ents[] = {"&amp;",  "&lt;", "&gt;",  "&quot;",
                                       "&apos;", "&#9;", "&#10;", "&#13;"};
    for (const char *c = x; *c; c++) {
        bool ok = true;
        if (*c == '<') {
            ok = false;
            for (size_t k = 0; k < sizeof(tags) / sizeof(tags[0]); k++)
                ok |= strncmp(c + 1, tags[k], strlen(tags[k])) == 0;
        } else if (*c == '&') {
            ok = false;
            for (size_t k = 0; k < sizeof(ents) / sizeof(ents[0]); k++)
                ok |= strncmp(c, ents[k], strlen(ents[k])) == 0;
        } else if ((unsigned char)*c < 0x20 && *c != '\n' && *c != '\t') {
            fail_msg("raw control byte 0x%02X at offset %zu", (unsigned char)*c, (size_t)(c - x));
        }
        if (!ok)
            fail_msg("stray markup at offset %zu: %.40s", (size_t)(c - x), c);
    }
}

static size_t occurrences(const char *s, const char *needle)
{
    size_t n = 0;
    for (const char *at = strstr(s, needle); at; at = strstr(at + 1, needle))
        n++;
    return n;
}

static void junit_counts_and_escapes(void **state)
{
    fixture *f = *state;
    char *x = render(gh_probe_render_junit, f, f->n);
    assert_xml_markup_is_ours(x);
    assert_non_null(strstr(x, "<testsuites name=\"gatehouse probe\" tests=\"6\" failures=\"2\" "
                              "errors=\"1\" skipped=\"1\" time=\""));
    assert_int_equal(occurrences(x, "<testsuite "), 5);
    assert_int_equal(occurrences(x, "<testcase "), 6);
    assert_int_equal(occurrences(x, "<failure "), 2);
    assert_int_equal(occurrences(x, "<skipped "), 1);
    assert_int_equal(occurrences(x, "<error "), 1);
    assert_non_null(strstr(x, "<testsuite name=\"Tokens\" tests=\"2\" failures=\"1\" errors=\"0\" "
                              "skipped=\"0\""));
    assert_non_null(strstr(x, "classname=\"gatehouse.probe.tokens\" name=\"TOK-002 A token whose "
                              "signature was stripped\""));
    assert_non_null(strstr(x, "type=\"high\""));
    assert_non_null(strstr(x, "x=&quot;1&quot;&amp;y=&lt;2&gt;"));
    assert_non_null(strstr(x, "\\x01\\x1B[31m\\x7F"));
    assert_non_null(strstr(x, "&apos;single&apos;"));
    assert_non_null(strstr(x, "refused &quot;127.0.0.1&quot;\\x02\"/>"));
    free(x);
}

static void text_fits_120_columns_with_the_summary_first(void **state)
{
    fixture *f = *state;
    char *t = render(gh_probe_render_text, f, f->n);
    size_t lineno = 1, zs = 0;
    for (const char *line = t; *line; lineno++) {
        size_t len = strcspn(line, "\n");
        if (len > 120)
            fail_msg("line %zu is %zu columns: %.60s", lineno, len, line);
        for (size_t i = 0; i < len; i++) {
            if (line[i] < 0x20 || line[i] >= 0x7F)
                fail_msg("line %zu has byte 0x%02X", lineno, (unsigned char)line[i]);
            zs += line[i] == 'Z';
        }
        line += len + (line[len] == '\n');
    }
    assert_int_equal(zs, 300); /* the long line was cut, not shortened */
    const char *table = strstr(t, "Group ");
    const char *total = strstr(t, "Total ");
    const char *caps = strstr(t, "Caps used: requests 17 of 1000");
    const char *failures = strstr(t, "Failures (2)");
    const char *errors = strstr(t, "Errors (1)");
    assert_non_null(table);
    assert_non_null(total);
    assert_non_null(caps);
    assert_non_null(failures);
    assert_non_null(errors);
    assert_true(table < total && total < caps && caps < failures && failures < errors);
    assert_non_null(strstr(t, "\nTOK-002  high  A token whose signature was stripped\n"));
    assert_non_null(strstr(t, "  route: api (gatehouse.yaml:12:5)\n"));
    assert_non_null(strstr(t, "CWE-347"));
    assert_non_null(strstr(t, "\\x01\\x1B[31m\\x7F"));
    assert_non_null(strstr(t, "well/past/the/width")); /* an unbreakable word is cut, kept */
    assert_null(strstr(t, "12345"));                   /* the monotonic start is not printed */
    assert_null(strstr(t, "TOK-001  high"));           /* a pass is not a finding */
    free(t);
}

/* Walks the Markdown's fenced blocks as CommonMark does (a block closes at a line of at least
 * as many backticks and nothing else) and returns the content of the index-th one. */
static char *fenced_block(const char *md, int index)
{
    size_t open = 0;
    int seen = -1;
    char *content = NULL;
    size_t clen = 0;
    FILE *out = NULL;
    for (const char *line = md; *line;) {
        size_t len = strcspn(line, "\n");
        size_t ticks = strspn(line, "`");
        if (!open && ticks >= 3) {
            open = ticks;
            if (++seen == index)
                out = open_memstream(&content, &clen);
        } else if (open && ticks >= open && ticks == len) {
            open = 0;
            if (out) {
                fclose(out);
                return content;
            }
        } else if (open && out) {
            fwrite(line, 1, len, out);
        }
        line += len + (line[len] == '\n');
    }
    if (out)
        fclose(out);
    free(content);
    return NULL;
}

static void markdown_fences_hold(void **state)
{
    fixture *f = *state;
    char *md = render(gh_probe_render_markdown, f, f->n);
    for (const unsigned char *c = (const unsigned char *)md; *c; c++)
        if (*c >= 0x80 || (*c < 0x20 && *c != '\n'))
            fail_msg("byte 0x%02X in the Markdown", *c);
    assert_true(strncmp(md, "# gatehouse probe\n", 18) == 0);
    assert_non_null(strstr(md, "mode self-test, profile safe, target `https://127.0.0.1:8443`"));
    assert_non_null(strstr(md, "| Tokens | 1 | 1 | 0 | 0 |"));
    assert_non_null(strstr(md, "## Failures\n\n### TOK-002: A token whose signature was stripped"));
    assert_non_null(strstr(md, "## Errors"));
    /* Blocks: TOK-002's sent, observed, upstream; HDR-001's sent, observed. */
    char *s = fenced_block(md, 0);
    char *o = fenced_block(md, 1);
    char *u = fenced_block(md, 2);
    assert_non_null(s);
    assert_non_null(o);
    assert_non_null(u);
    assert_non_null(strstr(s, "```b```\\x01\\x1B[31m\\x7F"));
    assert_non_null(strstr(s, "ZZZZZZZZZZ"));
    assert_string_equal(o,
                        "HTTP/1.1 200 OK\\r\\nX-Note: \"quoted\" & <b>bold</b> 'single'\\r\\n\\r\\n"
                        "here comes a fence\\n``````"); /* the line of backticks stayed in */
    assert_string_equal(u, "GET /a HTTP/1.1");
    assert_null(fenced_block(md, 5));
    /* Prose is escaped: the fix's '&' and '<' are not markup. */
    assert_non_null(strstr(md, "set algorithms: \\[ES256\\] \\& check kid \\<x\\>."));
    free(s);
    free(o);
    free(u);
    free(md);
}

static void an_empty_run_renders_in_every_format(void **state)
{
    fixture *f = *state;
    f->p.config_file = NULL;
    f->p.targets = NULL;
    f->p.ntargets = 0;
    char *text = render(gh_probe_render_json, f, 0);
    json_t *doc = parse(text);
    assert_true(json_is_null(json_object_get(doc, "config")));
    assert_int_equal(json_array_size(json_object_get(doc, "results")), 0);
    json_decref(doc);
    free(text);
    doc = sarif_run(f, 0, &text);
    json_t *run = json_array_get(json_object_get(doc, "runs"), 0);
    assert_int_equal(json_array_size(json_object_get(run, "results")), 0);
    assert_true(json_is_true(json_object_get(json_array_get(json_object_get(run, "invocations"), 0),
                                             "executionSuccessful")));
    json_decref(doc);
    free(text);
    text = render(gh_probe_render_junit, f, 0);
    assert_non_null(strstr(text, "tests=\"0\" failures=\"0\""));
    free(text);
    text = render(gh_probe_render_text, f, 0);
    assert_non_null(strstr(text, "target none, configuration none"));
    assert_non_null(strstr(text, "No failures."));
    free(text);
    text = render(gh_probe_render_markdown, f, 0);
    assert_non_null(strstr(text, "No failures."));
    free(text);
}

/* A route name in UTF-8 and a stray byte in a reason: JSON keeps the one and shows the other as
 * \xFF rather than failing; XML the same; the text is ASCII throughout. */
static void text_that_is_not_utf8_breaks_no_format(void **state)
{
    fixture *f = *state;
    f->r[2].why = "caf\xc3\xa9 \xff";
    f->r[2].route = "caf\xc3\xa9";
    char *text = render(gh_probe_render_json, f, f->n);
    json_t *doc = parse(text);
    json_t *hdr = json_array_get(json_object_get(doc, "results"), 2);
    assert_string_equal(json_string_value(json_object_get(hdr, "why")), "caf\xc3\xa9 \\xFF");
    assert_string_equal(json_string_value(json_object_get(hdr, "route")), "caf\xc3\xa9");
    json_decref(doc);
    free(text);
    doc = sarif_run(f, f->n, &text);
    assert_int_equal(json_array_size(json_object_get(
                         json_array_get(json_object_get(doc, "runs"), 0), "results")),
                     2);
    json_decref(doc);
    free(text);
    text = render(gh_probe_render_junit, f, f->n);
    assert_non_null(strstr(text, "message=\"caf\xc3\xa9 \\xFF\""));
    free(text);
    text = render(gh_probe_render_text, f, f->n);
    assert_non_null(strstr(text, "why: caf\\xC3\\xA9 \\xFF\n"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(summary_counts_verdicts_and_failures_by_severity, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(groups_come_in_report_order_then_others, setup, teardown),
        cmocka_unit_test_setup_teardown(json_report_has_counts_and_every_result, setup, teardown),
        cmocka_unit_test_setup_teardown(sarif_has_a_rule_per_case_and_a_result_per_failure, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(junit_counts_and_escapes, setup, teardown),
        cmocka_unit_test_setup_teardown(text_fits_120_columns_with_the_summary_first, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(markdown_fences_hold, setup, teardown),
        cmocka_unit_test_setup_teardown(an_empty_run_renders_in_every_format, setup, teardown),
        cmocka_unit_test_setup_teardown(text_that_is_not_utf8_breaks_no_format, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
