/* Validating an instance against compiled nodes. Keywords that apply subschemas to the same
 * instance collect which properties and items they evaluated, for unevaluatedProperties and
 * unevaluatedItems; a branch that fails contributes nothing. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/siphash.h"
#include "schema/schema_internal.h"

#define MAX_DEPTH 512 /* subschemas applied within each other: $ref loops end here */
/* Subschema applications in one validation, per value of the instance and in all: a schema whose
 * branches refer to each other can take exponential time (anyOf of two $refs to itself), so the
 * work is bounded, in proportion to what is validated. */
#define STEPS_PER_VALUE 64
#define STEPS_BASE 10000
/* Regular expressions: each match is held to PCRE2 limits far below its defaults (10 million
 * backtracking steps), so one catastrophic pattern gives up in milliseconds; and all the
 * matches of one validation share a budget of CPU time, so many strings that each stay under a
 * match's limit cannot add up to seconds. Running out refuses the body: a pattern that could
 * not be evaluated is never taken for a match or for a mismatch (under "not" a mismatch would
 * let the body through). */
#define RE_MATCH_LIMIT 200000   /* backtracking steps in one match */
#define RE_DEPTH_LIMIT 10000    /* nested backtracking points in one match */
#define RE_HEAP_LIMIT_KIB 8192  /* backtracking memory of one match */
#define RE_BUDGET_NS 50000000ll /* CPU time of all the matches of one validation: 50 ms */
#define RE_JIT_STACK_MIN (32 * 1024)
#define RE_JIT_STACK_MAX (512 * 1024)

typedef struct vctx {
    const gh_schema *s;
    gh_schema_error *errs;
    size_t max, count;
    char ipath[160];
    size_t ilen;
    pcre2_match_data *md;
    pcre2_match_context *mctx; /* the limits; made at the first match */
    pcre2_jit_stack *jit_stack; /* only for a match the machine stack's 32 KiB cannot hold */
    int64_t re_cpu0;    /* the thread's CPU time at the first match */
    int64_t re_wall_ns; /* wall time spent matching since: an upper bound of their CPU time */
    bool re_failed;  /* a pattern could not be evaluated: the body is refused, whatever else */
    int depth;
    size_t steps, max_steps;
    gh_sipkey key; /* for uniqueItems hashes, drawn for this validation when first needed */
    int keyed;     /* 0: not yet drawn, 1: drawn, -1: none to be had */
} vctx;

/* Which properties (by their index in the object) or items a schema evaluated. */
typedef struct ann {
    uint8_t *bits;
    size_t n;
    uint8_t small[64];
} ann;

static bool ann_init(ann *a, size_t n)
{
    a->n = n;
    a->bits = (n + 7) / 8 <= sizeof(a->small) ? a->small : calloc((n + 7) / 8, 1);
    if (a->bits == a->small)
        memset(a->small, 0, sizeof(a->small));
    return a->bits != NULL;
}

static void ann_free(ann *a)
{
    if (a->bits && a->bits != a->small)
        free(a->bits);
}

static void mark(ann *a, size_t i)
{
    if (a && i < a->n)
        a->bits[i / 8] |= (uint8_t)(1u << (i % 8));
}

static bool marked(const ann *a, size_t i)
{
    return i < a->n && (a->bits[i / 8] >> (i % 8)) & 1;
}

static void merge(ann *into, const ann *from)
{
    for (size_t i = 0; into && i < (into->n + 7) / 8 && i < (from->n + 7) / 8; i++)
        into->bits[i] |= from->bits[i];
}

