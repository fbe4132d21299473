/* Bodies: request bodies a route's body control (content_types, schema, max_depth) must refuse.
 * Every case first shows that a body the route's schema accepts gets through (built from the
 * schema file and checked against the compiled schema), then sends the same body bent one way
 * and expects a refusal with nothing forwarded: an answer below 400 from a proxied route means
 * the upstream had it. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "probe/probe_internal.h"

#define OWASP_BOPLA "API3:2023"
#define OWASP_RESOURCES "API4:2023"
#define OWASP_MISCONFIG "API8:2023"

/* What a case works with: the route, a method that carries a body, the JSON media type the
 * route takes, a valid body and the schema document it was built from. */
typedef struct body_aim {
    const gh_probe_route *route;
    const char *method;
    const char *json_type;
    json_t *valid;  /* owned */
    json_t *schema; /* owned, NULL without a schema */
} body_aim;

static const char *body_method(const gh_route_conf *c)
{
    static const struct {
        unsigned bit;
        const char *name;
    } order[] = {{GH_M_POST, "POST"}, {GH_M_PUT, "PUT"}, {GH_M_PATCH, "PATCH"}};
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
        if (!c->methods || (c->methods & order[i].bit))
            return order[i].name;
    return NULL;
}

/* Whether the route's body.content_types take the media type t (a listed type, or a listed
 * whole type such as image/ followed by a star); any type when none are listed. */
static bool takes_type(const gh_body_conf *b, const char *t)
{
    if (!b->ncontent_types)
        return true;
    for (size_t i = 0; i < b->ncontent_types; i++) {
        const char *a = b->content_types[i];
        size_t alen = strlen(a);
        if (strcasecmp(a, t) == 0 ||
            (alen > 2 && strcmp(a + alen - 2, "/*") == 0 && strncasecmp(t, a, alen - 1) == 0))
            return true;
    }
    return false;
}

/* The JSON media type the route takes: application/json, else a listed +json type. */
static const char *json_type_of(const gh_body_conf *b)
{
    if (takes_type(b, "application/json"))
        return "application/json";
    for (size_t i = 0; i < b->ncontent_types; i++) {
        size_t n = strlen(b->content_types[i]);
        if (n > 5 && strcmp(b->content_types[i] + n - 5, "+json") == 0)
            return b->content_types[i];
    }
    return NULL;
}

static bool takes_json(gh_probe *p, const gh_probe_route *r)
{
    (void)p;
    const gh_route_conf *c = r->conf;
    return c && c->body && r->proxied && body_method(c) && json_type_of(c->body);
}

static bool validates(gh_probe *p, const gh_probe_route *r)
{
    return takes_json(p, r) && r->conf->body->schema;
}

/* A route that names its content types or validates JSON: it refuses other types. */
static bool names_types(gh_probe *p, const gh_probe_route *r)
{
    return takes_json(p, r) && (r->conf->body->ncontent_types || r->conf->body->schema);
}

static void aim_free(body_aim *a)
{
    json_decref(a->valid);
    json_decref(a->schema);
    *a = (body_aim){0};
}

static const char *dump(gh_probe *p, const json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    const char *out = gh_arena_strdup(&p->arena, s ? s : "{}");
    free(s);
    return out;
}

/* A request to the aimed route: its authentication, the given header lines (may be ""), and a
 * body of blen bytes (any bytes: a compressed body holds NULs). NULL when out of memory. */
static const char *with_body(gh_probe *p, const body_aim *a, const char *method, const char *lines,
                             const char *body, size_t blen, size_t *len)
{
    const gh_probe_route *r = a->route;
    const char *head =
        gh_arena_printf(&p->arena,
                        "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: " GH_PROBE_UA
                        "\r\n%s%sContent-Length: %zu\r\n\r\n",
                        method, r->path, r->host, gh_probe_auth_lines(p, r), lines, blen);
    size_t hlen = head ? strlen(head) : 0;
    char *out = head ? gh_arena_alloc(&p->arena, hlen + blen + 1) : NULL;
    if (!out)
        return NULL;
    memcpy(out, head, hlen);
    memcpy(out + hlen, body, blen);
    out[hlen + blen] = '\0';
    *len = hlen + blen;
    return out;
}

