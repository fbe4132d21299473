#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "config/diag.h"

#define GH_DIAG_MAX 200 /* a broken file should not print forever */

void gh_diag_add(gh_diag *d, bool error, const char *fmt, ...)
{
    if (error)
        d->errors++;
    else
        d->warnings++;
    if (d->n >= GH_DIAG_MAX)
        return;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        char **lines = realloc(d->lines, cap * sizeof(*lines));
        if (!lines)
            return;
        d->lines = lines;
        d->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    char *line = NULL;
    if (vasprintf(&line, fmt, ap) < 0)
        line = NULL;
    va_end(ap);
    if (!line)
        return;
    d->lines[d->n++] = line;
}

void gh_diag_print(const gh_diag *d, FILE *out)
{
    for (size_t i = 0; i < d->n; i++)
        fprintf(out, "%s\n", d->lines[i]);
    if (d->errors + d->warnings > d->n)
        fprintf(out, "... and %zu more\n", d->errors + d->warnings - d->n);
}

void gh_diag_free(gh_diag *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->lines[i]);
    free(d->lines);
    memset(d, 0, sizeof(*d));
}
