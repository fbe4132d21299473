/* The JSON Schema Test Suite, draft 2020-12 (required tests, and optional/format for the formats
 * the gateway asserts), against the validator: http://localhost:1234/ is the suite's remotes/
 * folder. Groups are skipped, and counted, only for a keyword the gateway does not implement
 * ($dynamicRef, $dynamicAnchor, $vocabulary) or a reference to the official metaschema. Target:
 * at least 98 % of the rest pass, none of the files named after an implemented keyword fails,
 * and every format case passes. Each suite prints "GH-CASES <suite> passed= failed= skipped=";
 * a missing suite fails under CI=true. Then the validator's own bounds: steps, hashes, patterns. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "schema/schema.h"

#define SUITE "../shared/testdata/json-schema-test-suite"

/* Numbers beyond 64-bit integers are read as doubles, as the gateway reads bodies. */
static json_t *load_json(const char *path)
{
    json_t *j = json_load_file(path, JSON_ALLOW_NUL, NULL);
    return j ? j : json_load_file(path, JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, NULL);
}

static json_t *load_remote(const char *uri, void *arg)
{
    (void)arg;
    static const char prefix[] = "http://localhost:1234/";
    if (strncmp(uri, prefix, sizeof(prefix) - 1) != 0)
        return NULL;
    char path[1024];
    snprintf(path, sizeof(path), SUITE "/remotes/%s", uri + sizeof(prefix) - 1);
    return load_json(path);
}


/* Files about keywords the gateway does not implement: their failures are not counted against
 * the implemented ones (they still run). */
static bool implemented_file(const char *name)
{
    static const char *const other[] = {"dynamicRef.json", "vocabulary.json", "content.json",
                                        "default.json", "unknownKeyword.json",
                                        "infinite-loop-detection.json", NULL};
    for (size_t i = 0; other[i]; i++)
        if (strcmp(name, other[i]) == 0)
            return false;
    return true;
}

static const char *skip_reason(const json_t *schema)
{
    char *text = json_dumps(schema, JSON_COMPACT | JSON_ENCODE_ANY); /* true and false too */
    const char *why = NULL;
    if (!text)
        return "unreadable";
    if (strstr(text, "\"$dynamicRef\"") || strstr(text, "\"$dynamicAnchor\""))
        why = "$dynamicRef";
    else if (strstr(text, "\"$vocabulary\""))
        why = "$vocabulary";
    else if (strstr(text, "\"$ref\":\"https://json-schema.org/draft/2020-12/"))
        why = "metaschema reference";
    free(text);
    return why;
}

/* The instance as the gateway reads bodies: its JSON text parsed into a gh_jv. */
static bool validates(const gh_schema *s, const json_t *data, gh_schema_error *errs)
{
    char *text = json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY);
    gh_arena a;
    gh_arena_init(&a, 4096, 1u << 24);
    gh_jv_limits lim = {512, 1u << 20};
    const char *why;
    size_t at;
    const gh_jv *jv = text ? gh_jv_parse(text, strlen(text), &lim, &a, &why, &at) : NULL;
    assert_non_null(jv);
    bool ok = gh_schema_validate(s, jv, errs, 4) == 0;
    gh_arena_free(&a);
    free(text);
    return ok;
}

typedef struct tally {
    size_t passed, failed, skipped, failed_implemented;
    size_t skipped_dynamic, skipped_vocabulary, skipped_metaschema;
} tally;

static void run_file(const char *dir, const char *name, tally *t, bool format_assertion)
{
    char path[1024], err[300];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    json_t *groups = load_json(path);
    assert_non_null(groups);
    size_t gi;
    json_t *g;
    json_array_foreach(groups, gi, g) {
        json_t *schema = json_object_get(g, "schema"), *tests = json_object_get(g, "tests");
        const char *why = skip_reason(schema);
        if (why) {
            size_t n = json_array_size(tests);
            t->skipped += n;
            *(why[1] == 'd' ? &t->skipped_dynamic : why[1] == 'v' ? &t->skipped_vocabulary
                                                                   : &t->skipped_metaschema) += n;
            continue;
        }
        gh_schema_options o = {.loader = load_remote, .format_assertion = format_assertion};
        gh_schema *s = gh_schema_compile(schema, &o, err, sizeof(err));
        size_t ti;
        json_t *tc;
        json_array_foreach(tests, ti, tc) {
            bool want = json_is_true(json_object_get(tc, "valid"));
            gh_schema_error errs[4];
            bool got = s && validates(s, json_object_get(tc, "data"), errs);
            if (s && got == want) {
                t->passed++;
                continue;
            }
            t->failed++;
            t->failed_implemented += implemented_file(name);
            printf("FAIL %s: %s / %s: want %s%s%s\n", name,
                   json_string_value(json_object_get(g, "description")),
                   json_string_value(json_object_get(tc, "description")), want ? "valid" : "invalid",
                   s ? "" : ", schema refused: ", s ? "" : err);
        }
        gh_schema_free(s);
    }
    json_decref(groups);
}