static const char *typed(gh_probe *p, const char *type)
{
    return gh_arena_printf(&p->arena, "Content-Type: %s\r\n", type);
}

/* A valid body for route, and that body shown to get through. false with r skipped. */
static bool aim_at(gh_probe *p, gh_probe_result *r, const gh_probe_route *route, body_aim *a)
{
    *a = (body_aim){.route = route};
    gh_probe_aim(p, r, a->route->conf);
    a->method = body_method(a->route->conf);
    a->json_type = json_type_of(a->route->conf->body);
    a->valid = gh_probe_body_sample(p, a->route->conf, &a->schema);
    if (!a->valid) {
        gh_probe_skip(r, "no body the route's schema accepts could be built from the schema file");
        return false;
    }
    const char *text = dump(p, a->valid);
    size_t len;
    const char *bytes =
        with_body(p, a, a->method, typed(p, a->json_type), text, strlen(text), &len);
    gh_probe_exchange x;
    if (!bytes)
        gh_probe_error(r, "out of memory");
    if (!bytes ||
        gh_probe_send(p, r, a->route->target, bytes, len, &(gh_probe_opts){.responses = 1}, &x)) {
        aim_free(a);
        return false;
    }
    int status = x.nresponses ? x.r[0].status : 0;
    if (status > 0 && status < 400) {
        if (p->server) { /* the baseline's forwarding is not the case's */
            gh_probe_upreq *v = NULL;
            gh_probe_upreqs_free(v, gh_probe_upstream_take(p->server, &v));
        }
        return true;
    }
    gh_probe_note(p, r, &x);
    gh_probe_skip(r,
                  "a valid body (%s) to %s %s is refused too (%d): the attempt would prove nothing",
                  text, a->method, a->route->path, status);
    aim_free(a);
    return false;
}

/* The route the case aims at (want), a valid body for it, and that body shown to get through.
 * false with r skipped. */
static bool aim(gh_probe *p, gh_probe_result *r, bool (*want)(gh_probe *, const gh_probe_route *),
                body_aim *a)
{
    const gh_probe_route *route = gh_probe_find_route(p, want);
    if (!route) {
        gh_probe_skip(r, want == validates ? "no proxied route validates JSON bodies (body.schema)"
                         : want == names_types
                             ? "no proxied route names its body.content_types or a schema"
                             : "no proxied route takes JSON bodies (body)");
        return false;
    }
    return aim_at(p, r, route, a);
}

/* Sends body (blen bytes) with the header lines and expects a refusal in [lo, hi]. */
static void expect_refused(gh_probe *p, gh_probe_result *r, const body_aim *a, const char *lines,
                           const char *body, size_t blen, int lo, int hi, const char *what)
{
    size_t len;
    const char *bytes = with_body(p, a, a->method, lines, body, blen, &len);
    if (!bytes) {
        gh_probe_error(r, "out of memory");
        return;
    }
    gh_probe_expect_refusal(p, r, a->route, bytes, len, lo, hi, what, NULL);
}

/* The valid body's text with member name's value written as raw (any bytes, JSON or not); the
 * member is added when the body has none of that name. */
static const char *with_raw(gh_probe *p, const body_aim *a, const char *name, const char *raw)
{
    static const char mark[] = "\x01probe-mark\x01";
    json_t *v = json_deep_copy(a->valid);
    json_object_set_new(v, name, json_string(mark));
    const char *text = dump(p, v);
    json_decref(v);
    const char *at = strstr(text, "\"\\u0001probe-mark\\u0001\"");
    if (!at)
        return text;
    return gh_arena_printf(&p->arena, "%.*s%s%s", (int)(at - text), text, raw, at + 24);
}

/* A property of the schema of kind (falling back to the other kinds given), or "probe". */
static const char *property(gh_probe *p, const body_aim *a, const char *kind, const char *other)
{
    const char *name = a->schema ? gh_probe_schema_property(p, a->schema, a->valid, kind) : NULL;
    if (!name && other && a->schema)
        name = gh_probe_schema_property(p, a->schema, a->valid, other);
    return name ? name : "probe";
}

/* ---- content types ---- */

