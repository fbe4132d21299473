/* A JSON document for reading once: parsed in one pass into a request's arena (one allocation
 * per container, strings without escapes pointing into the text), with the limits an edge needs
 * checked while parsing: nesting depth, string size, duplicate keys. */
#ifndef GH_CORE_JV_H
#define GH_CORE_JV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"

typedef enum { GH_JV_NULL, GH_JV_FALSE, GH_JV_TRUE, GH_JV_NUMBER, GH_JV_STRING, GH_JV_ARRAY, GH_JV_OBJECT } gh_jv_type;

typedef struct gh_jv gh_jv;
typedef struct gh_jmember gh_jmember;

struct gh_jv {
    uint8_t type;  /* gh_jv_type */
    bool integral; /* a number without a fraction (1 and 1.0 alike) */
    uint32_t len;  /* string bytes, or array items, or object members */
    union {
        double num;
        const char *str; /* not NUL-terminated: len bytes of UTF-8 */
        gh_jv *items;
        gh_jmember *members;
    } u;
};

struct gh_jmember {
    const char *key;
    uint32_t klen;
    gh_jv value;
};

typedef struct gh_jv_limits {
    uint32_t max_depth;  /* objects and arrays within each other */
    uint64_t max_string; /* bytes of one string or key, as written */
} gh_jv_limits;

/* The most a document of len bytes can take in an arena: a value (24 bytes) or a member (48) for
 * every two bytes of text at worst, and one chunk's slack. */
#define GH_JV_TREE_BOUND(len) (24 * (size_t)(len) + 65536)

/* Parses text[0..len) (which must outlive the result) into a; NULL with why (a static string,
 * and the byte offset in *at) when it is not one JSON value within the limits. */
const gh_jv *gh_jv_parse(const char *text, size_t len, const gh_jv_limits *lim, gh_arena *a,
                         const char **why, size_t *at);

/* The member named key (len bytes), or NULL. */
const gh_jv *gh_jv_get(const gh_jv *obj, const char *key, size_t len);
/* JSON equality: numbers by value, objects without regard to member order. */
bool gh_jv_equal(const gh_jv *a, const gh_jv *b);

#endif