/* The suite's folder, or a skip with the reason; under CI (CI=true) a missing suite fails, so
 * that a run that measured nothing cannot pass. */
static DIR *open_suite(const char *dir, const char *name)
{
    DIR *d = opendir(dir);
    if (d)
        return d;
    const char *ci = getenv("CI");
    if (ci && strcmp(ci, "true") == 0)
        fail_msg("%s: %s is absent (CI=true: the external suite must be there)", name, dir);
    printf("SKIP %s: %s is absent\n", name, dir);
    skip();
    return NULL;
}

static void suite(void **state)
{
    (void)state;
    const char *dir = SUITE "/tests/draft2020-12";
    DIR *d = open_suite(dir, "json-schema-draft2020-12");
    struct dirent *e;
    tally t = {0};
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len > 5 && strcmp(e->d_name + len - 5, ".json") == 0)
            run_file(dir, e->d_name, &t, false);
    }
    closedir(d);
    size_t ran = t.passed + t.failed;
    /* A case that fails in a file about a keyword the gateway does not implement is counted as
     * skipped (it asserts nothing the gateway claims); any other failure is a failure. */
    size_t unimplemented = t.failed - t.failed_implemented;
    printf("GH-CASES json-schema-draft2020-12 passed=%zu failed=%zu skipped=%zu\n", t.passed,
           t.failed_implemented, t.skipped + unimplemented);
    printf("JSON Schema Test Suite draft2020-12: %zu passed, %zu failed, %zu skipped (%.1f%% of "
           "those run)\n",
           t.passed, t.failed, t.skipped, ran ? 100.0 * (double)t.passed / (double)ran : 0.0);
    printf("skipped: %zu use $dynamicRef/$dynamicAnchor, %zu $vocabulary (keywords not implemented), "
           "%zu reference the official metaschema; %zu failed in files about unimplemented "
           "keywords\n",
           t.skipped_dynamic, t.skipped_vocabulary, t.skipped_metaschema, unimplemented);
    assert_int_equal(t.skipped, t.skipped_dynamic + t.skipped_vocabulary + t.skipped_metaschema);
    assert_true(ran > 1000);
    assert_true(t.passed * 100 >= ran * 98);
    assert_int_equal(t.failed_implemented, 0);
}

/* optional/format for the formats the gateway asserts (format_assertion: true): every case
 * passes. The other formats are not asserted (they only annotate) and are not run. */
static void formats(void **state)
{
    (void)state;
    static const char *const implemented[] = {"date-time.json", "date.json", "email.json", "uuid.json",
                                              "ipv4.json",      "ipv6.json", "uri.json",   "hostname.json"};
    const char *dir = SUITE "/tests/draft2020-12/optional/format";
    closedir(open_suite(dir, "json-schema-format"));
    tally t = {0};
    for (size_t i = 0; i < sizeof(implemented) / sizeof(implemented[0]); i++)
        run_file(dir, implemented[i], &t, true);
    printf("GH-CASES json-schema-format passed=%zu failed=%zu skipped=%zu\n", t.passed, t.failed, t.skipped);
    assert_true(t.passed > 300);
    assert_int_equal(t.failed, 0);
}

/* A schema from its JSON text, which must compile. */
static gh_schema *compile_text(const char *json)
{
    char err[300];
    json_t *doc = json_loads(json, 0, NULL);
    gh_schema_options o = {0};
    gh_schema *s = gh_schema_compile(doc, &o, err, sizeof(err));
    json_decref(doc);
    if (!s)
        fail_msg("%s: %s", json, err);
    return s;
}

/* A schema whose branches refer to themselves would take exponential time: the work is bounded
 * and the instance refused, with the reason. */