static void report(vctx *v, const gh_snode *n, const char *kw, const char *fmt, ...)
{
    if (v->count++ >= v->max)
        return;
    gh_schema_error *e = &v->errs[v->count - 1];
    snprintf(e->instance_path, sizeof(e->instance_path), "%.*s", (int)v->ilen, v->ipath);
    snprintf(e->schema_path, sizeof(e->schema_path), "%s%s%s", n->path, kw ? "/" : "", kw ? kw : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
}

static size_t push(vctx *v, const char *key, size_t klen)
{
    size_t mark_at = v->ilen;
    if (v->ilen + 1 < sizeof(v->ipath))
        v->ipath[v->ilen++] = '/';
    for (size_t k = 0; k < klen && v->ilen + 2 < sizeof(v->ipath); k++) {
        if (key[k] == '~' || key[k] == '/') {
            v->ipath[v->ilen++] = '~';
            v->ipath[v->ilen++] = key[k] == '~' ? '0' : '1';
        } else {
            v->ipath[v->ilen++] = key[k];
        }
    }
    return mark_at;
}

static size_t push_index(vctx *v, size_t i)
{
    char num[24];
    size_t n = sizeof(num);
    do {
        num[--n] = (char)('0' + i % 10);
        i /= 10;
    } while (i);
    return push(v, num + n, sizeof(num) - n);
}

static unsigned type_of(const gh_jv *j)
{
    switch (j->type) {
    case GH_JV_NULL:
        return GH_ST_NULL;
    case GH_JV_TRUE:
    case GH_JV_FALSE:
        return GH_ST_BOOLEAN;
    case GH_JV_OBJECT:
        return GH_ST_OBJECT;
    case GH_JV_ARRAY:
        return GH_ST_ARRAY;
    case GH_JV_STRING:
        return GH_ST_STRING;
    default:
        return GH_ST_NUMBER | (j->integral ? GH_ST_INTEGER : 0);
    }
}

static int64_t clock_ns(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (int64_t)t.tv_sec * 1000000000ll + t.tv_nsec;
}

static bool match_context(vctx *v)
{
    if (v->mctx)
        return true;
    if (!(v->mctx = pcre2_match_context_create(NULL)))
        return false;
    pcre2_set_match_limit(v->mctx, RE_MATCH_LIMIT);
    pcre2_set_depth_limit(v->mctx, RE_DEPTH_LIMIT);
    pcre2_set_heap_limit(v->mctx, RE_HEAP_LIMIT_KIB);
    v->re_cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    return true;
}

/* Whether the matches so far stay within RE_BUDGET_NS of CPU time. The thread's CPU clock is a
 * system call, the monotonic one is not: wall time bounds CPU time from above, so the CPU clock
 * is read only once the wall time passes the budget (it then counts the validation's other work
 * since the first match too, which only tightens the bound), and the count restarts from it. */
static bool within_budget(vctx *v)
{
    if (v->re_wall_ns <= RE_BUDGET_NS)
        return true;
    v->re_wall_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID) - v->re_cpu0;
    return v->re_wall_ns <= RE_BUDGET_NS;
}

/* JIT matching runs on 32 KiB of the machine stack; a match that needs more gets a stack of
 * its own (mapped once per validation, and only then). */
static bool bigger_jit_stack(vctx *v)
{
    if (v->jit_stack || !(v->jit_stack = pcre2_jit_stack_create(RE_JIT_STACK_MIN, RE_JIT_STACK_MAX, NULL)))
        return false;
    pcre2_jit_stack_assign(v->mctx, NULL, v->jit_stack);
    return true;
}

/* 1: s matches; 0: it does not; -1: the pattern could not be evaluated within the limits (said
 * once, as an error of the keyword, and the whole validation then fails). */
static int matches(vctx *v, const gh_snode *n, const char *kw, pcre2_code *re, const char *s, size_t len)
{
    int rc = PCRE2_ERROR_NOMEMORY;
    if (!v->re_failed && match_context(v) && within_budget(v)) {
        int64_t t0 = clock_ns(CLOCK_MONOTONIC);
        rc = pcre2_match(re, (PCRE2_SPTR)s, len, 0, 0, v->md, v->mctx);
        if (rc == PCRE2_ERROR_JIT_STACKLIMIT && bigger_jit_stack(v))
            rc = pcre2_match(re, (PCRE2_SPTR)s, len, 0, 0, v->md, v->mctx);
        v->re_wall_ns += clock_ns(CLOCK_MONOTONIC) - t0;
    }
    if (rc >= 0 || rc == PCRE2_ERROR_NOMATCH)
        return rc >= 0;
    if (!v->re_failed) {
        v->re_failed = true;
        report(v, n, kw, "the pattern could not be evaluated within the matching budget");
    }
    return -1;
}

static bool validate(vctx *v, const gh_snode *n, const gh_jv *inst, ann *out, bool rep);

