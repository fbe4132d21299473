/* Compiling a schema: every resource ($id) and anchor registered, then each (sub)schema turned
 * into a node once (a $ref to a node being compiled is a cycle, which is fine: it points at the
 * node), every keyword's value checked. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema/schema_internal.h"
#include "schema/schema_uri.h"

#define URI_MAX 1024
#define PATH_MAX_LEN 512
#define MAX_NESTING 128 /* subschemas within each other: deeper is refused, never a stack overflow */

typedef struct resource {
    char *uri; /* absolute, no fragment; anchors: uri#name */
    json_t *node;
    char *base; /* the base URI inside the node */
} resource;

typedef struct memo {
    const json_t *json;
    gh_snode *node;
} memo;

typedef struct compiler {
    gh_schema *s;
    const gh_schema_options *o;
    resource *res;
    size_t nres, res_cap;
    memo *memo;
    size_t nmemo, memo_cap; /* open addressing by pointer */
    char *err;
    size_t errlen;
    bool failed;
    unsigned depth; /* subschemas being compiled within each other */
} compiler;

static bool fail(compiler *c, const char *path, const char *fmt, const char *arg)
{
    if (!c->failed) {
        char msg[1400]; /* room for a URI */
        snprintf(msg, sizeof(msg), fmt, arg ? arg : "");
        snprintf(c->err, c->errlen, "%s: %s", path, msg);
    }
    c->failed = true;
    return false;
}

static bool keep(void **arr, size_t *n, size_t *cap, size_t elem, const void *item)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        void *p = realloc(*arr, ncap * elem);
        if (!p)
            return false;
        *arr = p;
        *cap = ncap;
    }
    memcpy((char *)*arr + *n * elem, item, elem);
    (*n)++;
    return true;
}

static bool add_resource(compiler *c, const char *uri, json_t *node, const char *base)
{
    for (size_t i = 0; i < c->nres; i++)
        if (strcmp(c->res[i].uri, uri) == 0)
            return true; /* the first wins */
    resource r = {gh_arena_strdup(&c->s->arena, uri), node, gh_arena_strdup(&c->s->arena, base)};
    return r.uri && r.base && keep((void **)&c->res, &c->nres, &c->res_cap, sizeof(r), &r);
}

static const resource *find_resource(const compiler *c, const char *uri)
{
    for (size_t i = 0; i < c->nres; i++)
        if (strcmp(c->res[i].uri, uri) == 0)
            return &c->res[i];
    return NULL;
}

/* Keywords whose value is a schema, an array of schemas, or an object of schemas: the only
 * places identifiers and anchors count (an $id inside const or enum is data). */
static const char *const one_schema[] = {"items", "contains", "additionalProperties", "propertyNames",
                                         "unevaluatedItems", "unevaluatedProperties", "not", "if",
                                         "then", "else", NULL};
static const char *const schema_lists[] = {"prefixItems", "allOf", "anyOf", "oneOf", NULL};
static const char *const schema_maps[] = {"properties", "patternProperties", "$defs",
                                          "definitions", "dependentSchemas", NULL};

static bool in_list(const char *const *list, const char *k)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(list[i], k) == 0)
            return true;
    return false;
}

/* The base URI inside node, given the one around it: its $id, resolved. */
static bool base_of(json_t *node, const char *outer, char *out)
{
    json_t *id = json_is_object(node) ? json_object_get(node, "$id") : NULL;
    if (!json_is_string(id))
        return snprintf(out, URI_MAX, "%s", outer) < URI_MAX;
    return gh__uri_resolve(outer, json_string_value(id), out, URI_MAX);
}

