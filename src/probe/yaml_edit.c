/* Editing a YAML document in place (probe/selftest_parts.h): what the self-test needs to turn the
 * effective configuration into one for loopback. libyaml's document keeps nodes in one array and
 * refers to them by number; a replaced value is left unreferenced, and the emitter writes only
 * what the root reaches. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "probe/selftest_parts.h"

static yaml_node_t *node_at(yaml_document_t *doc, int id)
{
    return id > 0 ? yaml_document_get_node(doc, id) : NULL;
}

int gh_yed_load(yaml_document_t *doc, const char *text, size_t len, char *err, size_t cap)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        snprintf(err, cap, "out of memory");
        return -1;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    int ok = yaml_parser_load(&parser, doc);
    if (!ok)
        snprintf(err, cap, "the effective configuration does not parse: %s at line %zu",
                 parser.problem ? parser.problem : "error", parser.problem_mark.line + 1);
    yaml_parser_delete(&parser);
    if (ok && !yaml_document_get_root_node(doc)) {
        yaml_document_delete(doc);
        snprintf(err, cap, "the effective configuration is empty");
        return -1;
    }
    return ok ? 0 : -1;
}

int gh_yed_dump(yaml_document_t *doc, const char *path, char *err, size_t cap)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, cap, "cannot write %s: %s", path, strerror(errno));
        yaml_document_delete(doc);
        return -1;
    }
    yaml_emitter_t em;
    bool consumed = false; /* yaml_emitter_dump deletes the document, whatever its outcome */
    int ok = yaml_emitter_initialize(&em);
    if (ok) {
        yaml_emitter_set_output_file(&em, f);
        yaml_emitter_set_unicode(&em, 1);
        yaml_emitter_set_width(&em, -1);
        ok = yaml_emitter_open(&em);
        consumed = ok;
        ok = ok && yaml_emitter_dump(&em, doc) && yaml_emitter_close(&em) && yaml_emitter_flush(&em);
        if (!ok)
            snprintf(err, cap, "cannot write %s: %s", path, em.problem ? em.problem : "error");
        yaml_emitter_delete(&em);
    } else {
        snprintf(err, cap, "out of memory");
    }
    if (!consumed)
        yaml_document_delete(doc);
    if (fclose(f) != 0 && ok) {
        snprintf(err, cap, "cannot write %s: %s", path, strerror(errno));
        ok = 0;
    }
    return ok ? 0 : -1;
}

int gh_yed_root(yaml_document_t *doc)
{
    return yaml_document_get_root_node(doc) ? 1 : 0;
}

const char *gh_yed_text(yaml_document_t *doc, int node)
{
    yaml_node_t *n = node_at(doc, node);
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* The index of key's pair in map, or -1. */
static long pair_index(yaml_document_t *doc, int map, const char *key)
{
    yaml_node_t *m = node_at(doc, map);
    if (!m || m->type != YAML_MAPPING_NODE)
        return -1;
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        const char *k = gh_yed_text(doc, p->key);
        if (k && strcmp(k, key) == 0)
            return p - m->data.mapping.pairs.start;
    }
    return -1;
}

int gh_yed_get(yaml_document_t *doc, int map, const char *key)
{
    long i = pair_index(doc, map, key);
    return i < 0 ? 0 : node_at(doc, map)->data.mapping.pairs.start[i].value;
}

int gh_yed_new_scalar(yaml_document_t *doc, const char *value)
{
    return yaml_document_add_scalar(doc, NULL, (yaml_char_t *)value, (int)strlen(value),
                                    YAML_ANY_SCALAR_STYLE);
}

int gh_yed_new_map(yaml_document_t *doc)
{
    return yaml_document_add_mapping(doc, NULL, YAML_BLOCK_MAPPING_STYLE);
}

int gh_yed_set_node(yaml_document_t *doc, int map, const char *key, int node)
{
    yaml_node_t *m = node_at(doc, map);
    if (!m || m->type != YAML_MAPPING_NODE || node <= 0)
        return -1;
    long i = pair_index(doc, map, key);
    if (i >= 0) {
        m->data.mapping.pairs.start[i].value = node;
        return 0;
    }
    int k = gh_yed_new_scalar(doc, key);
    /* Adding nodes may move the node array: map's pointer is looked up again inside. */
    return k > 0 && yaml_document_append_mapping_pair(doc, map, k, node) ? 0 : -1;
}

int gh_yed_set(yaml_document_t *doc, int map, const char *key, const char *value)
{
    int v = gh_yed_new_scalar(doc, value);
    return v > 0 ? gh_yed_set_node(doc, map, key, v) : -1;
}

bool gh_yed_remove(yaml_document_t *doc, int map, const char *key)
{
    long i = pair_index(doc, map, key);
    if (i < 0)
        return false;
    yaml_node_t *m = node_at(doc, map);
    yaml_node_pair_t *start = m->data.mapping.pairs.start;
    size_t n = (size_t)(m->data.mapping.pairs.top - start);
    memmove(start + i, start + i + 1, (n - (size_t)i - 1) * sizeof(*start));
    m->data.mapping.pairs.top--;
    return true;
}

size_t gh_yed_count(yaml_document_t *doc, int node)
{
    yaml_node_t *n = node_at(doc, node);
    if (n && n->type == YAML_SEQUENCE_NODE)
        return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (n && n->type == YAML_MAPPING_NODE)
        return (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    return 0;
}

int gh_yed_item(yaml_document_t *doc, int seq, size_t i)
{
    yaml_node_t *n = node_at(doc, seq);
    if (!n || n->type != YAML_SEQUENCE_NODE || i >= gh_yed_count(doc, seq))
        return 0;
    return n->data.sequence.items.start[i];
}

const char *gh_yed_pair(yaml_document_t *doc, int map, size_t i, int *value)
{
    yaml_node_t *n = node_at(doc, map);
    *value = 0;
    if (!n || n->type != YAML_MAPPING_NODE || i >= gh_yed_count(doc, map))
        return NULL;
    yaml_node_pair_t *p = &n->data.mapping.pairs.start[i];
    *value = p->value;
    return gh_yed_text(doc, p->key);
}
