/* Internal to src/config: the effective configuration. While the keyword tables are applied to
 * the YAML document, what each mapping was read with (its tables) and what a scalar stood for
 * (a resolved path, a secret's reference) are noted here; once the document loaded, it is
 * printed back through those notes: every key of every table with its written value or its
 * default, paths absolute, key material redacted. The tables are the only description of the
 * keys, so no section has print code of its own. */
#ifndef GH_CONFIG_PRINT_H
#define GH_CONFIG_PRINT_H

#include <stdbool.h>
#include <stddef.h>

#include "config/keyword-t.h"
#include "config/yaml_walk.h"

/* The printed form may be at most this long (aliases can make it much longer than the file). */
#define GH_CFG_PRINT_MAX (16u << 20)

/* The notes about one document; NULL when out of memory (nothing is then noted). */
gh_cfg_notes *gh__cfg_notes_new(yaml_document_t *doc);
void gh__cfg_notes_free(gh_cfg_notes *notes);

/* map was read with table (called by the applier for every mapping it fills). */
void gh__cfg_note_table(gh_walk *w, yaml_node_t *map, const gh_keyword *table);
/* The keys of map were checked against tables (NULL-terminated). */
void gh__cfg_note_known(gh_walk *w, yaml_node_t *map, const gh_keyword *const *tables);
/* The scalar n names the file path (resolved against the configuration's folder): printed as
 * that path made absolute. */
void gh__cfg_note_path(gh_walk *w, yaml_node_t *n, const char *path);
/* The scalar n is the reference "${file:path}": printed with the path made absolute. */
void gh__cfg_note_secret_file(gh_walk *w, yaml_node_t *n, const char *path);

/* The document printed as YAML through the notes (malloc'd, NUL-terminated, length in *len), or
 * NULL after reporting to w why not. redact: key material becomes "<redacted N bytes>";
 * *redacted (may be NULL) tells whether any was. */
char *gh__cfg_print(gh_walk *w, bool redact, size_t *len, bool *redacted);

#endif
