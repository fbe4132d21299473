/* What the bodies cases send: a JSON document a route's schema accepts, built from the schema
 * file the configuration names (its route key body.schema) and checked against the schema the
 * configuration compiled, so that a refusal of an attack is never a refusal of a bad sample. */
#include <libgen.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "audit/locate.h"
#include "core/jv.h"
#include "probe/probe_internal.h"
#include "schema/schema.h"

#define SAMPLE_DEPTH 16 /* schemas nested deeper give up: the case skips */

typedef struct find_schema {
    const char *key;
    const char *value;
} find_schema;

static void match_key(void *ctx, const char *key, const char *name, const char *value, int line,
                      int col)
{
    find_schema *f = ctx;
    (void)name, (void)line, (void)col;
    if (!f->value && strcmp(key, f->key) == 0)
        f->value = value;
}

/* The schema document of route, loaded as the configuration loaded it (a path relative to the
 * configuration's folder). A new reference, or NULL. */
json_t *gh_probe_schema_doc(gh_probe *p, const gh_route_conf *route)
{
    if (!p->loc || !p->conf || !p->config_file)
        return NULL;
    char key[64];
    snprintf(key, sizeof(key), "routes[%zu].body.schema", (size_t)(route - p->conf->routes));
    find_schema f = {key, NULL};
    gh_locator_each_scalar(p->loc, match_key, &f);
    if (!f.value)
        return NULL;
    const char *path = f.value;
    if (path[0] != '/') {
        char *copy = gh_arena_strdup(&p->arena, p->config_file);
        path = gh_arena_printf(&p->arena, "%s/%s", copy ? dirname(copy) : ".", f.value);
    }
    return json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
}

/* The subschema a local "$ref" ("#/$defs/x") names, or NULL. */
static const json_t *resolve(const json_t *root, const char *ref)
{
    if (strncmp(ref, "#", 1) != 0)
        return NULL;
    const json_t *at = root;
    const char *s = ref + 1;
    while (at && *s == '/') {
        s++;
        size_t n = strcspn(s, "/");
        char name[128];
        if (n >= sizeof(name))
            return NULL;
        memcpy(name, s, n);
        name[n] = '\0';
        at = json_is_object(at) ? json_object_get(at, name) : NULL;
        s += n;
    }
    return at;
}

/* A schema with its $ref followed (and nothing else of it read: refs are usually alone). */
static const json_t *deref(const json_t *s, const json_t *root)
{
    for (int i = 0; i < 8 && json_is_object(s); i++) {
        const json_t *ref = json_object_get(s, "$ref");
        if (!json_is_string(ref))
            break;
        s = resolve(root, json_string_value(ref));
    }
    return s;
}

static const char *type_of(const json_t *s)
{
    const json_t *t = json_object_get(s, "type");
    if (json_is_string(t))
        return json_string_value(t);
    size_t i;
    const json_t *v;
    json_array_foreach(t, i, v) if (json_is_string(v) && strcmp(json_string_value(v), "null") !=
                                                             0) return json_string_value(v);
    if (json_object_get(s, "properties") || json_object_get(s, "required"))
        return "object";
    if (json_object_get(s, "items"))
        return "array";
    return "string";
}

static double number_in(const json_t *s, bool integer)
{
    const json_t *min = json_object_get(s, "minimum"),
                 *xmin = json_object_get(s, "exclusiveMinimum");
    const json_t *max = json_object_get(s, "maximum"), *mult = json_object_get(s, "multipleOf");
    double v = 1;
    if (json_is_number(min))
        v = json_number_value(min);
    else if (json_is_number(xmin))
        v = json_number_value(xmin) + 1;
    if (json_is_number(max) && v > json_number_value(max))
        v = json_number_value(max);
    if (json_is_number(mult) && json_number_value(mult) > 0)
        v = json_number_value(mult) * ceil(v / json_number_value(mult));
    return integer ? ceil(v) : v;
}

static json_t *string_in(const json_t *s)
{
    static const char *const formats[][2] = {{"email", "probe@example.com"},
                                             {"uuid", "00000000-0000-4000-8000-000000000000"},
                                             {"date-time", "2026-01-01T00:00:00Z"},
                                             {"date", "2026-01-01"},
                                             {"uri", "https://example.com/probe"},
                                             {"ipv4", "192.0.2.1"},
                                             {"ipv6", "2001:db8::1"},
                                             {"hostname", "probe.example.com"}};
    const char *f = json_string_value(json_object_get(s, "format"));
    for (size_t i = 0; f && i < sizeof(formats) / sizeof(formats[0]); i++)
        if (strcmp(f, formats[i][0]) == 0)
            return json_string(formats[i][1]);
    json_int_t min = json_integer_value(json_object_get(s, "minLength"));
    json_int_t max = json_integer_value(json_object_get(s, "maxLength"));
    char buf[256] = "probe";
    for (size_t n = 5; (json_int_t)n < min && n + 1 < sizeof(buf); n++)
        buf[n] = 'a', buf[n + 1] = '\0';
    if (json_object_get(s, "maxLength") && max >= 0 && max < (json_int_t)strlen(buf))
        buf[max] = '\0';
    return json_string(buf);
}

