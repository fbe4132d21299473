#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/jv.h"
#include "core/siphash.h"

typedef struct parser {
    const char *p, *end, *start;
    const gh_jv_limits *lim;
    gh_arena *a;
    const char *why;
    uint32_t depth;
    gh_jv *vals; /* items of the arrays being parsed, innermost last */
    size_t nvals, capv;
    gh_jmember *mems; /* members of the objects being parsed */
    size_t nmems, capm;
    gh_sipkey key; /* for the duplicate-key table, drawn when first needed */
    int keyed;     /* 0: not yet drawn, 1: drawn, -1: none to be had (sort instead) */
} parser;

static bool fail(parser *ps, const char *why)
{
    if (!ps->why)
        ps->why = why;
    return false;
}

static void skip_ws(parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\r' || *ps->p == '\t'))
        ps->p++;
}

static bool grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    size_t ncap = *cap ? *cap * 2 : 64;
    while (ncap < need)
        ncap *= 2;
    void *p = realloc(*arr, ncap * elem);
    if (!p)
        return false;
    *arr = p;
    *cap = ncap;
    return true;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static int hex4(const char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p[i]);
        if (h < 0)
            return -1;
        v = v << 4 | h;
    }
    return v;
}

static size_t put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18);
    o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* The length of the UTF-8 sequence at p (RFC 3629), or 0 when it is not one. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned char b = p[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF)
        n = 2;
    else if (b >= 0xE0 && b <= 0xEF)
        n = 3, lo = b == 0xE0 ? 0xA0 : 0x80, hi = b == 0xED ? 0x9F : 0xBF;
    else if (b >= 0xF0 && b <= 0xF4)
        n = 4, lo = b == 0xF0 ? 0x90 : 0x80, hi = b == 0xF4 ? 0x8F : 0xBF;
    else
        return 0;
    if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return n;
}

/* A string at ps->p (its opening quote): its bytes, unescaped (into the arena when it has
 * escapes, else pointing into the text). */
static bool parse_string(parser *ps, const char **out, uint32_t *outlen)
{
    const char *s = ++ps->p;
    bool escaped = false;
    while (ps->p < ps->end && *ps->p != '"') {
        unsigned char c = (unsigned char)*ps->p;
        if (c < 0x20)
            return fail(ps, "a control character in a string");
        if (c == '\\') {
            escaped = true;
            ps->p += 2;
        } else if (c >= 0x80) {
            size_t n = utf8_seq((const unsigned char *)ps->p, (const unsigned char *)ps->end);
            if (!n)
                return fail(ps, "a string that is not UTF-8");
            ps->p += n;
        } else {
            ps->p++;
        }
    }
    if (ps->p >= ps->end) {
        ps->p = ps->end; /* an escape may have stepped past it */
        return fail(ps, "a string that does not end");
    }
    size_t raw = (size_t)(ps->p - s);
    ps->p++;
    if (raw > ps->lim->max_string)
        return fail(ps, "a string longer than the limit");
    if (!escaped) {
        *out = s;
        *outlen = (uint32_t)raw;
        return true;
    }
    char *o = gh_arena_alloc(ps->a, raw + 1);
    if (!o)
        return fail(ps, "out of memory");
    size_t n = 0;
    for (const char *q = s; q < s + raw;) {
        if (*q != '\\') {
            o[n++] = *q++;
            continue;
        }
        char e = q[1];
        q += 2;
        const char *simple = strchr("\"\\/bfnrt", e);
        if (e && simple) {
            o[n++] = "\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"];
            continue;
        }
        int cp = e == 'u' && s + raw - q >= 4 ? hex4(q) : -1;
        if (cp < 0)
            return fail(ps, "a malformed escape in a string");
        q += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            int lo = s + raw - q >= 6 && q[0] == '\\' && q[1] == 'u' ? hex4(q + 2) : -1;
            if (lo < 0xDC00 || lo > 0xDFFF)
                return fail(ps, "a lone surrogate in a string");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            q += 6;
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return fail(ps, "a lone surrogate in a string");
        }
        n += put_utf8(o + n, (uint32_t)cp);
    }
    *out = o;
    *outlen = (uint32_t)n;
    return true;
}

