/* Configuration diagnostics: "file:line:col: key.path: message", errors and warnings. */
#ifndef GH_CONFIG_DIAG_H
#define GH_CONFIG_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct gh_diag {
    char **lines;
    size_t n, cap;
    size_t errors, warnings;
} gh_diag;

void gh_diag_add(gh_diag *d, bool error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void gh_diag_print(const gh_diag *d, FILE *out);
void gh_diag_free(gh_diag *d);

#endif