static json_t *sample(const json_t *s, const json_t *root, int depth);

static json_t *object_in(const json_t *s, const json_t *root, int depth)
{
    json_t *o = json_object();
    const json_t *props = json_object_get(s, "properties"), *req = json_object_get(s, "required");
    size_t i;
    const json_t *name;
    json_array_foreach(req, i, name)
    {
        if (!json_is_string(name))
            continue;
        const json_t *sub = json_object_get(props, json_string_value(name));
        json_t *v = sub ? sample(sub, root, depth + 1) : json_string("probe");
        if (!v) {
            json_decref(o);
            return NULL;
        }
        json_object_set_new(o, json_string_value(name), v);
    }
    return o;
}

static json_t *array_in(const json_t *s, const json_t *root, int depth)
{
    json_t *a = json_array();
    const json_t *items = json_object_get(s, "items");
    json_int_t min = json_integer_value(json_object_get(s, "minItems"));
    for (json_int_t i = 0; i < min && i < 16; i++) {
        json_t *v = items ? sample(items, root, depth + 1) : json_string("probe");
        if (!v) {
            json_decref(a);
            return NULL;
        }
        json_array_append_new(a, v);
    }
    return a;
}

/* A value the schema s probably accepts; NULL when it cannot tell. */
static json_t *sample(const json_t *s, const json_t *root, int depth)
{
    s = deref(s, root);
    if (!s || depth > SAMPLE_DEPTH || json_is_false(s))
        return NULL;
    if (json_is_true(s))
        return json_string("probe");
    if (json_object_get(s, "const"))
        return json_deep_copy(json_object_get(s, "const"));
    if (json_array_size(json_object_get(s, "enum")))
        return json_deep_copy(json_array_get(json_object_get(s, "enum"), 0));
    const json_t *first = json_array_get(json_object_get(s, "anyOf"), 0);
    if (!first)
        first = json_array_get(json_object_get(s, "oneOf"), 0);
    if (first)
        return sample(first, root, depth + 1);
    json_t *all = json_object_get(s, "allOf");
    if (json_array_size(all)) {
        json_t *out = sample(json_array_get(all, 0), root, depth + 1);
        for (size_t i = 1; out && json_is_object(out) && i < json_array_size(all); i++) {
            json_t *more = sample(json_array_get(all, i), root, depth + 1);
            if (json_is_object(more))
                json_object_update_missing(out, more);
            json_decref(more);
        }
        return out;
    }
    const char *t = type_of(s);
    if (strcmp(t, "object") == 0)
        return object_in(s, root, depth);
    if (strcmp(t, "array") == 0)
        return array_in(s, root, depth);
    if (strcmp(t, "integer") == 0)
        return json_integer((json_int_t)number_in(s, true));
    if (strcmp(t, "number") == 0)
        return json_real(number_in(s, false));
    if (strcmp(t, "boolean") == 0)
        return json_true();
    if (strcmp(t, "null") == 0)
        return json_null();
    return string_in(s);
}

bool gh_probe_schema_accepts(const gh_body_conf *b, const char *text, size_t len)
{
    if (!b->schema)
        return true;
    gh_arena a;
    gh_arena_init(&a, 16384, GH_JV_TREE_BOUND(len));
    gh_jv_limits lim = {b->max_depth, b->max_string};
    const char *why = NULL;
    size_t at = 0;
    const gh_jv *doc = gh_jv_parse(text, len, &lim, &a, &why, &at);
    gh_schema_error err;
    bool ok = doc && gh_schema_validate(b->schema, doc, &err, 1) == 0;
    gh_arena_free(&a);
    return ok;
}

json_t *gh_probe_body_sample(gh_probe *p, const gh_route_conf *route, json_t **schema_out)
{
    const gh_body_conf *b = route->body;
    *schema_out = NULL;
    if (!b || !b->schema)
        return json_pack("{s:s}", "probe", "a");
    json_t *doc = gh_probe_schema_doc(p, route);
    json_t *v = doc ? sample(doc, doc, 0) : NULL;
    char *text = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    bool ok = text && gh_probe_schema_accepts(b, text, strlen(text));
    free(text);
    if (!ok) {
        json_decref(v);
        json_decref(doc);
        return NULL;
    }
    *schema_out = doc;
    return v;
}

/* The name of a property of the object schema doc whose type is kind ("string", "integer",
 * "number"), among those sample put in the body, or NULL. */
const char *gh_probe_schema_property(gh_probe *p, const json_t *doc, const json_t *body,
                                     const char *kind)
{
    const json_t *root = deref(doc, doc);
    const json_t *props = json_object_get(root, "properties");
    const char *name;
    const json_t *sub;
    json_object_foreach((json_t *)props, name, sub)
    {
        const json_t *s = deref(sub, doc);
        if (s && json_object_get(body, name) && json_is_object(s) && !json_object_get(s, "enum") &&
            !json_object_get(s, "const") && strcmp(type_of(s), kind) == 0)
            return gh_arena_strdup(&p->arena, name);
    }
    return NULL;
}