static bool parse_number(parser *ps, gh_jv *v)
{
    const char *s = ps->p, *p = s;
    if (p < ps->end && *p == '-')
        p++;
    if (p >= ps->end || !(*p >= '0' && *p <= '9'))
        return fail(ps, "a malformed number");
    if (*p == '0')
        p++;
    else
        while (p < ps->end && *p >= '0' && *p <= '9')
            p++;
    bool plain = true;
    if (p < ps->end && *p == '.') {
        plain = false;
        const char *f = ++p;
        while (p < ps->end && *p >= '0' && *p <= '9')
            p++;
        if (p == f)
            return fail(ps, "a malformed number");
    }
    if (p < ps->end && (*p == 'e' || *p == 'E')) {
        plain = false;
        p++;
        if (p < ps->end && (*p == '+' || *p == '-'))
            p++;
        const char *e = p;
        while (p < ps->end && *p >= '0' && *p <= '9')
            p++;
        if (p == e)
            return fail(ps, "a malformed number");
    }
    size_t len = (size_t)(p - s);
    v->type = GH_JV_NUMBER;
    /* Up to 15 digits and no exponent: the digits are exact in a double, and so is a power of
     * ten up to 1e22, so one correctly rounded division gives what strtod would. */
    uint64_t m = 0;
    int digits = 0, frac = -1;
    bool fast = len <= 17;
    for (const char *q = *s == '-' ? s + 1 : s; fast && q < p; q++) {
        if (*q == '.') {
            frac = 0;
        } else if (*q >= '0' && *q <= '9') {
            m = m * 10 + (uint64_t)(*q - '0');
            digits++;
            frac += frac >= 0;
        } else {
            fast = false; /* an exponent */
        }
    }
    if (fast && digits <= 15) {
        static const double pow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8,
                                       1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16};
        double x = frac > 0 ? (double)m / pow10[frac] : (double)m;
        v->u.num = *s == '-' ? -x : x;
        v->integral = plain || x == floor(x);
    } else {
        char buf[64];
        if (len >= sizeof(buf))
            return fail(ps, "a number longer than 63 characters");
        memcpy(buf, s, len);
        buf[len] = '\0';
        v->u.num = strtod(buf, NULL);
        if (!isfinite(v->u.num))
            return fail(ps, "a number out of range");
        v->integral = v->u.num == floor(v->u.num);
    }
    ps->p = p;
    return true;
}

static bool literal(parser *ps, const char *word, size_t n, gh_jv_type t, gh_jv *v)
{
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
        return fail(ps, "an unexpected character");
    ps->p += n;
    v->type = (uint8_t)t;
    return true;
}

static bool parse_value(parser *ps, gh_jv *v);

/* Probes one key may take in the duplicate-key table before the object is checked by sorting
 * instead: with a keyed hash a chain this long does not happen by chance, so the bound only
 * caps the cost of an unlucky or hostile layout. */
#define GH_JV_MAX_PROBE 64

static int by_key(const void *a, const void *b)
{
    const gh_jmember *x = *(const gh_jmember *const *)a, *y = *(const gh_jmember *const *)b;
    if (x->klen != y->klen)
        return x->klen < y->klen ? -1 : 1;
    return memcmp(x->key, y->key, x->klen);
}

/* Duplicates found by sorting: n log n comparisons whatever the keys are. */
static bool unique_sorted(parser *ps, const gh_jmember *m, size_t n)
{
    const gh_jmember **order = malloc(n * sizeof(*order));
    if (!order)
        return fail(ps, "out of memory");
    for (size_t i = 0; i < n; i++)
        order[i] = &m[i];
    qsort(order, n, sizeof(*order), by_key);
    bool ok = true;
    for (size_t i = 1; ok && i < n; i++)
        if (by_key(&order[i - 1], &order[i]) == 0)
            ok = fail(ps, "a duplicate key in an object");
    free(order);
    return ok;
}

