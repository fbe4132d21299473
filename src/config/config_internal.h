/* Internal to src/config: the section loaders share the walker and the snapshot. */
#ifndef GH_CONFIG_INTERNAL_H
#define GH_CONFIG_INTERNAL_H

#include "config/config.h"
#include "config/yaml_walk.h"

void gh__cfg_load_upstreams(gh_walk *w, yaml_node_t *n, gh_config *c, gh_upstream_registry *reg);
void gh__cfg_load_routes(gh_walk *w, yaml_node_t *n, gh_config *c);
void gh__cfg_load_identity(gh_walk *w, yaml_node_t *n, gh_config *c, gh_key_registry *keys);
void gh__cfg_load_api_keys(gh_walk *w, yaml_node_t *n, gh_config *c);
/* Warns about routes that an earlier route always matches first. */
void gh__cfg_check_shadowing(gh_walk *w, yaml_node_t *routes, const gh_config *c);

bool gh__cfg_name_ok(const char *name);

/* A sequence's items, for loops: NULL and count 0 if n is not a sequence (reported). */
yaml_node_item_t *gh__walk_items(gh_walk *w, yaml_node_t *n, size_t *count);

#endif
