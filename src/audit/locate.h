/* Where a key of the configuration is written: the audit names file:line:col for each finding
 * by reading the file's YAML tree again beside the typed configuration. */
#ifndef GH_AUDIT_LOCATE_H
#define GH_AUDIT_LOCATE_H

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

typedef struct gh_locator {
    yaml_document_t doc;
    bool loaded;
} gh_locator;

/* Reads path; false when it cannot (the caller has loaded it already, so this is rare). */
bool gh_locator_open(gh_locator *l, const char *path);
/* The same from the file's text (tests, fuzzing). */
bool gh_locator_open_string(gh_locator *l, const char *text, size_t len);
void gh_locator_close(gh_locator *l);

/* The line and column (1-based) of key ("routes[2].auth.scopes", "identity.jwt.corp"): of its
 * value when it is written, else of its nearest ancestor that is (a missing rate_limit points
 * at its route). 1:1 when nothing of it is. */
void gh_locator_where(const gh_locator *l, const char *key, int *line, int *col);

/* Calls fn for every scalar value of the tree (mapping values and sequence items) with its key,
 * the name of the mapping key it sits under (NULL in a sequence) and its position. */
typedef void (*gh_locator_fn)(void *ctx, const char *key, const char *name, const char *value,
                              int line, int col);
void gh_locator_each_scalar(const gh_locator *l, gh_locator_fn fn, void *ctx);

#endif