static bool register_all(compiler *c, json_t *node, const char *outer, unsigned depth)
{
    if (depth > MAX_NESTING)
        return fail(c, "#", "subschemas nested more than 128 deep", NULL);
    if (!json_is_object(node))
        return true;
    char base[URI_MAX], anchor[URI_MAX + 130];
    if (!base_of(node, outer, base))
        return fail(c, "#", "an $id that does not resolve: %s", json_string_value(json_object_get(node, "$id")));
    /* Resources and anchors keep the base around them: compiling the node applies its $id. */
    if (json_object_get(node, "$id") && !add_resource(c, base, node, outer))
        return false;
    const char *akeys[] = {"$anchor", "$dynamicAnchor"};
    for (size_t i = 0; i < 2; i++) {
        json_t *a = json_object_get(node, akeys[i]);
        if (json_is_string(a)) {
            /* Two long anchors cut to one name would swap targets: too long is refused. */
            if (snprintf(anchor, sizeof(anchor), "%s#%s", base, json_string_value(a)) >= (int)sizeof(anchor))
                return fail(c, "#", "an anchor longer than the limit: %s", json_string_value(a));
            if (!add_resource(c, anchor, node, outer))
                return false;
        }
    }
    const char *k;
    json_t *v;
    json_object_foreach(node, k, v) {
        if (in_list(one_schema, k)) {
            if (!register_all(c, v, base, depth + 1))
                return false;
        } else if (in_list(schema_lists, k) && json_is_array(v)) {
            size_t i;
            json_t *item;
            json_array_foreach(v, i, item) if (!register_all(c, item, base, depth + 1)) return false;
        } else if (in_list(schema_maps, k) && json_is_object(v)) {
            const char *k2;
            json_t *item;
            json_object_foreach(v, k2, item) if (!register_all(c, item, base, depth + 1)) return false;
        }
    }
    return true;
}

/* A document at uri: registered with its resources (the gateway's own, or one the loader
 * fetched for a $ref). */
static bool add_document(compiler *c, json_t *doc, const char *uri)
{
    if (!keep((void **)&c->s->docs, &c->s->ndocs, &c->s->docs_cap, sizeof(doc), &doc))
        return false;
    json_incref(doc);
    char base[URI_MAX];
    if (!base_of(doc, uri, base))
        return fail(c, "#", "an $id that does not resolve", NULL);
    return add_resource(c, uri, doc, uri) && register_all(c, doc, uri, 0);
}

/* Follows a JSON pointer (already unescaped from the URI fragment) from a resource's root,
 * tracking the base URI through the $id of every node passed through (the target's own $id is
 * applied when it is compiled). */
static json_t *follow_pointer(json_t *node, const char *ptr, char *base)
{
    while (node && *ptr) {
        char next[URI_MAX];
        if (*ptr != '/' || !base_of(node, base, next))
            return NULL;
        strcpy(base, next);
        ptr++;
        char tok[256];
        size_t n = 0;
        for (; *ptr && *ptr != '/'; ptr++) {
            char ch = *ptr;
            if (ch == '~' && (ptr[1] == '0' || ptr[1] == '1'))
                ch = *++ptr == '0' ? '~' : '/';
            if (n + 1 >= sizeof(tok))
                return NULL;
            tok[n++] = ch;
        }
        tok[n] = '\0';
        if (json_is_object(node)) {
            node = json_object_get(node, tok);
        } else if (json_is_array(node)) {
            char *end;
            unsigned long i = strtoul(tok, &end, 10);
            node = *end || !n ? NULL : json_array_get(node, i);
        } else {
            return NULL;
        }
    }
    return node;
}

static gh_snode *compile(compiler *c, json_t *j, const char *base, const char *path);

