/* The effective configuration printed through the keyword tables: written values as written,
 * defaults for keys not written (a section not written with its own), a default among
 * alternatives only when none is written, only the keys every check of a mapping allows, key
 * material and credential-named values redacted, references shown. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/config_print.h"
#include "config/keyword.h"

typedef struct inner {
    uint64_t wait_ms;
    bool on;
} inner;

typedef struct outer {
    const char *name, *header, *cookie, *jwks;
    uint8_t mode;
    inner in;
} outer;

static const char *const modes[] = {"fast", "safe", NULL};

static const gh_keyword inner_keys[] = {
    {"wait", GH_KW_DURATION, GH_KW_AT(inner, wait_ms), .max = 60000, .def = "10s"},
    {"enabled", GH_KW_BOOL, GH_KW_AT(inner, on), .def = "true"},
    GH_KW_END,
};

static const gh_keyword source_keys[] = {
    {"header", GH_KW_STRING, GH_KW_ALONE, GH_KW_AT(outer, header), .def = "Authorization"},
    {"cookie", GH_KW_STRING, GH_KW_AT(outer, cookie)},
    GH_KW_END,
};

static const gh_keyword outer_keys[] = {
    {"name", GH_KW_STRING, GH_KW_REQUIRED, GH_KW_AT(outer, name)},
    {"mode", GH_KW_ENUM, GH_KW_AT(outer, mode), .choices = modes, .def = "safe"},
    {"inner", GH_KW_MAP, GH_KW_AT(outer, in), .table = inner_keys},
    {"jwks", GH_KW_STRING, GH_KW_KEY_MATERIAL, GH_KW_AT(outer, jwks)},
    {"derived", GH_KW_CUSTOM}, /* no default text: shown only when written */
    {"extra", GH_KW_CUSTOM},
    GH_KW_END,
};

/* source_keys and outer_keys read one mapping, as sections of several tables do. */
static void read_both(gh_walk *w, yaml_node_t *root, outer *o)
{
    gh__cfg_defaults(w, outer_keys, o);
    gh__cfg_defaults(w, source_keys, o);
    if (!gh__cfg_known(w, root, (const gh_keyword *const[]){outer_keys, source_keys, NULL}))
        return;
    gh__cfg_fill(w, root, outer_keys, o, NULL);
    gh__cfg_fill(w, root, source_keys, o, NULL);
}

/* A document with the walker that notes what the tables read of it. */
typedef struct loaded {
    yaml_document_t doc;
    gh_diag diag;
    gh_arena arena;
    gh_walk w;
} loaded;

static yaml_node_t *load(loaded *l, const char *yaml)
{
    memset(l, 0, sizeof(*l));
    yaml_parser_t parser;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, strlen(yaml));
    assert_true(yaml_parser_load(&parser, &l->doc));
    yaml_parser_delete(&parser);
    gh_arena_init(&l->arena, 4096, 0);
    l->w = (gh_walk){.doc = &l->doc, .file = "p.yaml", .diag = &l->diag, .arena = &l->arena,
                     .notes = gh__cfg_notes_new(&l->doc)};
    assert_non_null(l->w.notes);
    return yaml_document_get_root_node(&l->doc);
}

static void unload(loaded *l)
{
    gh__cfg_notes_free(l->w.notes);
    yaml_document_delete(&l->doc);
    gh_diag_free(&l->diag);
    gh_arena_free(&l->arena);
}

/* yaml read with the tables and printed (redact as asked); *redacted is set. */
static char *print(const char *yaml, bool redact, bool *redacted)
{
    loaded l;
    outer o = {0};
    read_both(&l.w, load(&l, yaml), &o);
    if (l.diag.n)
        gh_diag_print(&l.diag, stderr);
    assert_int_equal(l.diag.n, 0);
    size_t len;
    char *out = gh__cfg_print(&l.w, redact, &len, redacted);
    assert_non_null(out);
    assert_int_equal(strlen(out), len);
    unload(&l);
    return out;
}

static void expect(const char *yaml, bool redact, const char *want, bool want_redacted)
{
    bool redacted = !want_redacted;
    char *out = print(yaml, redact, &redacted);
    assert_string_equal(out, want);
    assert_int_equal(redacted, want_redacted);
    free(out);
}

static void defaults_fill_what_is_not_written(void **state)
{
    (void)state;
    expect("name: api\n", true,
           "name: api\nmode: safe\ninner:\n  wait: 10s\n  enabled: true\nheader: Authorization\n",
           false);
    /* Written values as written (style kept), in table order; a partial section completed. */
    expect("inner: {enabled: false}\nmode: fast\nname: \"api\"\nderived: [1, 2]\n", true,
           "name: \"api\"\nmode: fast\ninner:\n  wait: 10s\n  enabled: false\nderived:\n- 1\n- 2\n"
           "header: Authorization\n",
           false);
}

static void a_default_among_alternatives_stands_alone(void **state)
{
    (void)state;
    expect("name: api\ncookie: session\n", true,
           "name: api\nmode: safe\ninner:\n  wait: 10s\n  enabled: true\ncookie: session\n", false);
}

static void key_material_and_credentials_are_redacted(void **state)
{
    (void)state;
    const char *yaml = "name: api\njwks: '{\"keys\": []}'\n"
                       "extra: {Authorization: Bearer abc, X-Team: payments, "
                       "X-Api-Key: '${env:KEY}', pem: \"-----BEGIN KEY-----\"}\n";
    expect(yaml, true,
           "name: api\nmode: safe\ninner:\n  wait: 10s\n  enabled: true\n"
           "jwks: <redacted 12 bytes>\nextra:\n  Authorization: <redacted 10 bytes>\n"
           "  X-Team: payments\n  X-Api-Key: '${env:KEY}'\n  pem: <redacted 19 bytes>\n"
           "header: Authorization\n",
           true);
    /* Unredacted (what the hash is of), everything as written. */
    expect(yaml, false,
           "name: api\nmode: safe\ninner:\n  wait: 10s\n  enabled: true\n"
           "jwks: '{\"keys\": []}'\nextra:\n  Authorization: Bearer abc\n"
           "  X-Team: payments\n  X-Api-Key: '${env:KEY}'\n  pem: \"-----BEGIN KEY-----\"\n"
           "header: Authorization\n",
           false);
}

static const gh_keyword narrow_keys[] = {
    {"name", GH_KW_STRING},
    GH_KW_END,
};

/* A mapping whose keys one check narrows (the admin listener: a listener with an address
 * only) shows no default of the wider table. */
static void only_allowed_keys_are_defaulted(void **state)
{
    (void)state;
    loaded l;
    yaml_node_t *root = load(&l, "name: admin\n");
    outer o = {0};
    assert_true(gh__cfg_known(&l.w, root, (const gh_keyword *const[]){narrow_keys, NULL}));
    assert_true(gh__cfg_apply(&l.w, root, outer_keys, &o, NULL));
    size_t len;
    char *out = gh__cfg_print(&l.w, true, &len, NULL);
    assert_string_equal(out, "name: admin\n");
    free(out);
    unload(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_fill_what_is_not_written),
        cmocka_unit_test(a_default_among_alternatives_stands_alone),
        cmocka_unit_test(key_material_and_credentials_are_redacted),
        cmocka_unit_test(only_allowed_keys_are_defaulted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
