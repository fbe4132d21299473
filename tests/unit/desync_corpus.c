#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "desync_corpus.h"

static const char *scalar(yaml_document_t *d, yaml_node_t *n)
{
    (void)d;
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : "";
}

/* Scalars may hold NUL bytes (the corpus tests them): use the scalar's length. */
static size_t scalar_len(yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? n->data.scalar.length : 0;
}

static yaml_node_t *get(yaml_document_t *d, yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++)
        if (strcmp(scalar(d, yaml_document_get_node(d, p->key)), key) == 0)
            return yaml_document_get_node(d, p->value);
    return NULL;
}

static void append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n + 1 > *cap) {
        *cap = (*len + n + 1) * 2;
        *buf = realloc(*buf, *cap);
    }
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = '\0';
}

#define APPEND(s) append(&raw, &len, &cap, (s), strlen(s))

/* method SP uri SP version CRLF, each header "name: value" CRLF, a Host when the case has
 * none (HTTP/1.1 requires one and the case is about something else), CRLF. */
static void render(yaml_document_t *d, yaml_node_t *c, desync_case *out)
{
    char *raw = NULL;
    size_t len = 0, cap = 0;
    const char *version = scalar(d, get(d, c, "version"));
    APPEND(scalar(d, get(d, c, "method")));
    APPEND(" ");
    yaml_node_t *uri = get(d, c, "uri");
    append(&raw, &len, &cap, scalar(d, uri), scalar_len(uri));
    if (*version) {
        APPEND(" ");
        APPEND(version);
    }
    APPEND("\r\n");
    yaml_node_t *hs = get(d, c, "headers");
    int has_host = 0;
    if (hs && hs->type == YAML_SEQUENCE_NODE)
        for (yaml_node_item_t *it = hs->data.sequence.items.start; it < hs->data.sequence.items.top;
             it++) {
            yaml_node_t *h = yaml_document_get_node(d, *it);
            const char *name = scalar(d, get(d, h, "name"));
            has_host |= strcasecmp(name, "host") == 0;
            yaml_node_t *nn = get(d, h, "name"), *vn = get(d, h, "value");
            append(&raw, &len, &cap, scalar(d, nn), scalar_len(nn));
            APPEND(": ");
            append(&raw, &len, &cap, scalar(d, vn), scalar_len(vn));
            APPEND("\r\n");
        }
    if (!has_host)
        APPEND("Host: example.com\r\n");
    APPEND("\r\n");
    out->raw = raw;
    out->raw_len = len;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t desync_load(const char *dir, desync_case **out)
{
    *out = NULL;
    DIR *dp = opendir(dir);
    if (!dp)
        return 0;
    char *files[64];
    size_t nfiles = 0;
    struct dirent *e;
    while ((e = readdir(dp)) && nfiles < 64) {
        size_t l = strlen(e->d_name);
        if (l > 5 && strcmp(e->d_name + l - 5, ".yaml") == 0)
            files[nfiles++] = strdup(e->d_name);
    }
    closedir(dp);
    qsort(files, nfiles, sizeof(files[0]), by_name);
    size_t n = 0, cap = 0;
    for (size_t f = 0; f < nfiles; f++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", dir, files[f]);
        FILE *fp = fopen(path, "rb");
        yaml_parser_t parser;
        yaml_document_t doc;
        yaml_parser_initialize(&parser);
        yaml_parser_set_input_file(&parser, fp);
        if (yaml_parser_load(&parser, &doc)) {
            yaml_node_t *root = yaml_document_get_root_node(&doc);
            if (root && root->type == YAML_SEQUENCE_NODE)
                for (yaml_node_item_t *it = root->data.sequence.items.start;
                     it < root->data.sequence.items.top; it++) {
                    yaml_node_t *c = yaml_document_get_node(&doc, *it);
                    if (n == cap) {
                        cap = cap ? cap * 2 : 64;
                        *out = realloc(*out, cap * sizeof(**out));
                    }
                    desync_case *dc = &(*out)[n++];
                    memset(dc, 0, sizeof(*dc));
                    snprintf(dc->file, sizeof(dc->file), "%s", files[f]);
                    snprintf(dc->name, sizeof(dc->name), "%s", scalar(&doc, get(&doc, c, "name")));
                    snprintf(dc->id, sizeof(dc->id), "%s: %s", dc->file, dc->name);
                    snprintf(dc->tier, sizeof(dc->tier), "%s",
                             scalar(&doc, get(&doc, get(&doc, c, "expected"), "tier")));
                    render(&doc, c, dc);
                }
            yaml_document_delete(&doc);
        }
        yaml_parser_delete(&parser);
        fclose(fp);
        free(files[f]);
    }
    return n;
}

void desync_free(desync_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(cases[i].raw);
    free(cases);
}