static void charset_utf7(gh_probe *p, gh_probe_result *r)
{
    body_aim a;
    if (!aim(p, r, validates, &a))
        return;
    /* In UTF-7 the string ends and a role member follows: x","role":"admin */
    const char *body =
        with_raw(p, &a, property(p, &a, "string", NULL), "\"x+ACIALAAi-role+ACIAOgAi-admin\"");
    expect_refused(p, r, &a, typed(p, gh_arena_printf(&p->arena, "%s; charset=utf-7", a.json_type)),
                   body, strlen(body), 400, 415,
                   "a JSON body declared charset=utf-7, hiding a role member in UTF-7");
    aim_free(&a);
}

static void text_plain(gh_probe *p, gh_probe_result *r)
{
    body_aim a;
    if (!aim(p, r, names_types, &a))
        return;
    if (takes_type(a.route->conf->body, "text/plain") && !a.route->conf->body->schema) {
        gh_probe_skip(r, "the route's body.content_types take text/plain");
        aim_free(&a);
        return;
    }
    const char *body = dump(p, a.valid);
    expect_refused(p, r, &a, typed(p, "text/plain"), body, strlen(body), 400, 415,
                   "a valid JSON body sent as text/plain");
    aim_free(&a);
}

static void json_patch(gh_probe *p, gh_probe_result *r)
{
    body_aim a;
    if (!aim(p, r, names_types, &a))
        return;
    if (takes_type(a.route->conf->body, "application/json-patch+json") &&
        !a.route->conf->body->schema) {
        gh_probe_skip(r, "the route's body.content_types take application/json-patch+json");
        aim_free(&a);
        return;
    }
    static const char patch[] = "[{\"op\":\"add\",\"path\":\"/role\",\"value\":\"admin\"}]";
    expect_refused(p, r, &a, typed(p, "application/json-patch+json"), patch, strlen(patch), 400,
                   422, "a JSON Patch adding /role, as application/json-patch+json");
    aim_free(&a);
}

static void no_content_type(gh_probe *p, gh_probe_result *r)
{
    body_aim a;
    if (!aim(p, r, names_types, &a))
        return;
    const char *body = dump(p, a.valid);
    expect_refused(p, r, &a, "", body, strlen(body), 400, 415,
                   "a valid JSON body without a Content-Type");
    aim_free(&a);
}

static void two_content_types(gh_probe *p, gh_probe_result *r)
{
    body_aim a;
    if (!aim(p, r, names_types, &a))
        return;
    const char *body = dump(p, a.valid);
    const char *orders[2] = {
        gh_arena_printf(&p->arena, "Content-Type: %s\r\nContent-Type: text/plain\r\n", a.json_type),
        gh_arena_printf(&p->arena, "Content-Type: text/plain\r\nContent-Type: %s\r\n",
                        a.json_type)};
    for (int i = 0; i < 2 && r->verdict != GH_PV_FAIL; i++)
        expect_refused(p, r, &a, orders[i], body, strlen(body), 400, 415,
                       i ? "two Content-Type headers (text/plain, then JSON)"
                         : "two Content-Type headers (JSON, then text/plain)");
    aim_free(&a);
}

/* ---- the JSON itself ---- */

static void duplicate_keys(gh_probe *p, gh_probe_result *r)
{
    body_aim a;
    if (!aim(p, r, validates, &a))
        return;
    const char *name = property(p, &a, "string", "integer");
    const char *text = dump(p, a.valid);
    /* The valid value first, another last: a parser that keeps the last one sees "admin". */
    const char *body =
        gh_arena_printf(&p->arena, "%.*s,\"%s\":\"admin\"}", (int)(strlen(text) - 1), text, name);
    if (strcmp(text, "{}") == 0 || !json_object_get(a.valid, name))
        body = "{\"probe\":1,\"probe\":\"admin\"}";
    expect_refused(p, r, &a, typed(p, a.json_type), body, strlen(body), 400, 422,
                   gh_arena_printf(&p->arena, "a body with the member \"%s\" twice", name));
    aim_free(&a);
}

static void invalid_utf8(gh_probe *p, gh_probe_result *r)
{
    body_aim a;
    if (!aim(p, r, validates, &a))
        return;
    const char *body =
        with_raw(p, &a, property(p, &a, "string", NULL), "\"probe\xc0\xaf\xff\xfe\"");
    expect_refused(p, r, &a, typed(p, a.json_type), body, strlen(body), 400, 422,
                   "a string with invalid UTF-8 (an overlong /, then 0xff 0xfe)");
    aim_free(&a);
}