/* Inserts member i in the table; 1 placed, 0 a duplicate, -1 the probe bound was reached. */
static int place(uint32_t *slots, size_t cap, const gh_jmember *m, size_t i, uint64_t h)
{
    size_t s = h & (cap - 1);
    for (size_t probes = 0; probes < GH_JV_MAX_PROBE; probes++, s = (s + 1) & (cap - 1)) {
        if (!slots[s]) {
            slots[s] = (uint32_t)i + 1;
            return 1;
        }
        const gh_jmember *o = &m[slots[s] - 1];
        if (o->klen == m[i].klen && memcmp(o->key, m[i].key, o->klen) == 0)
            return 0;
    }
    return -1;
}

/* Duplicate keys among the n members at m: pairwise for small objects, hashed beyond, under a
 * key drawn for this parse (a client cannot choose keys that share a chain). */
static bool unique_keys(parser *ps, const gh_jmember *m, size_t n)
{
    if (n <= 16) {
        for (size_t i = 0; i < n; i++)
            for (size_t j = i + 1; j < n; j++)
                if (m[i].klen == m[j].klen && memcmp(m[i].key, m[j].key, m[i].klen) == 0)
                    return fail(ps, "a duplicate key in an object");
        return true;
    }
    if (!ps->keyed)
        ps->keyed = gh_sipkey_random(&ps->key) ? 1 : -1;
    if (ps->keyed < 0)
        return unique_sorted(ps, m, n);
    size_t cap = 32;
    while (cap < 2 * n)
        cap *= 2;
    uint32_t *slots = calloc(cap, sizeof(*slots));
    if (!slots)
        return fail(ps, "out of memory");
    int r = 1;
    for (size_t i = 0; r == 1 && i < n; i++)
        r = place(slots, cap, m, i, gh_siphash13(&ps->key, m[i].key, m[i].klen));
    free(slots);
    if (r < 0)
        return unique_sorted(ps, m, n);
    return r ? true : fail(ps, "a duplicate key in an object");
}

/* A container's elements up to its closing character, each parsed (and pushed on the parser's
 * stack) by one, separated by commas. */
static bool elements(parser *ps, char close, bool (*one)(parser *), const char *missing)
{
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return true;
    }
    for (;;) {
        if (!one(ps))
            return false;
        skip_ws(ps);
        char c = ps->p < ps->end ? *ps->p : '\0';
        if (c != ',' && c != close)
            return fail(ps, missing);
        ps->p++;
        if (c == close)
            return true;
    }
}

static bool one_member(parser *ps)
{
    skip_ws(ps);
    if (ps->p >= ps->end || *ps->p != '"')
        return fail(ps, "an object key that is not a string");
    gh_jmember m = {0};
    if (!parse_string(ps, &m.key, &m.klen))
        return false;
    skip_ws(ps);
    if (ps->p >= ps->end || *ps->p++ != ':')
        return fail(ps, "a missing ':' after an object key");
    if (!parse_value(ps, &m.value))
        return false;
    if (!grow((void **)&ps->mems, &ps->capm, ps->nmems + 1, sizeof(m)))
        return fail(ps, "out of memory");
    ps->mems[ps->nmems++] = m;
    return true;
}

static bool one_item(parser *ps)
{
    gh_jv item = {0};
    if (!parse_value(ps, &item))
        return false;
    if (!grow((void **)&ps->vals, &ps->capv, ps->nvals + 1, sizeof(item)))
        return fail(ps, "out of memory");
    ps->vals[ps->nvals++] = item;
    return true;
}

/* The n elements on top of a stack, moved into the arena. */
static void *settle(parser *ps, const void *top, size_t n, size_t elem)
{
    void *out = n ? gh_arena_alloc(ps->a, n * elem) : NULL;
    if (n && !out)
        fail(ps, "out of memory");
    else if (n)
        memcpy(out, top, n * elem);
    return out;
}