/* Applies sub to the same instance, merging what it evaluated into local when it passes. */
static bool apply(vctx *v, const gh_snode *sub, const gh_jv *inst, ann *local, bool rep)
{
    ann tmp = {0};
    if (local && !ann_init(&tmp, local->n))
        return false;
    bool ok = validate(v, sub, inst, local ? &tmp : NULL, rep);
    if (ok && local)
        merge(local, &tmp);
    ann_free(&tmp);
    return ok;
}

/* A subschema applied with reporting on has said what failed, where: the parent adds nothing. */
#define CHILD_FAILED()                                                                             \
    do {                                                                                           \
        ok = false;                                                                                \
        if (!rep)                                                                                  \
            goto done;                                                                             \
    } while (0)

#define FAIL(kw, ...)                                                                              \
    do {                                                                                           \
        ok = false;                                                                                \
        if (!rep)                                                                                  \
            goto done;                                                                             \
        report(v, n, kw, __VA_ARGS__);                                                             \
    } while (0)

static bool check_number(vctx *v, const gh_snode *n, double x, bool rep)
{
    bool ok = true;
    if (n->minimum.set && x < n->minimum.v)
        FAIL("minimum", "%g is less than the minimum %g", x, n->minimum.v);
    if (n->maximum.set && x > n->maximum.v)
        FAIL("maximum", "%g is more than the maximum %g", x, n->maximum.v);
    if (n->xminimum.set && x <= n->xminimum.v)
        FAIL("exclusiveMinimum", "%g is not more than %g", x, n->xminimum.v);
    if (n->xmaximum.set && x >= n->xmaximum.v)
        FAIL("exclusiveMaximum", "%g is not less than %g", x, n->xmaximum.v);
    if (n->multiple_of.set) {
        double q = x / n->multiple_of.v;
        if (!isfinite(q) || fabs(q - nearbyint(q)) > 1e-9)
            FAIL("multipleOf", "%g is not a multiple of %g", x, n->multiple_of.v);
    }
done:
    return ok;
}

static bool check_string(vctx *v, const gh_snode *n, const gh_jv *inst, bool rep)
{
    bool ok = true;
    const char *s = inst->u.str;
    size_t bytes = inst->len;
    if (n->min_length >= 0 || n->max_length >= 0) {
        size_t len = gh__schema_utf8_len(s, bytes);
        if (n->min_length >= 0 && len < (size_t)n->min_length)
            FAIL("minLength", "shorter than %lld characters", (long long)n->min_length);
        if (n->max_length >= 0 && len > (size_t)n->max_length)
            FAIL("maxLength", "longer than %lld characters", (long long)n->max_length);
    }
    int m = n->pattern ? matches(v, n, "pattern", n->pattern, s, bytes) : 1;
    if (m < 0)
        ok = false;
    else if (!m)
        FAIL("pattern", "does not match the pattern");
    if (n->format && v->s->format_assertion && !gh__schema_format_ok(n->format, s, bytes))
        FAIL("format", "is not a valid %s", n->format);
done:
    return ok;
}

