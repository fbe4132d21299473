/* Internal to src/config: applying keyword tables (config/keyword-t.h) to YAML mappings. Every
 * section reads its keys through these, so unknown keys, key paths, ranges, defaults and the
 * file:line:col of each error come from one place. */
#ifndef GH_CONFIG_KEYWORD_H
#define GH_CONFIG_KEYWORD_H

#include "config/keyword-t.h"
#include "config/yaml_walk.h"

/* Sets the defaults of table into target, then, when map is a mapping (reported otherwise) of
 * keys the table knows (each unknown one reported, with the closest known key), reads each
 * key of the table in order. Returns false when map is NULL or not a mapping. */
bool gh__cfg_apply(gh_walk *w, yaml_node_t *map, const gh_keyword *table, void *target,
                   void *ctx);

/* The steps of gh__cfg_apply, for a mapping whose keys come from more than one table. */
void gh__cfg_defaults(gh_walk *w, const gh_keyword *table, void *target);
/* Reports the keys of map that none of tables (NULL-terminated) knows; false when map is not a
 * mapping. */
bool gh__cfg_known(gh_walk *w, yaml_node_t *map, const gh_keyword *const *tables);
void gh__cfg_fill(gh_walk *w, yaml_node_t *map, const gh_keyword *table, void *target,
                  void *ctx);

/* A list of strings into an arena array. */
const char **gh__cfg_string_list(gh_walk *w, yaml_node_t *n, size_t *count);

#endif