/* The node a $ref names, compiled (or being compiled) with its own base and location. */
static gh_snode *resolve_ref(compiler *c, const char *ref, const char *base, const char *path)
{
    char uri[URI_MAX], doc[URI_MAX], target_base[URI_MAX], frag[URI_MAX];
    if (!gh__uri_resolve(base, ref, uri, sizeof(uri)))
        return fail(c, path, "a $ref that does not resolve: %s", ref), NULL;
    const char *hash = strchr(uri, '#');
    size_t dlen = hash ? (size_t)(hash - uri) : strlen(uri), flen;
    snprintf(doc, sizeof(doc), "%.*s", (int)dlen, uri);
    const resource *r = find_resource(c, hash && hash[1] != '/' ? uri : doc);
    if (!r && c->o->loader) {
        json_t *loaded = c->o->loader(doc, c->o->loader_arg);
        bool ok = loaded && add_document(c, loaded, doc);
        json_decref(loaded);
        if (!ok && !c->failed)
            return fail(c, path, "the $ref target cannot be loaded: %s", doc), NULL;
        r = find_resource(c, hash && hash[1] != '/' ? uri : doc);
    }
    if (!r)
        return fail(c, path, "a $ref to a schema outside the file (nothing is fetched): %s", uri), NULL;
    json_t *target = r->node;
    strcpy(target_base, r->base);
    if (hash && hash[1] == '/') {
        if (!gh__uri_unescape(hash + 1, strlen(hash + 1), frag, sizeof(frag), &flen))
            return fail(c, path, "a malformed $ref fragment: %s", ref), NULL;
        target = follow_pointer(target, frag, target_base);
        if (!target)
            return fail(c, path, "a $ref to nothing: %s", uri), NULL;
    }
    char tpath[PATH_MAX_LEN];
    snprintf(tpath, sizeof(tpath), "%s", hash ? hash : "#");
    return compile(c, target, target_base, hash && hash[1] == '/' ? tpath : path);
}

static gh_snode *memo_get(const compiler *c, const json_t *j)
{
    if (!c->memo_cap)
        return NULL;
    for (size_t i = ((uintptr_t)j >> 4) & (c->memo_cap - 1);; i = (i + 1) & (c->memo_cap - 1)) {
        if (!c->memo[i].json)
            return NULL;
        if (c->memo[i].json == j)
            return c->memo[i].node;
    }
}

static bool memo_put(compiler *c, const json_t *j, gh_snode *n)
{
    if (2 * (c->nmemo + 1) > c->memo_cap) {
        size_t ncap = c->memo_cap ? 2 * c->memo_cap : 64;
        memo *m = calloc(ncap, sizeof(*m));
        if (!m)
            return false;
        for (size_t i = 0; i < c->memo_cap; i++)
            if (c->memo[i].json)
                for (size_t k = ((uintptr_t)c->memo[i].json >> 4) & (ncap - 1);; k = (k + 1) & (ncap - 1))
                    if (!m[k].json) {
                        m[k] = c->memo[i];
                        break;
                    }
        free(c->memo);
        c->memo = m;
        c->memo_cap = ncap;
    }
    for (size_t i = ((uintptr_t)j >> 4) & (c->memo_cap - 1);; i = (i + 1) & (c->memo_cap - 1))
        if (!c->memo[i].json) {
            c->memo[i] = (memo){j, n};
            c->nmemo++;
            return true;
        }
}

/* A child path: path + "/" + key (JSON-pointer escaped). */
static void child(char *out, const char *path, const char *key)
{
    size_t n = (size_t)snprintf(out, PATH_MAX_LEN, "%s/", path);
    for (const char *k = key; *k && n + 3 < PATH_MAX_LEN; k++) {
        if (*k == '~' || *k == '/') {
            out[n++] = '~';
            out[n++] = *k == '~' ? '0' : '1';
        } else {
            out[n++] = *k;
        }
    }
    out[n < PATH_MAX_LEN ? n : PATH_MAX_LEN - 1] = '\0';
}

static void child_index(char *out, const char *path, const char *key, size_t i)
{
    snprintf(out, PATH_MAX_LEN, "%s/%s/%zu", path, key, i);
}

/* A value of the schema (const, enum) in the form instances take, kept in the schema's arena. */
static const gh_jv *instance_value(compiler *c, json_t *v, const char *path)
{
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    char *kept = text ? gh_arena_strdup(&c->s->arena, text) : NULL;
    free(text);
    const char *why = "out of memory";
    size_t at;
    gh_jv_limits lim = {1000, 1u << 30};
    const gh_jv *jv = kept ? gh_jv_parse(kept, strlen(kept), &lim, &c->s->arena, &why, &at) : NULL;
    if (!jv)
        fail(c, path, "a value that cannot be used: %s", why);
    return jv;
}

