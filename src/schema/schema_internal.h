/* Internal to src/schema: the compiled form of a schema, one node per (sub)schema object. */
#ifndef GH_SCHEMA_INTERNAL_H
#define GH_SCHEMA_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/jv.h"
#include "schema/schema.h"

enum {
    GH_ST_NULL = 1 << 0,
    GH_ST_BOOLEAN = 1 << 1,
    GH_ST_OBJECT = 1 << 2,
    GH_ST_ARRAY = 1 << 3,
    GH_ST_NUMBER = 1 << 4,
    GH_ST_STRING = 1 << 5,
    GH_ST_INTEGER = 1 << 6,
};

typedef struct gh_snode gh_snode;

typedef struct gh_snamed {
    const char *name;
    size_t len;
    gh_snode *schema;
    const char **names; /* dependentRequired: the names the property requires */
    size_t nnames;
} gh_snamed;

typedef struct gh_spattern {
    pcre2_code *re;
    gh_snode *schema;
} gh_spattern;

typedef struct gh_snumber {
    bool set;
    double v;
} gh_snumber;

struct gh_snode {
    int8_t boolean; /* 1: true, 0: false, -1: a schema object */
    const char *path; /* "#/properties/qty": where the node is, for errors */
    unsigned types;   /* GH_ST_*; 0: any */
    const gh_jv *const_v, *enum_v; /* converted from the schema document */
    gh_snumber minimum, maximum, xminimum, xmaximum, multiple_of;
    int64_t min_length, max_length; /* -1: none */
    pcre2_code *pattern;
    const char *format;
    /* arrays */
    gh_snode **prefix;
    size_t nprefix;
    gh_snode *items, *contains, *unevaluated_items;
    int64_t min_contains, max_contains, min_items, max_items;
    bool unique_items;
    /* objects */
    gh_snamed *properties;
    size_t nproperties;
    gh_spattern *pattern_properties;
    size_t npattern_properties;
    gh_snode *additional_properties, *property_names, *unevaluated_properties;
    const char **required;
    size_t nrequired;
    int64_t min_properties, max_properties;
    gh_snamed *dependent_required, *dependent_schemas;
    size_t ndependent_required, ndependent_schemas;
    /* applicators */
    gh_snode **all_of, **any_of, **one_of;
    size_t nall_of, nany_of, none_of;
    gh_snode *not_, *if_, *then_, *else_, *ref;
};

struct gh_schema {
    gh_arena arena;
    gh_snode *root;
    bool format_assertion;
    pcre2_code **codes; /* every compiled pattern, freed with the schema */
    size_t ncodes, codes_cap;
    json_t **docs; /* the documents it was compiled from (held: const and enum point into them) */
    size_t ndocs, docs_cap;
};

/* Unicode code points in a UTF-8 string. */
size_t gh__schema_utf8_len(const char *s, size_t len);
/* format: whether s is a valid date-time, date, email, uuid, ipv4, ipv6, uri or hostname (other
 * formats are not asserted: true). */
bool gh__schema_format_ok(const char *format, const char *s, size_t len);

/* An A-label (label[0..len), starting "xn--" in any case): whether it decodes and keeps the
 * IDNA2008 rules that can be checked here. */
bool gh__schema_a_label_ok(const char *label, size_t len);
/* Why a pattern can backtrack without bound (nested repetition, overlapping alternatives under
 * repetition), or NULL. */
const char *gh__schema_regex_risk(const char *src);

#endif