static void utf8_bom(gh_probe *p, gh_probe_result *r)
{
    body_aim a;
    if (!aim(p, r, validates, &a))
        return;
    const char *body = gh_arena_printf(&p->arena, "\xef\xbb\xbf%s", dump(p, a.valid));
    expect_refused(p, r, &a, typed(p, a.json_type), body, strlen(body), 400, 422,
                   "a valid body behind a UTF-8 byte order mark");
    aim_free(&a);
}

/* A number the schema's numeric property gets written as raw. */
static void odd_number(gh_probe *p, gh_probe_result *r, const char *raw, const char *what)
{
    body_aim a;
    if (!aim(p, r, validates, &a))
        return;
    const char *name = property(p, &a, "integer", "number");
    const char *body = with_raw(p, &a, name, raw);
    expect_refused(p, r, &a, typed(p, a.json_type), body, strlen(body), 400, 422,
                   gh_arena_printf(&p->arena, "%s as the value of \"%s\"", what, name));
    aim_free(&a);
}

static void not_a_number(gh_probe *p, gh_probe_result *r)
{
    odd_number(p, r, "NaN", "NaN");
}

static void huge_exponent(gh_probe *p, gh_probe_result *r)
{
    odd_number(p, r, "1e400", "1e400 (beyond a double)");
}

static void beyond_uint64(gh_probe *p, gh_probe_result *r)
{
    body_aim a;
    if (!aim(p, r, validates, &a))
        return;
    const char *name = a.schema ? gh_probe_schema_property(p, a.schema, a.valid, "integer") : NULL;
    if (!name) {
        gh_probe_skip(r, "the schema has no integer property in the bodies it takes");
        aim_free(&a);
        return;
    }
    const char *body = with_raw(p, &a, name, "18446744073709551617");
    expect_refused(p, r, &a, typed(p, a.json_type), body, strlen(body), 400, 422,
                   gh_arena_printf(&p->arena, "2^64+1 as the integer \"%s\"", name));
    aim_free(&a);
}

static void too_deep(gh_probe *p, gh_probe_result *r)
{
    body_aim a;
    if (!aim(p, r, validates, &a))
        return;
    /* The body is one level, the member's arrays the rest. */
    uint32_t depth = a.route->conf->body->max_depth;
    char *nest = malloc(2 * (size_t)depth + 1);
    if (!nest) {
        gh_probe_error(r, "out of memory");
        aim_free(&a);
        return;
    }
    memset(nest, '[', depth);
    memset(nest + depth, ']', depth);
    nest[2 * depth] = '\0';
    const char *body = with_raw(p, &a, property(p, &a, "string", NULL), nest);
    free(nest);
    expect_refused(
        p, r, &a, typed(p, a.json_type), body, strlen(body), 400, 422,
        gh_arena_printf(&p->arena, "a body nested %u deep (body.max_depth %u)", depth + 1, depth));
    aim_free(&a);
}

/* One route's schema against a valid body with role, is_admin and owner_id added: false when
 * the case is decided (failed, or an error), true when this route held or was skipped. */
static bool mass_assignment_at(gh_probe *p, gh_probe_result *r, const gh_probe_route *route)
{
    body_aim a;
    if (!aim_at(p, r, route, &a))
        return r->verdict == GH_PV_SKIP;
    if (!json_is_object(a.valid)) {
        gh_probe_skip(r, "the route's schema validates something other than an object");
        aim_free(&a);
        return true;
    }
    static const char *const fields[][2] = {
        {"role", "\"admin\""}, {"is_admin", "true"}, {"owner_id", "\"probe-b\""}};
    json_t *v = json_deep_copy(a.valid);
    for (size_t i = 0; i < 3; i++)
        json_object_set_new(v, fields[i][0], json_loads(fields[i][1], JSON_DECODE_ANY, NULL));
    const char *body = dump(p, v);
    json_decref(v);
    size_t len;
    const char *bytes = with_body(p, &a, a.method, typed(p, a.json_type), body, strlen(body), &len);
    aim_free(&a);
    if (!bytes) {
        gh_probe_error(r, "out of memory");
        return false;
    }
    gh_probe_exchange x;
    gh_probe_expect_refusal(p, r, route, bytes, len, 400, 422,
                            "a valid body with role, is_admin and owner_id added", &x);
    int status = x.nresponses ? x.r[0].status : 0;
    if (r->verdict == GH_PV_FAIL &&
        ((status > 0 && status < 400) || strstr(r->why, "reached the upstream")))
        gh_probe_fail(r,
                      "the unknown fields role, is_admin and owner_id reached the upstream of "
                      "route %s (answered %d): its schema does not forbid additional properties",
                      route->conf->name, status);
    return r->verdict == GH_PV_PASS;
}