static bool number(compiler *c, json_t *v, const char *path, gh_snumber *out)
{
    if (!json_is_number(v))
        return fail(c, path, "expected a number", NULL);
    out->set = true;
    out->v = json_number_value(v);
    return true;
}

/* A non-negative integer (1.0 counts as 1). */
static bool count(compiler *c, json_t *v, const char *path, int64_t *out)
{
    double d = json_is_number(v) ? json_number_value(v) : -1;
    if (d < 0 || d != floor(d) || d > 9e15)
        return fail(c, path, "expected a non-negative integer", NULL);
    *out = (int64_t)d;
    return true;
}

/* ECMA-262 writes Unicode general categories by their long names (\p{Letter}); PCRE2 knows the
 * short ones. Every short name is shorter than its long one, so out needs at most strlen(src)
 * + 1 bytes: nothing is ever cut. */
static void short_categories(const char *src, char *out)
{
    static const char *const names[][2] = {
        {"Letter", "L"},          {"Lowercase_Letter", "Ll"}, {"Uppercase_Letter", "Lu"},
        {"Titlecase_Letter", "Lt"}, {"Modifier_Letter", "Lm"}, {"Other_Letter", "Lo"},
        {"Mark", "M"},            {"Number", "N"},            {"Decimal_Number", "Nd"},
        {"Letter_Number", "Nl"},  {"Other_Number", "No"},     {"Punctuation", "P"},
        {"Symbol", "S"},          {"Separator", "Z"},         {"Space_Separator", "Zs"},
        {"Other", "C"},           {"Control", "Cc"},          {"digit", "Nd"}};
    size_t n = 0;
    for (const char *p = src; *p;) {
        if (p[0] == '\\' && (p[1] == 'p' || p[1] == 'P') && p[2] == '{') {
            const char *close = strchr(p + 3, '}');
            size_t len = close ? (size_t)(close - p - 3) : 0;
            for (size_t i = 0; close && i < sizeof(names) / sizeof(names[0]); i++)
                if (strlen(names[i][0]) == len && strncmp(p + 3, names[i][0], len) == 0) {
                    n += (size_t)sprintf(out + n, "\\%c{%s}", p[1], names[i][1]);
                    p = close + 1;
                    goto next;
                }
        }
        if (p[0] == '\\' && p[1])
            out[n++] = *p++;
        out[n++] = *p++;
    next:;
    }
    out[n] = '\0';
}

static pcre2_code *regex(compiler *c, const char *src, const char *path)
{
    int code;
    PCRE2_SIZE off;
    size_t len = strlen(src);
    if (len > GH_SCHEMA_MAX_PATTERN) {
        char limit[32];
        snprintf(limit, sizeof(limit), "%d", GH_SCHEMA_MAX_PATTERN);
        fail(c, path, "a regular expression longer than %s characters", limit);
        return NULL;
    }
    char *translated = malloc(len + 1);
    if (!translated) {
        fail(c, path, "out of memory", NULL);
        return NULL;
    }
    short_categories(src, translated);
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)translated, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &code, &off, NULL);
    free(translated);
    if (!re) {
        PCRE2_UCHAR msg[120];
        pcre2_get_error_message(code, msg, sizeof(msg));
        fail(c, path, "not a usable regular expression: %s", (const char *)msg);
        return NULL;
    }
    if (!keep((void **)&c->s->codes, &c->s->ncodes, &c->s->codes_cap, sizeof(re), &re)) {
        pcre2_code_free(re);
        return NULL;
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* faster when available; optional */
    const char *risk = c->o->warn ? gh__schema_regex_risk(src) : NULL;
    if (risk)
        c->o->warn(c->o->warn_arg, path, risk);
    return re;
}