static bool check_object(vctx *v, const gh_snode *n, const gh_jv *inst, ann *local, bool rep)
{
    bool ok = true;
    size_t size = inst->len;
    if (n->min_properties >= 0 && size < (size_t)n->min_properties)
        FAIL("minProperties", "fewer than %lld properties", (long long)n->min_properties);
    if (n->max_properties >= 0 && size > (size_t)n->max_properties)
        FAIL("maxProperties", "more than %lld properties", (long long)n->max_properties);
    for (size_t r = 0; r < n->nrequired; r++)
        if (!gh_jv_get(inst, n->required[r], strlen(n->required[r])))
            FAIL("required", "the required property '%s' is missing", n->required[r]);
    for (size_t d = 0; d < n->ndependent_required; d++) {
        if (!gh_jv_get(inst, n->dependent_required[d].name, n->dependent_required[d].len))
            continue;
        for (size_t r = 0; r < n->dependent_required[d].nnames; r++)
            if (!gh_jv_get(inst, n->dependent_required[d].names[r], strlen(n->dependent_required[d].names[r])))
                FAIL("dependentRequired", "'%s' requires '%s'", n->dependent_required[d].name,
                     n->dependent_required[d].names[r]);
    }
    for (size_t d = 0; d < n->ndependent_schemas; d++)
        if (gh_jv_get(inst, n->dependent_schemas[d].name, n->dependent_schemas[d].len) &&
            !apply(v, n->dependent_schemas[d].schema, inst, local, rep))
            CHILD_FAILED();
    for (size_t i = 0; i < size; i++) {
        const char *key = inst->u.members[i].key;
        size_t klen = inst->u.members[i].klen, at = push(v, key, klen);
        const gh_jv *val = &inst->u.members[i].value;
        bool known = false;
        for (size_t p = 0; p < n->nproperties; p++) {
            if (n->properties[p].len != klen || memcmp(n->properties[p].name, key, klen) != 0)
                continue;
            known = true;
            mark(local, i);
            if (!validate(v, n->properties[p].schema, val, NULL, rep)) {
                v->ilen = at;
                CHILD_FAILED();
            }
        }
        for (size_t p = 0; p < n->npattern_properties; p++) {
            int m = matches(v, n, "patternProperties", n->pattern_properties[p].re, key, klen);
            if (m < 0)
                ok = false;
            if (m <= 0)
                continue;
            known = true;
            mark(local, i);
            if (!validate(v, n->pattern_properties[p].schema, val, NULL, rep)) {
                v->ilen = at;
                CHILD_FAILED();
            }
        }
        if (!known && n->additional_properties) {
            mark(local, i);
            if (!validate(v, n->additional_properties, val, NULL, rep)) {
                v->ilen = at;
                CHILD_FAILED();
            }
        }
        v->ilen = at;
        if (n->property_names) {
            gh_jv name = {.type = GH_JV_STRING, .len = (uint32_t)klen, .u.str = key};
            if (!validate(v, n->property_names, &name, NULL, false))
                FAIL("propertyNames", "the property name '%.*s' is not allowed", (int)klen, key);
        }
    }
done:
    return ok;
}

/* A hash equal values share (1 and 1.0 alike, objects whatever their member order), keyed so
 * that a client cannot make unequal items share it: items sharing a hash are compared pairwise,
 * so crafted collisions would cost n squared. A member's hash covers its key and value together
 * (members are summed for order, and a sum of separate key and value hashes would let the values
 * trade places among the keys unseen). */
static uint64_t value_hash(const gh_sipkey *key, const gh_jv *j)
{
    gh_siphash h;
    gh_siphash_init(&h, key);
    gh_siphash_u64(&h, j->type == GH_JV_TRUE ? 7 : j->type);
    switch (j->type) {
    case GH_JV_NUMBER: {
        double d = j->u.num == 0 ? 0 : j->u.num; /* -0 and 0 are equal */
        uint64_t bits;
        memcpy(&bits, &d, sizeof(bits));
        gh_siphash_u64(&h, bits);
        break;
    }
    case GH_JV_STRING:
        gh_siphash_update(&h, j->u.str, j->len);
        break;
    case GH_JV_ARRAY:
        for (uint32_t i = 0; i < j->len; i++)
            gh_siphash_u64(&h, value_hash(key, &j->u.items[i]));
        break;
    case GH_JV_OBJECT: {
        uint64_t sum = 0;
        for (uint32_t i = 0; i < j->len; i++) {
            gh_siphash m;
            gh_siphash_init(&m, key);
            gh_siphash_u64(&m, value_hash(key, &j->u.members[i].value));
            gh_siphash_update(&m, j->u.members[i].key, j->u.members[i].klen);
            sum += gh_siphash_final(&m);
        }
        gh_siphash_u64(&h, sum);
        break;
    }
    default:
        break;
    }
    return gh_siphash_final(&h);
}

typedef struct hashed {
    uint64_t hash;
    size_t index;
} hashed;

static int by_hash(const void *a, const void *b)
{
    const hashed *x = a, *y = b;
    return x->hash < y->hash ? -1 : x->hash > y->hash ? 1 : x->index < y->index ? -1 : 1;
}

/* uniqueItems: the items sorted by hash, and only those whose hashes agree compared, so a long
 * array costs n log n, not n squared. 1: unique; 0: an equal pair; -1: could not be checked
 * (no memory or no key), which refuses rather than waves the array through. */