/* Every route that validates bodies, each with its own schema; stops at the first that lets
 * the fields through. */
static void mass_assignment(gh_probe *p, gh_probe_result *r)
{
    size_t held = 0, tried = 0;
    const char *skipped = NULL;
    for (size_t i = 0; i < p->nroutes; i++) {
        if (!validates(p, &p->routes[i]))
            continue;
        tried++;
        if (!mass_assignment_at(p, r, &p->routes[i]))
            return;
        if (r->verdict == GH_PV_PASS)
            held++;
        else if (!skipped)
            skipped = r->why;
    }
    if (!tried)
        gh_probe_skip(r, "no proxied route validates JSON bodies (body.schema)");
    else if (!held)
        gh_probe_skip(r, "%s", skipped);
    else
        gh_probe_pass(r,
                      "role, is_admin and owner_id added to a valid body were refused on %zu "
                      "route%s whose schema%s validate%s bodies%s",
                      held, held == 1 ? "" : "s", held == 1 ? "" : "s", held == 1 ? "s" : "",
                      held < tried ? " (others skipped)"
                      : p->server  ? ", nothing forwarded"
                                   : "");
}

/* ---- bodies where none belongs, and bodies the gateway cannot read ---- */

static bool takes_get(gh_probe *p, const gh_probe_route *r)
{
    (void)p;
    return r->proxied && strcmp(r->method, "GET") == 0;
}

static void body_on_get(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = gh_probe_find_route(p, takes_get);
    if (!route) {
        gh_probe_skip(r, "no proxied route takes GET");
        return;
    }
    if (!gh_probe_baseline(p, r, route))
        return;
    static const char body[] = "{\"role\":\"admin\"}";
    size_t len;
    const char *bytes =
        gh_probe_request(p, "GET", route->path, route->host,
                         gh_arena_printf(&p->arena, "%sContent-Type: application/json\r\n",
                                         gh_probe_auth_lines(p, route)),
                         body, &len);
    gh_probe_exchange x;
    gh_probe_aim(p, r, route->conf);
    if (gh_probe_send(p, r, route->target, bytes, len, &(gh_probe_opts){.responses = 1}, &x) != 0)
        return;
    gh_probe_note(p, r, &x);
    gh_probe_upreq *up = NULL;
    int n = gh_probe_upstream_note(p, r, &up);
    int status = x.nresponses ? x.r[0].status : 0;
    bool body_forwarded = false;
    for (int i = 0; i < n; i++)
        body_forwarded |= up[i].body_len > 0;
    gh_probe_upreqs_free(up, n > 0 ? (size_t)n : 0);
    if (body_forwarded)
        gh_probe_fail(r, "a GET with a body was answered %d and the upstream received its body",
                      status);
    else if (status >= 400 || (status == 0 && x.closed))
        gh_probe_pass(r, "a GET with a body was refused (%d)%s", status,
                      n == 0 ? ", nothing forwarded" : "");
    else if (n >= 0)
        gh_probe_pass(r, "a GET with a body was answered %d; the upstream received no body",
                      status);
    else
        gh_probe_fail(r,
                      "a GET with a body was answered %d: it went on with a body the route "
                      "does not take (refuse it: the upstream may read it as the next request)",
                      status);
}

/* ---- a compressed body: deflate with the fixed codes (RFC 1951 3.2.6) in a gzip member ---- */

typedef struct bits {
    unsigned char *out;
    size_t len, cap;
    unsigned acc, nacc;
} bits;

static void put_bits(bits *b, unsigned v, unsigned n) /* LSB first */
{
    for (unsigned i = 0; i < n; i++) {
        b->acc |= ((v >> i) & 1u) << b->nacc++;
        if (b->nacc == 8 && b->len < b->cap) {
            b->out[b->len++] = (unsigned char)b->acc;
            b->acc = b->nacc = 0;
        }
    }
}

