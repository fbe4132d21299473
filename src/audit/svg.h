/* --format svg: the DOT diagram rendered by Graphviz's dot, when it is installed. */
#ifndef GH_AUDIT_SVG_H
#define GH_AUDIT_SVG_H

#include <stdbool.h>
#include <stdio.h>

#include "audit/audit_internal.h"

/* Whether an executable 'dot' is on PATH. */
bool gh_svg_available(void);
/* Writes the graph with dot_fn into dot -Tsvg, whose output goes to out. 0, or -1. */
int gh_svg_render(gh_audit *a, int (*dot_fn)(gh_audit *, FILE *), FILE *out);

#endif
