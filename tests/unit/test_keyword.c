/* Keyword tables applied to YAML mappings: unknown keys with the closest known one, ranges,
 * defaults, required keys, enum choices, type errors, each at file:line:col with its key path;
 * and the arena's cleanups, which release what a snapshot holds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "config/keyword.h"

typedef struct sample {
    const char *name;
    uint32_t workers;
    uint64_t timeout_ms;
    uint64_t ttl_s;
    size_t buffer;
    bool verbose;
    bool quiet;
    uint8_t mode;
    const char **tags;
    size_t ntags;
    unsigned custom_calls;
    uint64_t unset;
} sample;

static const char *const modes[] = {"fast", "safe", "slow", NULL};

static void count_calls(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    (void)w;
    (void)v;
    ((sample *)call->target)->custom_calls++;
}

static const gh_keyword sample_keys[] = {
    {"name", GH_KW_STRING, GH_KW_REQUIRED, GH_KW_AT(sample, name)},
    {"workers", GH_KW_UINT, GH_KW_AT(sample, workers), .min = 1, .max = 64, .def = "4"},
    {"timeout", GH_KW_DURATION, GH_KW_AT(sample, timeout_ms), .min = 100, .max = 60000,
     .def = "2s"},
    {"ttl", GH_KW_DURATION, GH_KW_AT(sample, ttl_s), .max = 3600000, .unit = 1000, .def = "5m"},
    {"buffer", GH_KW_SIZE, GH_KW_AT(sample, buffer), .max = 1u << 20, .def = "16k"},
    {"verbose", GH_KW_BOOL, GH_KW_AT(sample, verbose)},
    {"quiet", GH_KW_BOOL, GH_KW_NEGATE, GH_KW_AT(sample, quiet), .def = "true"},
    {"mode", GH_KW_ENUM, GH_KW_AT(sample, mode), .choices = modes, .def = "safe"},
    {"tags", GH_KW_LIST, GH_KW_LIST_AT(sample, tags, ntags)},
    {"custom", GH_KW_CUSTOM, GH_KW_ALWAYS, .load = count_calls},
    {"unset", GH_KW_UINT, GH_KW_UNSET, GH_KW_AT(sample, unset), .max = 10},
    GH_KW_END,
};

typedef struct applied {
    yaml_document_t doc;
    gh_diag diag;
    gh_arena arena;
    sample s;
    bool ok;
} applied;

static void apply(applied *a, const char *yaml)
{
    memset(a, 0, sizeof(*a));
    yaml_parser_t parser;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, strlen(yaml));
    assert_true(yaml_parser_load(&parser, &a->doc));
    yaml_parser_delete(&parser);
    gh_arena_init(&a->arena, 4096, 0);
    gh_walk w = {.doc = &a->doc, .file = "k.yaml", .diag = &a->diag, .arena = &a->arena};
    size_t saved = gh__walk_push_key(&w, "sample");
    a->ok = gh__cfg_apply(&w, yaml_document_get_root_node(&a->doc), sample_keys, &a->s, NULL);
    gh__walk_pop(&w, saved);
}

static void done(applied *a)
{
    yaml_document_delete(&a->doc);
    gh_diag_free(&a->diag);
    gh_arena_free(&a->arena);
}

/* Asserts the diagnostics are exactly want, one line each. */
static void expect(const char *yaml, const char *const *want)
{
    applied a;
    apply(&a, yaml);
    size_t n = 0;
    while (want[n])
        n++;
    if (a.diag.n != n)
        gh_diag_print(&a.diag, stderr);
    assert_int_equal(a.diag.n, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(a.diag.lines[i], want[i]);
    done(&a);
}

static void values_and_defaults(void **state)
{
    (void)state;
    applied a;
    apply(&a, "name: api\nworkers: 8\nverbose: true\ntags: [a, b]\nquiet: true\n");
    assert_true(a.ok);
    assert_int_equal(a.diag.n, 0);
    assert_string_equal(a.s.name, "api");
    assert_int_equal(a.s.workers, 8);
    assert_int_equal(a.s.timeout_ms, 2000); /* the defaults, read as the values are */
    assert_int_equal(a.s.ttl_s, 300);
    assert_int_equal(a.s.buffer, 16384);
    assert_true(a.s.verbose);
    assert_false(a.s.quiet); /* negated */
    assert_int_equal(a.s.mode, 1);
    assert_int_equal(a.s.ntags, 2);
    assert_string_equal(a.s.tags[1], "b");
    assert_int_equal(a.s.custom_calls, 1); /* called without a value when missing */
    assert_int_equal(a.s.unset, UINT64_MAX);
    done(&a);
}

static void unknown_key_with_suggestion(void **state)
{
    (void)state;
    expect("name: api\nworkres: 2\nzzz: 1\n",
           (const char *const[]){"k.yaml:2:1: sample: unknown key 'workres'; did you mean 'workers'?",
                                 "k.yaml:3:1: sample: unknown key 'zzz'", NULL});
}

static void range_errors(void **state)
{
    (void)state;
    expect("name: api\nworkers: 65\ntimeout: 10ms\nbuffer: 2m\n",
           (const char *const[]){"k.yaml:2:10: sample.workers: 65 is out of range [1, 64]",
                                 "k.yaml:3:10: sample.timeout: 10ms is out of range [100ms, 60000ms]",
                                 "k.yaml:4:9: sample.buffer: 2m is out of range [0, 1048576] bytes",
                                 NULL});
    applied a;
    apply(&a, "name: api\nworkers: 65\n");
    assert_int_equal(a.s.workers, 4); /* the default stays */
    done(&a);
}

static void required_missing(void **state)
{
    (void)state;
    expect("workers: 2\n", (const char *const[]){"k.yaml:1:1: sample.name: required", NULL});
}

static void enum_choices(void **state)
{
    (void)state;
    /* Keys are read, and reported, in the table's order. */
    expect("name: api\nmode: quick\nverbose: yes\n",
           (const char *const[]){"k.yaml:3:10: sample.verbose: expected one of: false, true",
                                 "k.yaml:2:7: sample.mode: expected one of: fast, safe, slow", NULL});
}

static void type_errors(void **state)
{
    (void)state;
    expect("name: [a]\nworkers: many\ntimeout: {a: 1}\n",
           (const char *const[]){"k.yaml:1:7: sample.name: expected a string",
                                 "k.yaml:2:10: sample.workers: expected a whole number",
                                 "k.yaml:3:10: sample.timeout: expected a duration such as 250ms, 5s, 1m, 2h or 14d",
                                 NULL});
    expect("- a\n", (const char *const[]){"k.yaml:1:1: sample: expected a mapping (key: value)", NULL});
}

static int order[4], norder;

static void record(void *arg)
{
    order[norder++] = *(int *)arg;
}

static void cleanups_run_newest_first_once(void **state)
{
    (void)state;
    static int one = 1, two = 2, three = 3;
    gh_arena a;
    gh_arena_init(&a, 64, 0);
    norder = 0;
    assert_int_equal(gh_arena_defer(&a, record, &one), 0);
    for (int i = 0; i < 20; i++) /* records and allocations share chunks */
        assert_non_null(gh_arena_alloc(&a, 48));
    assert_int_equal(gh_arena_defer(&a, record, &two), 0);
    gh_arena_reset(&a);
    assert_int_equal(norder, 2);
    assert_int_equal(order[0], 2);
    assert_int_equal(order[1], 1);
    assert_int_equal(gh_arena_defer(&a, record, &three), 0);
    gh_arena_free(&a);
    gh_arena_free(&a);
    assert_int_equal(norder, 3);
    assert_int_equal(order[2], 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(values_and_defaults),
        cmocka_unit_test(unknown_key_with_suggestion),
        cmocka_unit_test(range_errors),
        cmocka_unit_test(required_missing),
        cmocka_unit_test(enum_choices),
        cmocka_unit_test(type_errors),
        cmocka_unit_test(cleanups_run_newest_first_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
