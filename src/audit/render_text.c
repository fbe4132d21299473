/* The report for a terminal: summary, listeners, the entry-point table, then the findings, most
 * severe first, each with its place in the file, why it matters and the fix. */
#include <string.h>

#include "audit/audit_internal.h"

static void upper(char *dst, const char *src, size_t cap)
{
    size_t i = 0;
    for (; src[i] && i + 1 < cap; i++)
        dst[i] = (char)(src[i] >= 'a' && src[i] <= 'z' ? src[i] - 32 : src[i]);
    dst[i] = '\0';
}

static void summary(gh_audit *a, FILE *out)
{
    const gh_config *c = a->c;
    gh_audit_counts n = gh__audit_counts(a);
    size_t critical = 0;
    for (size_t i = 0; i < c->nroutes; i++)
        critical += c->routes[i].critical;
    fprintf(out, "Gatehouse audit of %s (sha256 %.16s)\n", a->file, c->file_sha256);
    fprintf(out, "listeners %zu (widest: %s), routes %zu (critical %zu), upstreams %zu\n",
            c->nlisteners, gh__exposure_name(a->widest), c->nroutes, critical, c->nupstreams);
    fprintf(out, "Findings: %zu high, %zu medium, %zu low, %zu accepted\n\n", n.high, n.medium,
            n.low, n.accepted);
    fprintf(out, "Listeners\n");
    for (size_t i = 0; i < c->nlisteners; i++)
        fprintf(out, "  %s\n", gh__describe_listener(a, &c->listeners[i]));
    if (c->has_admin)
        fprintf(out, "  admin %s (%s)\n", c->admin.address,
                gh__exposure_name(gh__audit_exposure(&c->admin.addr)));
    fputc('\n', out);
}

static void print_row(FILE *out, const char *const *cells, const size_t *width)
{
    for (size_t k = 0; k + 1 < GH_ENTRY_COLUMNS; k++)
        fprintf(out, "%-*s  ", (int)width[k], cells[k]);
    fprintf(out, "%s\n", cells[GH_ENTRY_COLUMNS - 1]);
}

static void entry_points(gh_audit *a, FILE *out)
{
    size_t n;
    gh_entry_point *rows = gh__audit_entry_points(a, &n);
    const char *const *heads = gh__entry_headings();
    size_t width[GH_ENTRY_COLUMNS];
    const char *cells[GH_ENTRY_COLUMNS];
    for (size_t k = 0; k < GH_ENTRY_COLUMNS; k++)
        width[k] = strlen(heads[k]);
    for (size_t i = 0; i < n; i++) {
        gh__entry_cells(&rows[i], cells);
        for (size_t k = 0; k < GH_ENTRY_COLUMNS; k++)
            if (strlen(cells[k]) > width[k])
                width[k] = strlen(cells[k]);
    }
    fprintf(out, "Entry points (%zu)\n", n);
    print_row(out, heads, width);
    for (size_t i = 0; i < n; i++) {
        gh__entry_cells(&rows[i], cells);
        print_row(out, cells, width);
    }
    fputc('\n', out);
}

static void findings(gh_audit *a, FILE *out)
{
    fprintf(out, "Findings\n");
    if (!a->nfindings)
        fprintf(out, "  none\n");
    for (size_t i = 0; i < a->nfindings; i++) {
        const gh_finding *f = &a->findings[i];
        char sev[16];
        upper(sev, gh__sev_name(f->severity), sizeof(sev));
        fprintf(out, "%-6s  %-13s  %s:%d:%d  %s%s\n", sev, f->check->id, a->file, f->line, f->col,
                f->subject, f->accepted ? "  (accepted)" : "");
        fprintf(out, "        %s: %s\n", f->check->title, f->message);
        fprintf(out, "        why: %s\n", f->check->why);
        fprintf(out, "        fix: %s\n", f->check->fix);
        if (f->accepted)
            fprintf(out, "        accepted: %s\n", f->accepted);
    }
}

int gh__render_text(gh_audit *a, FILE *out)
{
    summary(a, out);
    entry_points(a, out);
    findings(a, out);
    return ferror(out) ? -1 : 0;
}
