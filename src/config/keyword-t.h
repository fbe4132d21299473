/* Keyword tables: what one mapping of the configuration may hold, key by key. A table is an
 * array of gh_keyword in the order the keys are read, ended by GH_KW_END; config/keyword.c
 * applies it to a YAML mapping and the struct it fills. Types only, so that any layer can
 * declare a table for keys of its own and hand it to the configuration loader. */
#ifndef GH_CONFIG_KEYWORD_T_H
#define GH_CONFIG_KEYWORD_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gh_walk;
struct yaml_node_s;

typedef enum gh_kw_kind {
    GH_KW_STRING,   /* const char * (in the snapshot); .valid and .invalid judge it */
    GH_KW_BOOL,     /* false or true, into a bool */
    GH_KW_UINT,     /* a whole number in [min, max] */
    GH_KW_SIZE,     /* 512, 16k, 1m or 1g bytes in [min, max] */
    GH_KW_DURATION, /* 250ms, 5s, 1m or 2h in [min, max] milliseconds, stored divided by .unit */
    GH_KW_ENUM,     /* one of .choices: its index is stored */
    GH_KW_LIST,     /* a list of strings: const char ** at the field, its length at .count */
    GH_KW_PATH,     /* a file read at load (at most .max bytes), relative to the configuration */
    GH_KW_SECRET,   /* ${env:NAME} or ${file:/path} into a char *, wiped with the snapshot */
    GH_KW_MAP,      /* a mapping read with .table into the struct at the field */
    GH_KW_CUSTOM,   /* .load reads the value; without .load, another key's loader reads it */
} gh_kw_kind;

enum {
    GH_KW_REQUIRED = 1 << 0, /* missing: an error, .required or "required" */
    GH_KW_NEGATE = 1 << 1,   /* bool, or an enum of two: the field holds whether the first
                              * choice (false) was written */
    GH_KW_ALWAYS = 1 << 2,   /* custom: also called, with no value, when the key is missing */
    GH_KW_UNSET = 1 << 3,    /* number: missing means all bits set, left to another setting */
    GH_KW_KEY_MATERIAL = 1 << 4, /* keys written inline (a JWK set): the effective configuration
                                  * shows "<redacted N bytes>" in their place */
    GH_KW_ALONE = 1 << 5,        /* the keys of the table are alternatives: the default
                                  * stands when none of them is written (shown only then) */
};

struct gh_keyword;

/* Where a custom loader or a guard is called from. */
typedef struct gh_kw_call {
    struct yaml_node_s *map;    /* the mapping that holds the key */
    const struct gh_keyword *k; /* the key */
    void *target;               /* the struct being filled */
    void *ctx;                  /* what the caller handed to the applier */
    size_t outer;               /* the key path's length without the key: gh__walk_pop(w, outer)
                                 * reports about the whole mapping */
} gh_kw_call;

/* Reads v, the key's value (NULL for GH_KW_ALWAYS when the key is missing). */
typedef void gh_kw_loader(struct gh_walk *w, struct yaml_node_s *v, const gh_kw_call *call);
/* Whether v may be read at all (it reported why not). */
typedef bool gh_kw_guard(struct gh_walk *w, struct yaml_node_s *v, const gh_kw_call *call);

typedef struct gh_keyword {
    const char *name;
    gh_kw_kind kind;
    unsigned flags;             /* GH_KW_* */
    size_t offset, size;        /* the field in the target (GH_KW_AT) */
    size_t count;               /* list: offsetof the size_t that holds its length */
    uint64_t min, max;          /* numbers (durations in ms); path: the most bytes read (max);
                                 * list: the fewest items (min) */
    uint64_t unit;              /* duration: the field counts these milliseconds (0: 1) */
    const char *def;            /* the default, written as in the configuration ("30s", "16k")
                                 * and read as a value is (by .load for a custom key) */
    const char *const *choices; /* enum: NULL-terminated, in the order they are listed */
    const struct gh_keyword *table; /* map (or the keys a custom loader reads): its defaults
                                     * are set whether or not the key is written */
    bool (*valid)(const char *s);   /* string, or each item of a list: whether it is acceptable */
    const char *invalid;            /* string: the error when it is not (a format given it) */
    const char *required;           /* the error when a required key is missing */
    gh_kw_loader *load;             /* custom */
    gh_kw_guard *guard;             /* any kind: judged before the value is read */
    const void *arg;                /* custom: what the loader needs to know about this key */
} gh_keyword;

/* The field f of the struct T a table fills. */
#define GH_KW_AT(T, f) .offset = offsetof(T, f), .size = sizeof(((T *)0)->f)
/* A list field f of T with its length in nf. */
#define GH_KW_LIST_AT(T, f, nf) GH_KW_AT(T, f), .count = offsetof(T, nf)
#define GH_KW_END {.name = NULL}

/* Keys that a module above the configuration brings to every route (a request stage: see
 * docs/architecture.md, "Adding a control"): the mapping under .name is read with .table into
 * .size zeroed bytes that the route keeps; gh_route_ext (config/config.h) finds them. */
typedef struct gh_route_keys {
    const char *name;
    const gh_keyword *table;
    size_t size;
    /* Once the mapping was read without error: derives what the keys imply and judges what no
     * single key can (keys that only make sense together). NULL, or the error, reported at the
     * mapping. NULL: nothing to add. */
    const char *(*finish)(void *conf);
} gh_route_keys;

#endif