static void put_code(bits *b, unsigned code, unsigned n) /* Huffman codes go MSB first */
{
    for (unsigned i = n; i-- > 0;)
        put_bits(b, (code >> i) & 1u, 1);
}

static void put_literal(bits *b, unsigned char c)
{
    if (c < 144)
        put_code(b, 0x30u + c, 8);
    else
        put_code(b, 0x190u + (c - 144u), 9);
}

static unsigned crc_byte(unsigned crc, unsigned char c)
{
    crc ^= c;
    for (int k = 0; k < 8; k++)
        crc = crc & 1u ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
    return crc;
}

/* A gzip member holding prefix, runs * 258 + 1 spaces, suffix: about 13 bits per 258 bytes. */
static size_t gzip_padded(const char *prefix, size_t runs, const char *suffix, unsigned char *out,
                          size_t cap)
{
    static const unsigned char header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff};
    if (cap < 32)
        return 0;
    memcpy(out, header, sizeof(header));
    bits b = {.out = out + 10, .cap = cap - 18};
    unsigned crc = 0xFFFFFFFFu;
    size_t total = 0;
    put_bits(&b, 1, 1); /* the final block */
    put_bits(&b, 1, 2); /* fixed codes */
    for (const char *s = prefix; *s; s++, total++) {
        put_literal(&b, (unsigned char)*s);
        crc = crc_byte(crc, (unsigned char)*s);
    }
    put_literal(&b, ' ');
    crc = crc_byte(crc, ' ');
    total++;
    for (size_t i = 0; i < runs; i++) {
        put_code(&b, 0xC5, 8); /* length 258 (symbol 285) */
        put_code(&b, 0, 5);    /* distance 1 */
        for (int k = 0; k < 258; k++)
            crc = crc_byte(crc, ' ');
        total += 258;
    }
    for (const char *s = suffix; *s; s++, total++) {
        put_literal(&b, (unsigned char)*s);
        crc = crc_byte(crc, (unsigned char)*s);
    }
    put_code(&b, 0, 7); /* end of block */
    if (b.nacc)
        put_bits(&b, 0, 8 - b.nacc);
    if (b.len == b.cap)
        return 0;
    crc ^= 0xFFFFFFFFu;
    size_t n = 10 + b.len;
    for (int i = 0; i < 4; i++)
        out[n + (size_t)i] = (unsigned char)(crc >> (8 * i));
    for (int i = 0; i < 4; i++)
        out[n + 4 + (size_t)i] = (unsigned char)(total >> (8 * i));
    return n + 8;
}

static void gzip_body(gh_probe *p, gh_probe_result *r)
{
    body_aim a;
    if (!aim(p, r, validates, &a))
        return;
    enum { RUNS = 4064, CAP = 8192 }; /* 1 MiB of spaces in under 7 KB */
    unsigned char *gz = gh_arena_alloc(&p->arena, CAP);
    size_t n = gz ? gzip_padded("{\"role\":\"admin\",\"pad\":\"", RUNS, "\"}", gz, CAP) : 0;
    if (!n) {
        gh_probe_error(r, "cannot make the compressed body");
        aim_free(&a);
        return;
    }
    const char *lines =
        gh_arena_printf(&p->arena, "Content-Type: %s\r\nContent-Encoding: gzip\r\n", a.json_type);
    expect_refused(p, r, &a, lines, (const char *)gz, n, 400, 415,
                   gh_arena_printf(&p->arena,
                                   "a gzip body of %zu bytes that inflates to 1 MiB of JSON "
                                   "with a role member",
                                   n));
    aim_free(&a);
}

#define W GH_PN_WRITE | GH_PN_CONFIG