static gh_snode **schema_list(compiler *c, json_t *v, const char *base, const char *path,
                              const char *key, size_t *n, bool nonempty)
{
    if (!json_is_array(v) || (nonempty && json_array_size(v) == 0))
        return fail(c, path, nonempty ? "expected a non-empty array of schemas" : "expected an array of schemas", NULL), NULL;
    *n = json_array_size(v);
    gh_snode **list = gh_arena_zalloc(&c->s->arena, (*n ? *n : 1) * sizeof(*list));
    char p[PATH_MAX_LEN];
    for (size_t i = 0; list && i < *n; i++) {
        child_index(p, path, key, i);
        if (!(list[i] = compile(c, json_array_get(v, i), base, p)))
            return NULL;
    }
    return list;
}

static const char **string_list(compiler *c, json_t *v, const char *path, size_t *n)
{
    if (!json_is_array(v))
        return fail(c, path, "expected an array of strings", NULL), NULL;
    *n = json_array_size(v);
    const char **list = gh_arena_zalloc(&c->s->arena, (*n ? *n : 1) * sizeof(*list));
    for (size_t i = 0; list && i < *n; i++) {
        json_t *s = json_array_get(v, i);
        if (!json_is_string(s))
            return fail(c, path, "expected an array of strings", NULL), NULL;
        list[i] = json_string_value(s); /* the document is held */
    }
    return list;
}

static unsigned type_bit(const char *t)
{
    static const char *const names[] = {"null", "boolean", "object", "array", "number", "string", "integer"};
    for (unsigned i = 0; i < 7; i++)
        if (strcmp(t, names[i]) == 0)
            return 1u << i;
    return 0;
}

/* Objects whose values are schemas (properties, dependentSchemas) or arrays of names. */
static gh_snamed *named(compiler *c, json_t *v, const char *base, const char *path, size_t *n, bool names)
{
    if (!json_is_object(v))
        return fail(c, path, names ? "expected an object of string arrays" : "expected an object of schemas", NULL), NULL;
    *n = json_object_size(v);
    gh_snamed *out = gh_arena_zalloc(&c->s->arena, (*n ? *n : 1) * sizeof(*out));
    const char *k;
    json_t *item;
    size_t i = 0;
    char p[PATH_MAX_LEN];
    json_object_foreach(v, k, item) {
        if (!out)
            return NULL;
        child(p, path, k);
        out[i].name = k;
        out[i].len = strlen(k);
        if (names ? !(out[i].names = string_list(c, item, p, &out[i].nnames))
                  : !(out[i].schema = compile(c, item, base, p)))
            return NULL;
        i++;
    }
    return out;
}

/* "type": a name or an array of names. */
static bool types(compiler *c, gh_snode *n, json_t *v, const char *p)
{
    if (json_is_string(v)) {
        if (!(n->types = type_bit(json_string_value(v))))
            return fail(c, p, "unknown type '%s'", json_string_value(v));
    } else if (json_is_array(v)) {
        size_t i;
        json_t *t;
        json_array_foreach(v, i, t) {
            unsigned b = json_is_string(t) ? type_bit(json_string_value(t)) : 0;
            if (!b)
                return fail(c, p, "unknown type '%s'", json_is_string(t) ? json_string_value(t) : "(not a string)");
            n->types |= b;
        }
    }
    if (!n->types)
        return fail(c, p, "expected a type name or an array of them", NULL);
    return true;
}

static bool pattern_properties(compiler *c, gh_snode *n, json_t *v, const char *base, const char *p)
{
    if (!json_is_object(v))
        return fail(c, p, "expected an object of schemas", NULL);
    n->npattern_properties = json_object_size(v);
    n->pattern_properties = gh_arena_zalloc(&c->s->arena, (n->npattern_properties + 1) * sizeof(gh_spattern));
    const char *re;
    json_t *item;
    size_t i = 0;
    char p2[PATH_MAX_LEN];
    json_object_foreach(v, re, item) {
        child(p2, p, re);
        if (!n->pattern_properties || !(n->pattern_properties[i].re = regex(c, re, p2)) ||
            !(n->pattern_properties[i].schema = compile(c, item, base, p2)))
            return false;
        i++;
    }
    return true;
}

