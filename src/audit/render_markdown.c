/* The report as Markdown, for a pull request or a wiki: summary, the entry-point table, the
 * findings (a table, then each explained) and the trust boundaries as a Mermaid diagram. */
#include <string.h>

#include "audit/audit_internal.h"

/* Text from the configuration in a table cell or a sentence: Markdown's own characters escaped
 * (a wildcard host and a prefix path in one row must not turn into emphasis), line breaks
 * flattened. */
static void cell(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (strchr("\\`*_[]<>|", *s))
            fputc('\\', out);
        fputc(*s == '\n' || *s == '\r' ? ' ' : *s, out);
    }
}

static void table_row(FILE *out, const char *const *cells, size_t n)
{
    fputc('|', out);
    for (size_t k = 0; k < n; k++) {
        fputc(' ', out);
        cell(out, cells[k]);
        fputs(" |", out);
    }
    fputc('\n', out);
}

static void entry_points(gh_audit *a, FILE *out)
{
    size_t n;
    gh_entry_point *rows = gh__audit_entry_points(a, &n);
    const char *cells[GH_ENTRY_COLUMNS];
    fprintf(out, "## Entry points\n\nListeners: ");
    for (size_t i = 0; i < a->c->nlisteners; i++)
        fprintf(out, "%s`%s`", i ? ", " : "", gh__describe_listener(a, &a->c->listeners[i]));
    fprintf(out, "; routes without `listeners` are served on all of them.\n\n");
    table_row(out, gh__entry_headings(), GH_ENTRY_COLUMNS);
    fputc('|', out);
    for (size_t k = 0; k < GH_ENTRY_COLUMNS; k++)
        fputs("---|", out);
    fputc('\n', out);
    for (size_t i = 0; i < n; i++) {
        gh__entry_cells(&rows[i], cells);
        table_row(out, cells, GH_ENTRY_COLUMNS);
    }
    fputc('\n', out);
}

static void findings(gh_audit *a, FILE *out)
{
    fprintf(out, "## Findings\n\n");
    if (!a->nfindings) {
        fprintf(out, "None.\n\n");
        return;
    }
    fprintf(out, "| severity | check | where | about | finding |\n|---|---|---|---|---|\n");
    for (size_t i = 0; i < a->nfindings; i++) {
        const gh_finding *f = &a->findings[i];
        fprintf(out, "| %s%s | %s | `%s:%d` | ", gh__sev_name(f->severity),
                f->accepted ? " (accepted)" : "", f->check->id, a->file, f->line);
        cell(out, f->subject);
        fputs(" | ", out);
        cell(out, f->message);
        fputs(" |\n", out);
    }
    fputc('\n', out);
    for (size_t i = 0; i < a->nfindings; i++) {
        const gh_finding *f = &a->findings[i];
        fprintf(out, "### %s %s: %s\n\n", f->check->id, gh__sev_name(f->severity), f->check->title);
        fprintf(out, "`%s:%d:%d` (`%s`): ", a->file, f->line, f->col, f->key);
        cell(out, f->message);
        fputs(".\n\n", out);
        fprintf(out, "- **Why it matters:** %s\n- **Fix:** %s\n", f->check->why, f->check->fix);
        fprintf(out, "- **OWASP API Security Top 10:** %s; **CWE:** %s\n", f->check->owasp,
                f->check->cwe);
        if (f->accepted)
            fprintf(out, "- **Accepted:** %s\n", f->accepted);
        fputc('\n', out);
    }
}

int gh__render_markdown(gh_audit *a, FILE *out)
{
    gh_audit_counts n = gh__audit_counts(a);
    fprintf(out, "# Gatehouse audit: `%s`\n\n", a->file);
    fprintf(out, "Configuration sha256 `%.16s`. **%zu high, %zu medium, %zu low** findings, %zu "
                 "accepted.\n\n", a->c->file_sha256, n.high, n.medium, n.low, n.accepted);
    entry_points(a, out);
    findings(a, out);
    fprintf(out, "## Trust boundaries\n\n```mermaid\n");
    gh__render_mermaid(a, out);
    fprintf(out, "```\n");
    return ferror(out) ? -1 : 0;
}