const gh_probe_case gh_probe_cases_bodies[] = {
    {"BODY-001", "bodies", "JSON declared charset=utf-7, a member hidden in UTF-7", OWASP_MISCONFIG,
     20, GH_PSEV_MEDIUM, W, "415 (or 400), nothing forwarded: JSON is UTF-8 (RFC 8259 8.1)",
     "Refuse JSON in any charset but UTF-8 on routes that validate bodies; the validator and the "
     "upstream must read the same text.",
     charset_utf7},
    {"BODY-002", "bodies", "JSON sent as text/plain", OWASP_MISCONFIG, 20, GH_PSEV_MEDIUM, W,
     "415, nothing forwarded", "List the types the route takes (routes[].body.content_types).",
     text_plain},
    {"BODY-003", "bodies", "JSON Patch (application/json-patch+json) adding /role", OWASP_BOPLA,
     915, GH_PSEV_MEDIUM, W, "415 (or 400 from the schema), nothing forwarded",
     "List the types the route takes (body.content_types); validate every JSON type with the "
     "schema.",
     json_patch},
    {"BODY-004", "bodies", "JSON body without a Content-Type", OWASP_MISCONFIG, 20, GH_PSEV_LOW, W,
     "415, nothing forwarded",
     "Name the route's body.content_types: a body without a type is then refused.",
     no_content_type},
    {"BODY-005", "bodies", "two Content-Type headers, in both orders", OWASP_MISCONFIG, 436,
     GH_PSEV_MEDIUM, W, "400 or 415, nothing forwarded",
     "Refuse a request with more than one Content-Type.", two_content_types},
    {"BODY-006", "bodies", "a member twice ({\"a\":1,\"a\":\"admin\"})", OWASP_BOPLA, 20,
     GH_PSEV_MEDIUM, W, "400, nothing forwarded",
     "Refuse JSON with duplicate member names (RFC 8259 4: their meaning varies).", duplicate_keys},
    {"BODY-007", "bodies", "invalid UTF-8 in a string", OWASP_MISCONFIG, 20, GH_PSEV_LOW, W,
     "400, nothing forwarded",
     "Validate bodies (body.schema): the gateway's JSON parser refuses invalid UTF-8.",
     invalid_utf8},
    {"BODY-008", "bodies", "a UTF-8 byte order mark before the JSON", OWASP_MISCONFIG, 20,
     GH_PSEV_LOW, W, "400, nothing forwarded",
     "Refuse a BOM (RFC 8259 8.1): parsers disagree on it.", utf8_bom},
    {"BODY-009", "bodies", "NaN as a number", OWASP_MISCONFIG, 20, GH_PSEV_LOW, W,
     "400, nothing forwarded", "Validate bodies with a strict JSON parser (body.schema).",
     not_a_number},
    {"BODY-010", "bodies", "1e400 as a number (infinite as a double)", OWASP_MISCONFIG, 1284,
     GH_PSEV_LOW, W, "400, nothing forwarded",
     "Refuse numbers beyond a double's range; bound numbers in the schema (maximum).",
     huge_exponent},
    {"BODY-011", "bodies", "2^64+1 as an integer (18446744073709551617)", OWASP_MISCONFIG, 1284,
     GH_PSEV_MEDIUM, W, "400, nothing forwarded",
     "Bound every integer of the schema (minimum, maximum): an unbounded one wraps or rounds in "
     "the upstream.",
     beyond_uint64},
    {"BODY-012", "bodies", "nesting one level beyond body.max_depth", OWASP_RESOURCES, 400,
     GH_PSEV_MEDIUM, W, "400, nothing forwarded",
     "Keep routes[].body.max_depth small (the default is 64).", too_deep},
    {"BODY-013", "bodies", "mass assignment: role, is_admin and owner_id added to a valid body",
     OWASP_BOPLA, 915, GH_PSEV_HIGH, W, "400 (or 422), nothing forwarded",
     "Close the schema's objects with \"additionalProperties\": false (or unevaluatedProperties: "
     "false) "
     "so that only the listed properties reach the upstream.",
     mass_assignment},
    {"BODY-014", "bodies", "a body on a GET", OWASP_MISCONFIG, 444, GH_PSEV_MEDIUM, GH_PN_CONFIG,
     "400, or forwarded without the body",
     "Refuse GET and HEAD with a body (http1.strictness: strict).", body_on_get},
    {"BODY-015", "bodies", "gzip body inflating to 1 MiB (Content-Encoding: gzip)", OWASP_RESOURCES,
     409, GH_PSEV_MEDIUM, W,
     "400 or 415, nothing forwarded: a body that cannot be validated is not passed on",
     "Validate bodies as received (body.schema) and refuse encodings the validator does not read.",
     gzip_body},
    {0},
};
