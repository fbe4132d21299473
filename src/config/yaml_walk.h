/* Internal to src/config: walking a libyaml document with a key path and source marks, so every
 * error names file:line:col and where in the tree it is. */
#ifndef GH_CONFIG_YAML_WALK_H
#define GH_CONFIG_YAML_WALK_H

#include <stdbool.h>
#include <stdint.h>
#include <yaml.h>

#include "config/diag.h"
#include "core/arena.h"

/* What the effective configuration needs to know of the document (config/config_print.h). */
typedef struct gh_cfg_notes gh_cfg_notes;

typedef struct gh_walk {
    yaml_document_t *doc;
    const char *file;
    gh_diag *diag;
    gh_arena *arena;
    char path[512];
    size_t path_len;
    gh_cfg_notes *notes; /* NULL: nothing noted */
} gh_walk;

/* Pushes ".key" (or "key" at the root) / "[i]" onto the path; pop restores the old length. */
size_t gh__walk_push_key(gh_walk *w, const char *key);
size_t gh__walk_push_index(gh_walk *w, size_t i);
void gh__walk_pop(gh_walk *w, size_t saved);

void gh__walk_error(gh_walk *w, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void gh__walk_warn(gh_walk *w, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

yaml_node_t *gh__walk_node(gh_walk *w, int id);
/* The value under key in a mapping, or NULL. */
yaml_node_t *gh__walk_get(gh_walk *w, yaml_node_t *map, const char *key);
/* Reports every key of map not in allowed (NULL-terminated), with a "did you mean". Returns
 * false (and reports) when map is not a mapping. */
bool gh__walk_keys(gh_walk *w, yaml_node_t *map, const char *const *allowed);

/* A sequence's items, for loops: NULL and count 0 if n is not a sequence (reported). */
yaml_node_item_t *gh__walk_items(gh_walk *w, yaml_node_t *n, size_t *count);
/* The same, NULL after reporting "between 1 and max <what>" when there are none or too many. */
yaml_node_item_t *gh__walk_items_within(gh_walk *w, yaml_node_t *n, size_t max, const char *what,
                                        size_t *count);

/* Scalar accessors: report and return false on a type error. */
bool gh__walk_str(gh_walk *w, yaml_node_t *n, const char **out);
bool gh__walk_uint(gh_walk *w, yaml_node_t *n, uint64_t min, uint64_t max, uint64_t *out);
bool gh__walk_duration_ms(gh_walk *w, yaml_node_t *n, uint64_t min, uint64_t max, uint64_t *out);
bool gh__walk_size(gh_walk *w, yaml_node_t *n, uint64_t min, uint64_t max, uint64_t *out);
/* Index of the scalar among choices (NULL-terminated), or -1 after reporting. */
int gh__walk_enum(gh_walk *w, yaml_node_t *n, const char *const *choices);

/* The path named by the scalar n (resolved as gh__walk_path) once the file has been read
 * (at most max bytes): a CA bundle checked at load. NULL after reporting. */
const char *gh__walk_readable_path(gh_walk *w, yaml_node_t *n, size_t max);
/* A path as written in the configuration, made relative to its folder unless absolute (arena). */
const char *gh__walk_path(gh_walk *w, const char *path);
/* A file named in the configuration (relative to the configuration's folder), at most max bytes,
 * malloc'd; NULL after reporting. */
char *gh__walk_file(gh_walk *w, yaml_node_t *n, const char *path, size_t max, size_t *len);
/* A secret reference resolved: "${env:NAME}" or "${file:/path}"; malloc'd, NULL after reporting. */
char *gh__walk_secret(gh_walk *w, yaml_node_t *n, size_t *len);

/* Parsers shared with tests: "250ms", "5s", "1m", "2h" and "16k", "1m", "512". */
int gh_parse_duration_ms(const char *s, uint64_t *out);
int gh_parse_size(const char *s, uint64_t *out);
/* Levenshtein distance, bounded: values above max are reported as max + 1. */
size_t gh_edit_distance(const char *a, const char *b, size_t max);

#endif