/* The keywords whose values are schemas (applicators, references, definitions); any other
 * keyword is ignored, as the specification asks of unknown ones. False after reporting. */
static bool applicator(compiler *c, gh_snode *n, const char *k, json_t *v, const char *base,
                       const char *path)
{
    char p[PATH_MAX_LEN];
    child(p, path, k);
    if (strcmp(k, "patternProperties") == 0)
        return pattern_properties(c, n, v, base, p);
    if (strcmp(k, "prefixItems") == 0)
        return (n->prefix = schema_list(c, v, base, path, k, &n->nprefix, false)) != NULL;
    if (strcmp(k, "allOf") == 0 || strcmp(k, "anyOf") == 0 || strcmp(k, "oneOf") == 0) {
        size_t *count_of = k[0] == 'a' ? (k[1] == 'l' ? &n->nall_of : &n->nany_of) : &n->none_of;
        gh_snode ***list = k[0] == 'a' ? (k[1] == 'l' ? &n->all_of : &n->any_of) : &n->one_of;
        return (*list = schema_list(c, v, base, path, k, count_of, true)) != NULL;
    }
    if (strcmp(k, "$ref") == 0) {
        if (!json_is_string(v))
            return fail(c, p, "expected a URI reference", NULL);
        return (n->ref = resolve_ref(c, json_string_value(v), base, p)) != NULL;
    }
    if (strcmp(k, "$defs") == 0 || strcmp(k, "definitions") == 0) {
        size_t ndefs;
        return named(c, v, base, p, &ndefs, false) != NULL;
    }
    static const char *const single[] = {"items", "contains", "additionalProperties",
                                         "propertyNames", "unevaluatedItems",
                                         "unevaluatedProperties", "not", "if", "then", "else", NULL};
    gh_snode **slot[] = {&n->items, &n->contains, &n->additional_properties,
                         &n->property_names, &n->unevaluated_items,
                         &n->unevaluated_properties, &n->not_, &n->if_, &n->then_, &n->else_};
    for (size_t i = 0; single[i]; i++)
        if (strcmp(k, single[i]) == 0)
            return (*slot[i] = compile(c, v, base, p)) != NULL;
    return true;
}

static bool keywords(compiler *c, gh_snode *n, json_t *j, const char *base, const char *path)
{
    n->min_length = n->max_length = n->max_contains = n->min_items = n->max_items = -1;
    n->min_properties = n->max_properties = -1;
    n->min_contains = 1;
    const char *k;
    json_t *v;
    char p[PATH_MAX_LEN];
    json_object_foreach(j, k, v) {
        child(p, path, k);
        if (strcmp(k, "type") == 0) {
            if (!types(c, n, v, p))
                return false;
        } else if (strcmp(k, "const") == 0) {
            if (!(n->const_v = instance_value(c, v, p)))
                return false;
        } else if (strcmp(k, "enum") == 0) {
            if (!json_is_array(v))
                return fail(c, p, "expected an array", NULL);
            if (!(n->enum_v = instance_value(c, v, p)))
                return false;
        } else if (strcmp(k, "minimum") == 0 ? !number(c, v, p, &n->minimum)
                   : strcmp(k, "maximum") == 0 ? !number(c, v, p, &n->maximum)
                   : strcmp(k, "exclusiveMinimum") == 0 ? !number(c, v, p, &n->xminimum)
                   : strcmp(k, "exclusiveMaximum") == 0 ? !number(c, v, p, &n->xmaximum)
                   : false) {
            return false;
        } else if (strcmp(k, "multipleOf") == 0) {
            if (!number(c, v, p, &n->multiple_of) || n->multiple_of.v <= 0)
                return fail(c, p, "expected a number above 0", NULL);
        } else if (strcmp(k, "minLength") == 0 ? !count(c, v, p, &n->min_length)
                   : strcmp(k, "maxLength") == 0 ? !count(c, v, p, &n->max_length)
                   : strcmp(k, "minItems") == 0 ? !count(c, v, p, &n->min_items)
                   : strcmp(k, "maxItems") == 0 ? !count(c, v, p, &n->max_items)
                   : strcmp(k, "minContains") == 0 ? !count(c, v, p, &n->min_contains)
                   : strcmp(k, "maxContains") == 0 ? !count(c, v, p, &n->max_contains)
                   : strcmp(k, "minProperties") == 0 ? !count(c, v, p, &n->min_properties)
                   : strcmp(k, "maxProperties") == 0 ? !count(c, v, p, &n->max_properties)
                   : false) {
            return false;
        } else if (strcmp(k, "pattern") == 0) {
            if (!json_is_string(v))
                return fail(c, p, "expected a regular expression", NULL);
            if (!(n->pattern = regex(c, json_string_value(v), p)))
                return false;
        } else if (strcmp(k, "format") == 0) {
            if (!json_is_string(v))
                return fail(c, p, "expected a format name", NULL);
            n->format = json_string_value(v);
        } else if (strcmp(k, "uniqueItems") == 0) {
            if (!json_is_boolean(v))
                return fail(c, p, "expected true or false", NULL);
            n->unique_items = json_is_true(v);
        } else if (strcmp(k, "required") == 0) {
            if (!(n->required = string_list(c, v, p, &n->nrequired)))
                return false;
        } else if (strcmp(k, "properties") == 0) {
            if (!(n->properties = named(c, v, base, p, &n->nproperties, false)))
                return false;
        } else if (strcmp(k, "dependentSchemas") == 0) {
            if (!(n->dependent_schemas = named(c, v, base, p, &n->ndependent_schemas, false)))
                return false;
        } else if (strcmp(k, "dependentRequired") == 0) {
            if (!(n->dependent_required = named(c, v, base, p, &n->ndependent_required, true)))
                return false;
        } else if (!applicator(c, n, k, v, base, path)) {
            return false;
        }
    }
    return !c->failed;
}