static void branching_refs_are_bounded(void **state)
{
    (void)state;
    char err[300];
    json_t *doc = json_loads("{\"$defs\": {\"a\": {\"anyOf\": [{\"$ref\": \"#/$defs/a\"}, "
                             "{\"$ref\": \"#/$defs/a\"}]}}, \"$ref\": \"#/$defs/a\"}", 0, NULL);
    gh_schema_options o = {0};
    gh_schema *s = gh_schema_compile(doc, &o, err, sizeof(err));
    json_decref(doc);
    assert_non_null(s);
    gh_arena a;
    gh_arena_init(&a, 4096, 1u << 20);
    gh_jv_limits lim = {8, 64};
    const char *why;
    size_t at;
    const gh_jv *inst = gh_jv_parse("[1, 2]", 6, &lim, &a, &why, &at);
    gh_schema_error errs[4];
    time_t start = time(NULL);
    size_t n = gh_schema_validate(s, inst, errs, 4);
    assert_true(n > 0);
    assert_true(time(NULL) - start <= 2);
    bool said = false;
    for (size_t i = 0; i < n && i < 4; i++)
        said |= strstr(errs[i].message, "too many steps") != NULL;
    assert_true(said);
    gh_arena_free(&a);
    gh_schema_free(s);
}

/* uniqueItems on a long array costs n log n: 200 000 distinct items are judged at once, and a
 * duplicate far apart is found. */
static void unique_items_scale(void **state)
{
    (void)state;
    gh_schema *s = compile_text("{\"uniqueItems\": true}");
    size_t cap = 200000 * 12 + 16, n = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    text[n++] = '[';
    for (int i = 0; i < 200000; i++)
        n += (size_t)snprintf(text + n, cap - n, i ? ",%d" : "%d", i * 7);
    text[n++] = ']';
    gh_arena a;
    gh_arena_init(&a, 65536, GH_JV_TREE_BOUND(n));
    gh_jv_limits lim = {8, 64};
    const char *why;
    size_t at;
    const gh_jv *inst = gh_jv_parse(text, n, &lim, &a, &why, &at);
    assert_non_null(inst);
    gh_schema_error errs[2];
    time_t start = time(NULL);
    assert_int_equal(gh_schema_validate(s, inst, errs, 2), 0);
    char *last = memrchr(text, ',', n); /* the last item becomes 0, like the first */
    memcpy(last + 1, "0]", 2);
    memset(last + 3, ' ', (size_t)(text + n - (last + 3)));
    inst = gh_jv_parse(text, n, &lim, &a, &why, &at);
    assert_non_null(inst);
    assert_int_equal(gh_schema_validate(s, inst, errs, 2), 1);
    assert_string_equal(errs[0].message, "items 0 and 199999 are equal");
    assert_true(time(NULL) - start <= 2);
    gh_arena_free(&a);
    free(text);
    gh_schema_free(s);
}

/* The best of five validations of text against s: seconds, and the error count in *n. */
static double validate_time(const gh_schema *s, const char *text, size_t len, size_t *n)
{
    double best = 1e9;
    for (int round = 0; round < 5; round++) {
        gh_arena a;
        gh_arena_init(&a, 65536, GH_JV_TREE_BOUND(len));
        gh_jv_limits lim = {8, 64};
        const char *why;
        size_t at;
        const gh_jv *inst = gh_jv_parse(text, len, &lim, &a, &why, &at);
        assert_non_null(inst);
        gh_schema_error errs[2];
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        *n = gh_schema_validate(s, inst, errs, 2);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double t = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        best = t < best ? t : best;
        gh_arena_free(&a);
    }
    return best;
}

/* uniqueItems compares items whose hashes agree: objects whose values trade places among the
 * same keys (all 5040 orders of 0..6 over k0..k6) must not all share one hash, or the array
 * costs n squared. Timed against as many objects with distinct values. */
