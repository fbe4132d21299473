/* Key paths to source marks, over libyaml's document tree. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/locate.h"

#define GH_LOCATE_MAX_DEPTH 64 /* aliases can make a tree deep; the configuration is not */

bool gh_locator_open(gh_locator *l, const char *path)
{
    memset(l, 0, sizeof(*l));
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    yaml_parser_t p;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_file(&p, f);
    l->loaded = yaml_parser_load(&p, &l->doc) == 1;
    yaml_parser_delete(&p);
    fclose(f);
    return l->loaded;
}

bool gh_locator_open_string(gh_locator *l, const char *text, size_t len)
{
    memset(l, 0, sizeof(*l));
    yaml_parser_t p;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    l->loaded = yaml_parser_load(&p, &l->doc) == 1;
    yaml_parser_delete(&p);
    return l->loaded;
}

void gh_locator_close(gh_locator *l)
{
    if (l->loaded)
        yaml_document_delete(&l->doc);
    l->loaded = false;
}

static yaml_node_t *node(const gh_locator *l, int id)
{
    return yaml_document_get_node((yaml_document_t *)&l->doc, id);
}

/* The value under the longest key of map that starts key (up to '.', '[' or the end): provider
 * names may hold dots. *rest is what follows it. */
static yaml_node_t *child_by_key(const gh_locator *l, yaml_node_t *map, const char *key,
                                 const char **rest)
{
    yaml_node_t *best = NULL;
    size_t best_len = 0;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node(l, p->key);
        if (!k || k->type != YAML_SCALAR_NODE)
            continue;
        size_t n = k->data.scalar.length;
        if (n > best_len && strncmp((const char *)k->data.scalar.value, key, n) == 0 &&
            (key[n] == '\0' || key[n] == '.' || key[n] == '[')) {
            best = node(l, p->value);
            best_len = n;
        }
    }
    *rest = key + best_len;
    return best;
}

void gh_locator_where(const gh_locator *l, const char *key, int *line, int *col)
{
    *line = *col = 1;
    yaml_node_t *n = l->loaded ? yaml_document_get_root_node((yaml_document_t *)&l->doc) : NULL;
    for (int depth = 0; n && depth < GH_LOCATE_MAX_DEPTH; depth++) {
        *line = (int)n->start_mark.line + 1;
        *col = (int)n->start_mark.column + 1;
        if (*key == '.')
            key++;
        if (*key == '\0')
            return;
        yaml_node_t *next = NULL;
        if (*key == '[' && n->type == YAML_SEQUENCE_NODE) {
            char *end;
            unsigned long i = strtoul(key + 1, &end, 10);
            size_t count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
            if (*end != ']' || i >= count)
                return;
            next = node(l, n->data.sequence.items.start[i]);
            key = end + 1;
        } else if (*key != '[' && n->type == YAML_MAPPING_NODE) {
            next = child_by_key(l, n, key, &key);
        }
        n = next;
    }
}

typedef struct walk_ctx {
    const gh_locator *l;
    gh_locator_fn fn;
    void *ctx;
    char key[512];
} walk_ctx;

static void each(walk_ctx *w, yaml_node_t *n, size_t len, const char *name, int depth)
{
    if (!n || depth > GH_LOCATE_MAX_DEPTH)
        return;
    if (n->type == YAML_SCALAR_NODE) {
        w->key[len] = '\0';
        w->fn(w->ctx, w->key, name, (const char *)n->data.scalar.value,
              (int)n->start_mark.line + 1, (int)n->start_mark.column + 1);
    } else if (n->type == YAML_SEQUENCE_NODE) {
        size_t i = 0;
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
             it++, i++) {
            int k = snprintf(w->key + len, sizeof(w->key) - len, "[%zu]", i);
            if (k > 0 && len + (size_t)k < sizeof(w->key))
                each(w, node(w->l, *it), len + (size_t)k, NULL, depth + 1);
        }
    } else if (n->type == YAML_MAPPING_NODE) {
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
            yaml_node_t *k = node(w->l, p->key);
            if (!k || k->type != YAML_SCALAR_NODE)
                continue;
            const char *kn = (const char *)k->data.scalar.value;
            int m = snprintf(w->key + len, sizeof(w->key) - len, "%s%s", len ? "." : "", kn);
            if (m > 0 && len + (size_t)m < sizeof(w->key))
                each(w, node(w->l, p->value), len + (size_t)m, kn, depth + 1);
        }
    }
}

void gh_locator_each_scalar(const gh_locator *l, gh_locator_fn fn, void *ctx)
{
    if (!l->loaded)
        return;
    walk_ctx w = {.l = l, .fn = fn, .ctx = ctx};
    each(&w, yaml_document_get_root_node((yaml_document_t *)&l->doc), 0, NULL, 0);
}
