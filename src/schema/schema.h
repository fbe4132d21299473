/* JSON Schema (draft 2020-12) validation: a schema document compiled once (references resolved,
 * patterns compiled, every keyword checked), then used by any number of threads to validate
 * instances, with errors located by instance and schema JSON pointers. */
#ifndef GH_SCHEMA_SCHEMA_H
#define GH_SCHEMA_SCHEMA_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/jv.h"

typedef struct gh_schema gh_schema;

/* The longest pattern (or patternProperties name) a schema may hold: longer is refused where
 * it is written, never cut. */
#define GH_SCHEMA_MAX_PATTERN 65536

/* Fetches the document an absolute URI names (a schema $ref points outside the document):
 * a new reference, or NULL when it is unknown. The gateway never fetches; tests map a folder. */
typedef json_t *(*gh_schema_loader)(const char *uri, void *arg);

typedef struct gh_schema_options {
    bool format_assertion;   /* format keywords assert (else they only annotate) */
    gh_schema_loader loader; /* may be NULL */
    void *loader_arg;
    /* Told of each pattern that can backtrack without bound (where, and why); may be NULL. */
    void (*warn)(void *arg, const char *path, const char *why);
    void *warn_arg;
} gh_schema_options;

/* Compiles doc (a jansson document, not taken: referenced). NULL with err naming the schema location
 * ("#/properties/qty/minimum: expected a number") when the schema is not valid. */
gh_schema *gh_schema_compile(json_t *doc, const gh_schema_options *o, char *err, size_t errlen);
void gh_schema_free(gh_schema *s);

typedef struct gh_schema_error {
    char instance_path[160]; /* JSON pointer into the instance */
    char schema_path[160];   /* JSON pointer into the schema ("#/properties/qty/minimum") */
    char message[160];
} gh_schema_error;

/* Validates an instance (parsed with gh_jv_parse). Returns how many errors were found (0:
 * valid); the first max of them are described in errs. */
size_t gh_schema_validate(const gh_schema *s, const gh_jv *instance, gh_schema_error *errs,
                          size_t max);

/* Whether an instance may be an object carrying properties the schema does not name: no
 * additionalProperties: false (or unevaluatedProperties: false, or a closed propertyNames) on
 * the top level, through $ref, allOf and every branch of anyOf and oneOf. */
bool gh_schema_open_object(const gh_schema *s);

#endif