static void unique_items_no_crafted_collisions(void **state)
{
    (void)state;
    gh_schema *s = compile_text("{\"uniqueItems\": true}");
    enum { K = 7, N = 5040 };
    size_t cap = (size_t)N * K * 16 + 16, len[2] = {0, 0};
    char *text[2] = {malloc(cap), malloc(cap)};
    int perm[K];
    for (int i = 0; i < K; i++)
        perm[i] = i;
    for (int t = 0; t < 2; t++)
        text[t][len[t]++] = '[';
    for (int item = 0; item < N; item++) {
        for (int t = 0; t < 2; t++) {
            text[t][len[t]++] = item ? ',' : ' ';
            text[t][len[t]++] = '{';
            for (int k = 0; k < K; k++)
                len[t] += (size_t)snprintf(text[t] + len[t], cap - len[t], "%s\"k%d\":%d", k ? "," : "",
                                           k, t ? item * K + k : perm[k]);
            text[t][len[t]++] = '}';
        }
        int i = K - 2; /* the next permutation, in lexicographic order */
        while (i >= 0 && perm[i] > perm[i + 1])
            i--;
        if (i < 0)
            break;
        int j = K - 1;
        while (perm[j] < perm[i])
            j--;
        int x = perm[i];
        perm[i] = perm[j], perm[j] = x;
        for (int a = i + 1, b = K - 1; a < b; a++, b--)
            x = perm[a], perm[a] = perm[b], perm[b] = x;
    }
    for (int t = 0; t < 2; t++)
        text[t][len[t]++] = ']';
    size_t errs_crafted, errs_plain;
    double crafted = validate_time(s, text[0], len[0], &errs_crafted);
    double plain = validate_time(s, text[1], len[1], &errs_plain);
    print_message("permuted objects %.4f s, distinct objects %.4f s\n", crafted, plain);
    assert_int_equal(errs_crafted, 0);
    assert_int_equal(errs_plain, 0);
    if (crafted > 10 * plain + 0.05)
        fail_msg("permuted objects took %.4f s against %.4f s", crafted, plain);
    free(text[0]);
    free(text[1]);
    gh_schema_free(s);
}

/* Validates text against s: the error count, the first error in *first. */
static size_t validate_text(const gh_schema *s, const char *text, gh_schema_error *first)
{
    gh_arena a;
    gh_arena_init(&a, 65536, GH_JV_TREE_BOUND(strlen(text)));
    gh_jv_limits lim = {8, 1u << 20};
    const char *why;
    size_t at;
    const gh_jv *inst = gh_jv_parse(text, strlen(text), &lim, &a, &why, &at);
    assert_non_null(inst);
    gh_schema_error errs[4];
    size_t n = gh_schema_validate(s, inst, errs, 4);
    if (n)
        *first = errs[0];
    gh_arena_free(&a);
    return n;
}

/* 200 strings against ^(a|aa)+$, each failing only at its last character (exponential
 * backtracking): the body is refused within the matching budget, in well under a second,
 * with the reason, where PCRE2's default limits let it run for seconds. */
static void pattern_budget(void **state)
{
    (void)state;
    gh_schema *s = compile_text("{\"type\": \"array\", \"items\": {\"type\": \"string\", "
                                "\"pattern\": \"^(a|aa)+$\"}}");
    enum { STRINGS = 200, LEN = 40 };
    char *text = malloc(STRINGS * (LEN + 4) + 4);
    size_t n = 0;
    text[n++] = '[';
    for (int i = 0; i < STRINGS; i++) {
        n += (size_t)sprintf(text + n, "%s\"", i ? "," : "");
        memset(text + n, 'a', LEN - 1);
        n += LEN - 1;
        n += (size_t)sprintf(text + n, "!\"");
    }
    text[n++] = ']';
    text[n] = '\0';
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    gh_schema_error e;
    size_t errs = validate_text(s, text, &e);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    print_message("refused in %.4f s: %s %s\n", took, e.schema_path, e.message);
    assert_true(errs > 0);
    assert_string_equal(e.message, "the pattern could not be evaluated within the matching budget");
    assert_string_equal(e.schema_path, "#/items/pattern");
    assert_true(took < 0.5);
    /* Ordinary strings still match. */
    assert_int_equal(validate_text(s, "[\"aaaa\", \"a\"]", &e), 0);
    assert_int_equal(validate_text(s, "[\"ab\"]", &e), 1);
    free(text);
    gh_schema_free(s);
}

/* A pattern that runs out under "not" (or in a losing anyOf branch) does not read as a
 * mismatch that lets the body through: the instance is refused. */
static void pattern_budget_under_not(void **state)
{
    (void)state;
    gh_schema_error e;
    gh_schema *s = compile_text("{\"not\": {\"pattern\": \"^(a|aa)+$\"}}");
    assert_int_equal(validate_text(s, "\"b\"", &e), 0);
    assert_int_equal(validate_text(s, "\"aaaa\"", &e), 1);
    char text[64] = "\"";
    memset(text + 1, 'a', 49);
    strcpy(text + 50, "!\"");
    assert_int_equal(validate_text(s, text, &e), 1);
    assert_string_equal(e.message, "the pattern could not be evaluated within the matching budget");
    gh_schema_free(s);
    s = compile_text("{\"propertyNames\": {\"not\": {\"pattern\": \"^(a|aa)+$\"}}}");
    char obj[80] = "{\"";
    memset(obj + 2, 'a', 49);
    strcpy(obj + 51, "!\": 1}");
    assert_true(validate_text(s, obj, &e) > 0);
    gh_schema_free(s);
}