static gh_snode *compile(compiler *c, json_t *j, const char *outer, const char *path)
{
    if (c->failed)
        return NULL;
    gh_snode *n = memo_get(c, j);
    if (n)
        return n;
    if (!json_is_object(j) && !json_is_boolean(j))
        return fail(c, path, "a schema is an object or a boolean", NULL), NULL;
    n = gh_arena_zalloc(&c->s->arena, sizeof(*n));
    if (!n || !memo_put(c, j, n))
        return fail(c, path, "out of memory", NULL), NULL;
    n->path = gh_arena_strdup(&c->s->arena, path);
    if (json_is_boolean(j)) {
        n->boolean = json_is_true(j);
        return n;
    }
    n->boolean = -1;
    if (c->depth >= MAX_NESTING)
        return fail(c, path, "subschemas nested more than 128 deep", NULL), NULL;
    char base[URI_MAX];
    if (!base_of(j, outer, base))
        return fail(c, path, "an $id that does not resolve", NULL), NULL;
    c->depth++;
    bool ok = keywords(c, n, j, base, path);
    c->depth--;
    return ok ? n : NULL;
}

gh_schema *gh_schema_compile(json_t *doc, const gh_schema_options *o, char *err, size_t errlen)
{
    gh_schema *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    gh_arena_init(&s->arena, 16384, 64u << 20);
    s->format_assertion = o->format_assertion;
    compiler c = {.s = s, .o = o, .err = err, .errlen = errlen};
    static const char root_uri[] = "https://gatehouse.invalid/schema.json";
    if (add_document(&c, doc, root_uri))
        s->root = compile(&c, doc, root_uri, "#");
    free(c.res);
    free(c.memo);
    if (!s->root || c.failed) {
        if (!c.failed)
            snprintf(err, errlen, "#: the schema could not be compiled");
        gh_schema_free(s);
        return NULL;
    }
    return s;
}

void gh_schema_free(gh_schema *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->ncodes; i++)
        pcre2_code_free(s->codes[i]);
    for (size_t i = 0; i < s->ndocs; i++)
        json_decref(s->docs[i]);
    free(s->codes);
    free(s->docs);
    gh_arena_free(&s->arena);
    free(s);
}