static bool parse_object(parser *ps, gh_jv *v)
{
    size_t mark = ps->nmems;
    if (!elements(ps, '}', one_member, "a missing ',' or '}' in an object"))
        return false;
    size_t n = ps->nmems - mark;
    const gh_jmember *top = n ? ps->mems + mark : NULL; /* no stack yet for {}: NULL + 0 is UB */
    if (!unique_keys(ps, top, n))
        return false;
    v->type = GH_JV_OBJECT;
    v->len = (uint32_t)n;
    v->u.members = settle(ps, top, n, sizeof(gh_jmember));
    ps->nmems = mark;
    return !ps->why;
}

static bool parse_array(parser *ps, gh_jv *v)
{
    size_t mark = ps->nvals;
    if (!elements(ps, ']', one_item, "a missing ',' or ']' in an array"))
        return false;
    size_t n = ps->nvals - mark;
    v->type = GH_JV_ARRAY;
    v->len = (uint32_t)n;
    v->u.items = settle(ps, n ? ps->vals + mark : NULL, n, sizeof(gh_jv));
    ps->nvals = mark;
    return !ps->why;
}

static bool parse_value(parser *ps, gh_jv *v)
{
    skip_ws(ps);
    if (ps->p >= ps->end)
        return fail(ps, "the text ends before a value");
    switch (*ps->p) {
    case '{':
    case '[': {
        if (++ps->depth > ps->lim->max_depth)
            return fail(ps, "nested deeper than the limit");
        bool ok = *ps->p == '{' ? parse_object(ps, v) : parse_array(ps, v);
        ps->depth--;
        return ok;
    }
    case '"':
        v->type = GH_JV_STRING;
        return parse_string(ps, &v->u.str, &v->len);
    case 't':
        return literal(ps, "true", 4, GH_JV_TRUE, v);
    case 'f':
        return literal(ps, "false", 5, GH_JV_FALSE, v);
    case 'n':
        return literal(ps, "null", 4, GH_JV_NULL, v);
    default:
        if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
            return parse_number(ps, v);
        return fail(ps, "an unexpected character");
    }
}

const gh_jv *gh_jv_parse(const char *text, size_t len, const gh_jv_limits *lim, gh_arena *a,
                         const char **why, size_t *at)
{
    parser ps = {.p = text, .end = text + len, .start = text, .lim = lim, .a = a};
    gh_jv *root = gh_arena_zalloc(a, sizeof(*root));
    bool ok = root && parse_value(&ps, root);
    if (ok) {
        skip_ws(&ps);
        if (ps.p != ps.end)
            ok = fail(&ps, "characters after the value");
    }
    free(ps.vals);
    free(ps.mems);
    if (!ok) {
        *why = ps.why ? ps.why : "out of memory";
        *at = (size_t)(ps.p - text);
        return NULL;
    }
    return root;
}

const gh_jv *gh_jv_get(const gh_jv *obj, const char *key, size_t len)
{
    for (uint32_t i = 0; obj->type == GH_JV_OBJECT && i < obj->len; i++)
        if (obj->u.members[i].klen == len && memcmp(obj->u.members[i].key, key, len) == 0)
            return &obj->u.members[i].value;
    return NULL;
}

bool gh_jv_equal(const gh_jv *a, const gh_jv *b)
{
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case GH_JV_NUMBER:
        return a->u.num == b->u.num;
    case GH_JV_STRING:
        return a->len == b->len && memcmp(a->u.str, b->u.str, a->len) == 0;
    case GH_JV_ARRAY:
        if (a->len != b->len)
            return false;
        for (uint32_t i = 0; i < a->len; i++)
            if (!gh_jv_equal(&a->u.items[i], &b->u.items[i]))
                return false;
        return true;
    case GH_JV_OBJECT:
        if (a->len != b->len)
            return false;
        for (uint32_t i = 0; i < a->len; i++) {
            const gh_jv *w = gh_jv_get(b, a->u.members[i].key, a->u.members[i].klen);
            if (!w || !gh_jv_equal(&a->u.members[i].value, w))
                return false;
        }
        return true;
    default:
        return true;
    }
}
