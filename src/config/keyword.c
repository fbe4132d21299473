/* The applier of keyword tables: one reading of a mapping for every section, so the allowed
 * keys, the key paths, the ranges, the defaults and the errors are the same everywhere. */
#include <string.h>

#include "config/config_print.h"
#include "config/keep.h"
#include "config/keyword.h"

#define GH_KW_MAX_KEYS 64

static const char *const no_yes[] = {"false", "true", NULL};

static void *field(void *target, const gh_keyword *k)
{
    return (char *)target + k->offset;
}

/* Numbers go into fields of the width the struct gave them. */
static void store_number(void *at, size_t size, uint64_t v)
{
    switch (size) {
    case 1: {
        uint8_t x = (uint8_t)v;
        memcpy(at, &x, 1);
        break;
    }
    case 2: {
        uint16_t x = (uint16_t)v;
        memcpy(at, &x, 2);
        break;
    }
    case 4: {
        uint32_t x = (uint32_t)v;
        memcpy(at, &x, 4);
        break;
    }
    default:
        memcpy(at, &v, sizeof(v));
    }
}

static bool read_number(gh_walk *w, yaml_node_t *v, const gh_keyword *k, uint64_t *out)
{
    switch (k->kind) {
    case GH_KW_UINT:
        return gh__walk_uint(w, v, k->min, k->max, out);
    case GH_KW_SIZE:
        return gh__walk_size(w, v, k->min, k->max, out);
    case GH_KW_DURATION:
        if (!gh__walk_duration_ms(w, v, k->min, k->max, out))
            return false;
        *out /= k->unit ? k->unit : 1;
        return true;
    default: { /* GH_KW_BOOL, GH_KW_ENUM: the index of the choice */
        int i = gh__walk_enum(w, v, k->kind == GH_KW_BOOL ? no_yes : k->choices);
        *out = k->flags & GH_KW_NEGATE ? (uint64_t)(i == 0) : (uint64_t)i;
        return i >= 0;
    }
    }
}

static void read_string(gh_walk *w, yaml_node_t *v, const gh_keyword *k, void *at)
{
    const char *s;
    if (!gh__walk_str(w, v, &s))
        return;
    memcpy(at, &s, sizeof(s));
    if (k->valid && !k->valid(s))
        gh__walk_error(w, v, k->invalid, s);
}

const char **gh__cfg_string_list(gh_walk *w, yaml_node_t *n, size_t *count)
{
    size_t c;
    yaml_node_item_t *items = gh__walk_items(w, n, &c);
    const char **out = gh_arena_zalloc(w->arena, (c ? c : 1) * sizeof(char *));
    *count = 0;
    for (size_t i = 0; items && out && i < c; i++) {
        size_t saved = gh__walk_push_index(w, i);
        if (gh__walk_str(w, gh__walk_node(w, items[i]), &out[*count]))
            (*count)++;
        gh__walk_pop(w, saved);
    }
    return out;
}

/* A list of strings, each judged by .valid when there is one, at least .min of them. */
static void read_list(gh_walk *w, yaml_node_t *v, const gh_kw_call *call, void *at)
{
    const gh_keyword *k = call->k;
    size_t *count = (size_t *)((char *)call->target + k->count);
    const char **list = gh__cfg_string_list(w, v, count);
    memcpy(at, &list, sizeof(list));
    if (!list || v->type != YAML_SEQUENCE_NODE)
        return; /* reported */
    if (*count < k->min)
        gh__walk_error(w, v, "at least %llu", (unsigned long long)k->min);
    size_t n = 0;
    yaml_node_item_t *items = k->valid ? gh__walk_items(w, v, &n) : NULL;
    for (size_t i = 0; items && i < n && i < *count; i++)
        if (!k->valid(list[i]))
            gh__walk_error(w, gh__walk_node(w, items[i]), k->invalid, list[i]);
}

static void read_value(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    const gh_keyword *k = call->k;
    void *at = field(call->target, k);
    uint64_t x;
    switch (k->kind) {
    case GH_KW_STRING:
        read_string(w, v, k, at);
        return;
    case GH_KW_LIST:
        read_list(w, v, call, at);
        return;
    case GH_KW_PATH: {
        const char *path = gh__walk_readable_path(w, v, k->max);
        memcpy(at, &path, sizeof(path));
        return;
    }
    case GH_KW_SECRET: {
        size_t len = 0;
        char *secret = gh__walk_secret(w, v, &len);
        if (secret && !gh__cfg_keep_secret(w, secret, len))
            secret = NULL;
        memcpy(at, &secret, sizeof(secret));
        return;
    }
    case GH_KW_MAP:
        gh__cfg_apply(w, v, k->table, at, call->ctx);
        return;
    case GH_KW_CUSTOM:
        if (k->load)
            k->load(w, v, call);
        return;
    default:
        if (read_number(w, v, k, &x))
            store_number(at, k->size, x);
    }
}

/* A default is written as in the configuration and read the same way as a value. */
void gh__cfg_defaults(gh_walk *w, const gh_keyword *table, void *target)
{
    for (const gh_keyword *k = table; k->name; k++) {
        if (k->table)
            gh__cfg_defaults(w, k->table, field(target, k));
        if (k->flags & GH_KW_UNSET)
            store_number(field(target, k), k->size, UINT64_MAX);
        if (!k->def)
            continue;
        yaml_node_t def = {.type = YAML_SCALAR_NODE};
        def.data.scalar.value = (yaml_char_t *)k->def;
        def.data.scalar.length = strlen(k->def);
        read_value(w, &def, &(gh_kw_call){.k = k, .target = target});
    }
}

bool gh__cfg_known(gh_walk *w, yaml_node_t *map, const gh_keyword *const *tables)
{
    const char *names[GH_KW_MAX_KEYS + 1];
    size_t n = 0;
    for (const gh_keyword *const *t = tables; *t; t++)
        for (const gh_keyword *k = *t; k->name && n < GH_KW_MAX_KEYS; k++)
            names[n++] = k->name;
    names[n] = NULL;
    gh__cfg_note_known(w, map, tables);
    return gh__walk_keys(w, map, names);
}

void gh__cfg_fill(gh_walk *w, yaml_node_t *map, const gh_keyword *table, void *target, void *ctx)
{
    gh__cfg_note_table(w, map, table);
    for (const gh_keyword *k = table; k->name; k++) {
        size_t saved = gh__walk_push_key(w, k->name);
        gh_kw_call call = {map, k, target, ctx, saved};
        yaml_node_t *v = gh__walk_get(w, map, k->name);
        if (v && (!k->guard || k->guard(w, v, &call)))
            read_value(w, v, &call);
        else if (!v && (k->flags & GH_KW_REQUIRED))
            gh__walk_error(w, map, "%s", k->required ? k->required : "required");
        else if (!v && (k->flags & GH_KW_ALWAYS) && k->load)
            k->load(w, NULL, &call);
        gh__walk_pop(w, saved);
    }
}

bool gh__cfg_apply(gh_walk *w, yaml_node_t *map, const gh_keyword *table, void *target,
                   void *ctx)
{
    gh__cfg_defaults(w, table, target);
    if (!map || !gh__cfg_known(w, map, (const gh_keyword *const[]){table, NULL}))
        return false;
    gh__cfg_fill(w, map, table, target, ctx);
    return true;
}