static int all_unique(vctx *v, const gh_jv *arr, size_t *first, size_t *second)
{
    size_t n = arr->len;
    if (!v->keyed)
        v->keyed = gh_sipkey_random(&v->key) ? 1 : -1;
    hashed small[64], *h = n <= 64 ? small : malloc(n * sizeof(*h));
    if (!h || v->keyed < 0) {
        if (h != small)
            free(h);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        h[i] = (hashed){value_hash(&v->key, &arr->u.items[i]), i};
    qsort(h, n, sizeof(*h), by_hash);
    int ok = 1;
    for (size_t i = 0; ok && i < n; i++)
        for (size_t k = i + 1; ok && k < n && h[k].hash == h[i].hash; k++)
            if (gh_jv_equal(&arr->u.items[h[i].index], &arr->u.items[h[k].index])) {
                *first = h[i].index, *second = h[k].index;
                ok = 0;
            }
    if (h != small)
        free(h);
    return ok;
}

static bool check_array(vctx *v, const gh_snode *n, const gh_jv *inst, ann *local, bool rep)
{
    bool ok = true;
    size_t size = inst->len, contained = 0;
    if (n->min_items >= 0 && size < (size_t)n->min_items)
        FAIL("minItems", "fewer than %lld items", (long long)n->min_items);
    if (n->max_items >= 0 && size > (size_t)n->max_items)
        FAIL("maxItems", "more than %lld items", (long long)n->max_items);
    if (n->unique_items) {
        size_t a, b;
        int u = all_unique(v, inst, &a, &b);
        if (u < 0)
            FAIL("uniqueItems", "could not be checked (out of memory)");
        if (u == 0)
            FAIL("uniqueItems", "items %zu and %zu are equal", a, b);
    }
    for (size_t i = 0; i < size; i++) {
        const gh_jv *item = &inst->u.items[i];
        size_t at = push_index(v, i);
        const gh_snode *s = i < n->nprefix ? n->prefix[i] : n->items;
        if (s) {
            mark(local, i);
            if (!validate(v, s, item, NULL, rep)) {
                v->ilen = at;
                CHILD_FAILED();
            }
        }
        if (n->contains && validate(v, n->contains, item, NULL, false)) {
            contained++;
            mark(local, i);
        }
        v->ilen = at;
    }
    if (n->contains) {
        if (contained < (size_t)n->min_contains)
            FAIL(n->min_contains == 1 ? "contains" : "minContains",
                 "fewer than %lld items match contains", (long long)n->min_contains);
        if (n->max_contains >= 0 && contained > (size_t)n->max_contains)
            FAIL("maxContains", "more than %lld items match contains", (long long)n->max_contains);
    }
done:
    return ok;
}

/* The applicators that evaluate the same instance: $ref, allOf, anyOf, oneOf, not, if. */
static bool check_applicators(vctx *v, const gh_snode *n, const gh_jv *inst, ann *local, bool rep)
{
    bool ok = true;
    if (n->ref && !apply(v, n->ref, inst, local, rep))
        CHILD_FAILED();
    for (size_t i = 0; i < n->nall_of; i++)
        if (!apply(v, n->all_of[i], inst, local, rep))
            CHILD_FAILED();
    if (n->nany_of) {
        bool any = false;
        for (size_t i = 0; i < n->nany_of; i++) /* every branch: each one's annotations count */
            any |= apply(v, n->any_of[i], inst, local, false);
        if (!any)
            FAIL("anyOf", "does not match any of anyOf");
    }
    if (n->none_of) {
        size_t passed = 0;
        for (size_t i = 0; i < n->none_of; i++)
            passed += apply(v, n->one_of[i], inst, passed ? NULL : local, false);
        if (passed != 1)
            FAIL("oneOf", passed ? "matches more than one of oneOf" : "does not match any of oneOf");
    }
    if (n->not_ && validate(v, n->not_, inst, NULL, false))
        FAIL("not", "matches the schema in not");
    if (n->if_) {
        if (apply(v, n->if_, inst, local, false)) {
            if (n->then_ && !apply(v, n->then_, inst, local, rep))
                CHILD_FAILED();
        } else if (n->else_ && !apply(v, n->else_, inst, local, rep)) {
            CHILD_FAILED();
        }
    }
done:
    return ok;
}

static bool check_unevaluated(vctx *v, const gh_snode *n, const gh_jv *inst, ann *local, bool rep)
{
    bool ok = true;
    if (n->unevaluated_properties && inst->type == GH_JV_OBJECT) {
        for (size_t i = 0; i < inst->len; i++) {
            if (marked(local, i))
                continue;
            const gh_jmember *m = &inst->u.members[i];
            size_t at = push(v, m->key, m->klen);
            bool good = validate(v, n->unevaluated_properties, &m->value, NULL, rep);
            v->ilen = at;
            if (!good)
                CHILD_FAILED();
            mark(local, i);
        }
    }
    if (n->unevaluated_items && inst->type == GH_JV_ARRAY) {
        for (size_t i = 0; i < inst->len; i++) {
            if (marked(local, i))
                continue;
            size_t at = push_index(v, i);
            bool good = validate(v, n->unevaluated_items, &inst->u.items[i], NULL, rep);
            v->ilen = at;
            if (!good)
                CHILD_FAILED();
            mark(local, i);
        }
    }
done:
    return ok;
}

static bool validate(vctx *v, const gh_snode *n, const gh_jv *inst, ann *out, bool rep)
{
    if (n->boolean >= 0) {
        if (!n->boolean && rep)
            report(v, n, NULL, "not allowed here");
        return n->boolean;
    }
    if (v->re_failed)
        return false;
    if (v->depth >= MAX_DEPTH || ++v->steps > v->max_steps) {
        if (v->steps == v->max_steps + 1 || (rep && v->depth >= MAX_DEPTH)) /* said once */
            report(v, n, NULL, v->depth >= MAX_DEPTH ? "the schema applies itself without end"
                                                     : "the schema takes too many steps to apply");
        return false;
    }
    v->depth++;
    bool ok = true;
    unsigned t = type_of(inst);
    ann local = {0};
    bool track = (out || n->unevaluated_properties || n->unevaluated_items) &&
                 (t & (GH_ST_OBJECT | GH_ST_ARRAY));
    if (track && !ann_init(&local, inst->len)) {
        v->depth--;
        return false;
    }
    ann *lp = track ? &local : NULL;
    if (n->types && !(n->types & t))
        FAIL("type", "has the wrong type");
    if (n->const_v && !gh_jv_equal(n->const_v, inst))
        FAIL("const", "is not the constant value");
    if (n->enum_v) {
        bool found = false;
        for (size_t i = 0; !found && i < n->enum_v->len; i++)
            found = gh_jv_equal(&n->enum_v->u.items[i], inst);
        if (!found)
            FAIL("enum", "is not one of the enumerated values");
    }
    if ((t & GH_ST_NUMBER) && !check_number(v, n, inst->u.num, rep))
        ok = false;
    if ((t & GH_ST_STRING) && !check_string(v, n, inst, rep))
        ok = false;
    if ((t & GH_ST_OBJECT) && !check_object(v, n, inst, lp, rep))
        ok = false;
    if ((t & GH_ST_ARRAY) && !check_array(v, n, inst, lp, rep))
        ok = false;
    if (!ok && !rep)
        goto done;
    if (!check_applicators(v, n, inst, lp, rep))
        ok = false;
    if ((ok || rep) && !check_unevaluated(v, n, inst, lp, rep))
        ok = false;
done:
    if (ok && out && track)
        merge(out, &local);
    ann_free(&local);
    v->depth--;
    return ok;
}

static size_t count_values(const gh_jv *j)
{
    size_t n = 1;
    for (uint32_t i = 0; j->type == GH_JV_ARRAY && i < j->len; i++)
        n += count_values(&j->u.items[i]);
    for (uint32_t i = 0; j->type == GH_JV_OBJECT && i < j->len; i++)
        n += count_values(&j->u.members[i].value);
    return n;
}

size_t gh_schema_validate(const gh_schema *s, const gh_jv *instance, gh_schema_error *errs,
                          size_t max)
{
    vctx v = {.s = s, .errs = errs, .max = max,
              .max_steps = STEPS_BASE + STEPS_PER_VALUE * count_values(instance)};
    v.md = pcre2_match_data_create(1, NULL);
    if (!v.md)
        return 1;
    bool ok = validate(&v, s->root, instance, NULL, true);
    /* Work cut short inside "not" or an anyOf branch reads as a failed subschema there, which
     * could turn into a pass above it: running out refuses the whole instance. */
    if (v.re_failed || v.steps > v.max_steps)
        ok = false;
    pcre2_match_data_free(v.md);
    pcre2_match_context_free(v.mctx);
    pcre2_jit_stack_free(v.jit_stack);
    return ok ? 0 : (v.count ? v.count : 1);
}