/* Nothing in a schema is cut to fit. A pattern longer than 2047 characters keeps its end: "^abx?x?...x?$" must still refuse
 * "abZZZ" (once it was cut at 2048 bytes, losing the "$", and "abZZZ" passed). One past the limit is refused at
 * compile time with its location, never cut. */
static void long_pattern_not_truncated(void **state)
{
    (void)state;
    size_t cap = GH_SCHEMA_MAX_PATTERN + 64, n = 0;
    char *doc = malloc(cap);
    n += (size_t)sprintf(doc + n, "{\"pattern\": \"^ab");
    for (int i = 0; i < 1100; i++)
        n += (size_t)sprintf(doc + n, "x?");
    n += (size_t)sprintf(doc + n, "$\"}");
    gh_schema *s = compile_text(doc);
    gh_schema_error e;
    assert_int_equal(validate_text(s, "\"abZZZ\"", &e), 1);
    assert_int_equal(validate_text(s, "\"abx\"", &e), 0);
    gh_schema_free(s);
    n = (size_t)sprintf(doc, "{\"pattern\": \"");
    memset(doc + n, 'a', GH_SCHEMA_MAX_PATTERN + 1);
    strcpy(doc + n + GH_SCHEMA_MAX_PATTERN + 1, "\"}");
    json_t *j = json_loads(doc, 0, NULL);
    char err[300];
    gh_schema_options o = {0};
    assert_null(gh_schema_compile(j, &o, err, sizeof(err)));
    assert_string_equal(err, "#/pattern: a regular expression longer than 65536 characters");
    json_decref(j);
    /* An anchor too long to be named whole is refused, not registered under a cut name (two
     * such anchors would share one). */
    n = (size_t)sprintf(doc, "{\"$anchor\": \"");
    memset(doc + n, 'x', 1200);
    strcpy(doc + n + 1200, "\"}");
    j = json_loads(doc, 0, NULL);
    assert_null(gh_schema_compile(j, &o, err, sizeof(err)));
    assert_non_null(strstr(err, "an anchor longer than the limit"));
    json_decref(j);
    free(doc);
}

static void note_warning(void *arg, const char *path, const char *why)
{
    (void)why;
    snprintf(arg, 200, "%s", path);
}

/* Patterns that can backtrack without bound are reported where they are (check warns there);
 * ordinary ones are not. */
static void risky_patterns_warned(void **state)
{
    (void)state;
    static const struct {
        const char *pattern;
        bool risky;
    } cases[] = {
        {"^(a+)+$", true},         {"^(a|aa)+$", true},      {"(.*)*", true},
        {"^(\\\\d+)*x$", true},    {"^(?:a|a?)+$", true},    {"^(x*y?){2,}$", true},
        {"^(a+)+$", true},         {"^[a-z]+$", false},      {"^(foo|bar)+$", false},
        {"^\\\\d{3}-\\\\d{4}$", false}, {"^(ab)+$", false},     {"^(a++)+$", false},
        {"^([a-z])?$", false},     {"^(a+)?$", false},       {"^[(a+)+]$", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char doc[200], where[200] = "";
        snprintf(doc, sizeof(doc), "{\"properties\": {\"p\": {\"pattern\": \"%s\"}}}", cases[i].pattern);
        json_t *j = json_loads(doc, 0, NULL);
        assert_non_null(j);
        char err[300];
        gh_schema_options o = {.warn = note_warning, .warn_arg = where};
        gh_schema *s = gh_schema_compile(j, &o, err, sizeof(err));
        assert_non_null(s);
        if (cases[i].risky != (where[0] != '\0'))
            fail_msg("%s: %s", cases[i].pattern, cases[i].risky ? "not warned" : "warned");
        if (cases[i].risky)
            assert_string_equal(where, "#/properties/p/pattern");
        gh_schema_free(s);
        json_decref(j);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(suite), cmocka_unit_test(formats),
                                       cmocka_unit_test(branching_refs_are_bounded),
                                       cmocka_unit_test(unique_items_scale),
                                       cmocka_unit_test(unique_items_no_crafted_collisions),
                                       cmocka_unit_test(pattern_budget),
                                       cmocka_unit_test(pattern_budget_under_not),
                                       cmocka_unit_test(long_pattern_not_truncated),
                                       cmocka_unit_test(risky_patterns_warned)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
