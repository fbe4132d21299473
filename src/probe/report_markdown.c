/* The report as Markdown, for a pull request or a CI summary: the run, the counts per group,
 * then each failure and error with its fields as a list and its evidence in fenced blocks.
 * Text from the run (reasons, route names, evidence) is escaped so that it cannot become
 * markup: a fence is longer than any run of backticks in what it holds. */
#include <stdlib.h>
#include <string.h>

#include "probe/report_internal.h"

/* Text in a sentence, a list item or a table cell: Markdown's own characters escaped. */
static void inline_text(FILE *out, const char *s)
{
    char *clean = gh__probe_clean(s, true);
    for (const char *c = clean ? clean : "(out of memory)"; *c; c++) {
        if (strchr("\\`*_[]<>|#~&$", *c))
            fputc('\\', out);
        fputc(*c, out);
    }
    free(clean);
}

static size_t longest_backtick_run(const char *s)
{
    size_t longest = 0, run = 0;
    for (; *s; s++) {
        run = *s == '`' ? run + 1 : 0;
        longest = run > longest ? run : longest;
    }
    return longest;
}

static void backticks(FILE *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fputc('`', out);
}

/* Text as a code span: delimited by more backticks than it holds in a row, and padded with a
 * space when it starts or ends with one. */
static void code_span(FILE *out, const char *s)
{
    char *clean = gh__probe_clean(s, true);
    const char *t = clean ? clean : "(out of memory)";
    size_t len = strlen(t);
    size_t fence = longest_backtick_run(t) + 1;
    bool pad = len && (t[0] == '`' || t[len - 1] == '`');
    backticks(out, fence);
    fprintf(out, "%s%s%s", pad ? " " : "", t, pad ? " " : "");
    backticks(out, fence);
    free(clean);
}

/* Evidence as a fenced block: a line per request or response line (after each escaped "\n"). */
static void evidence(FILE *out, const char *label, const char *text)
{
    if (!text)
        return;
    char *clean = gh__probe_clean(text, true);
    const char *t = clean ? clean : "(out of memory)";
    size_t fence = longest_backtick_run(t) + 1;
    fence = fence < 3 ? 3 : fence;
    fprintf(out, "%s:\n\n", label);
    backticks(out, fence);
    fputs("text\n", out);
    if (!*t)
        fputs("(empty)\n", out);
    while (*t) {
        const char *nl = strstr(t, "\\n");
        size_t len = nl ? (size_t)(nl - t) + 2 : strlen(t);
        fwrite(t, 1, len, out);
        fputc('\n', out);
        t += len;
    }
    backticks(out, fence);
    fputs("\n\n", out);
    free(clean);
}

static void item(FILE *out, const char *label, const char *text)
{
    if (!text)
        return;
    fprintf(out, "- **%s:** ", label);
    inline_text(out, text);
    fputc('\n', out);
}

static void finding(FILE *out, const gh_probe *p, const gh_probe_result *r)
{
    const gh_probe_case *c = r->c;
    fputs("### ", out);
    inline_text(out, c->id);
    fputs(": ", out);
    inline_text(out, c->title);
    fputs("\n\n", out);
    item(out, "Severity", gh_probe_severity_name(c->severity));
    if (r->route || (p->config_file && r->line > 0)) {
        fputs("- **Route:** ", out);
        code_span(out, r->route ? r->route : "(unnamed)");
        if (p->config_file && r->line > 0) {
            char *where = NULL;
            if (asprintf(&where, "%s:%d:%d", p->config_file, r->line, r->col) >= 0) {
                fputs(" at ", out);
                code_span(out, where);
                free(where);
            }
        }
        fputc('\n', out);
    }
    item(out, "Why", r->why ? r->why : "(no reason given)");
    fputs("- **OWASP:** ", out);
    inline_text(out, c->owasp ? c->owasp : "none");
    if (c->cwe > 0)
        fprintf(out, ", [CWE-%d](https://cwe.mitre.org/data/definitions/%d.html)", c->cwe, c->cwe);
    fputc('\n', out);
    item(out, "Expected", c->expect);
    item(out, "Fix", c->fix);
    fputc('\n', out);
    evidence(out, "Sent", r->sent);
    evidence(out, "Observed", r->observed);
    evidence(out, "Upstream", r->upstream);
}

static void row(FILE *out, const char *name, bool bold, const gh_probe_summary *s)
{
    fputs(bold ? "| **" : "| ", out);
    inline_text(out, name);
    fprintf(out, "%s | %zu | %zu | %zu | %zu |\n", bold ? "**" : "", s->pass, s->fail, s->skip,
            s->error);
}

static void summary(FILE *out, const gh_probe_result *results, size_t n,
                    const gh_probe_summary *sum)
{
    fprintf(out,
            "Failed: **%zu** (%zu high, %zu medium, %zu low). Passed: %zu. Skipped: %zu. "
            "Errors: %zu.\n\n",
            sum->fail, sum->fail_high, sum->fail_medium, sum->fail_low, sum->pass, sum->skip,
            sum->error);
    size_t nrows;
    gh_probe_group_row *rows = gh__probe_group_rows(results, n, &nrows);
    fputs("| Group | Pass | Fail | Skip | Error |\n|---|---:|---:|---:|---:|\n", out);
    for (size_t i = 0; i < nrows; i++)
        row(out, gh_probe_group_title(rows[i].group), false, &rows[i].sum);
    row(out, "Total", true, sum);
    free(rows);
    fputc('\n', out);
}

static void caps(FILE *out, const gh_probe *p, const gh_probe_summary *sum)
{
    fprintf(out,
            "Caps used: requests %llu of %llu, connections %llu of %llu, bytes %llu of %llu, "
            "seconds %.1f of %llu.\n\n",
            (unsigned long long)p->used.requests, (unsigned long long)p->caps.requests,
            (unsigned long long)p->used.connections, (unsigned long long)p->caps.connections,
            (unsigned long long)p->used.bytes, (unsigned long long)p->caps.bytes, sum->seconds,
            (unsigned long long)p->caps.seconds);
}

static void section(FILE *out, const gh_probe *p, const gh_probe_result *results, size_t n,
                    gh_probe_verdict verdict, const char *title, size_t count)
{
    if (!count)
        return;
    fprintf(out, "## %s\n\n", title);
    for (size_t i = 0; i < n; i++)
        if (results[i].verdict == verdict)
            finding(out, p, &results[i]);
}

/* The skipped cases as a list by reason, in the catalogue's order: a skip proves nothing, and
 * its reason names what to add for the case to run. */
static void skipped(FILE *out, const gh_probe_result *results, size_t n, size_t count)
{
    if (!count)
        return;
    fprintf(out,
            "## Skipped (%zu)\n\nEach proves nothing until what its reason names is there.\n\n",
            count);
    for (size_t i = 0; i < n; i++) {
        if (!gh__probe_first_of_reason(results, i))
            continue;
        const char *why = gh__probe_skip_why(&results[i]);
        fputs("- ", out);
        inline_text(out, why);
        fputs(":", out);
        for (size_t j = i; j < n; j++)
            if (gh__probe_skipped_for(&results[j], why)) {
                fputc(' ', out);
                inline_text(out, results[j].c->id ? results[j].c->id : "?");
            }
        fputc('\n', out);
    }
    fputc('\n', out);
}

void gh_probe_render_markdown(FILE *out, const gh_probe *p, const gh_probe_result *results,
                              size_t n, const gh_probe_summary *sum)
{
    gh_probe_summary local;
    sum = gh__probe_sum(results, n, sum, &local);
    char target[300];
    gh__probe_target_text(p, target, sizeof(target));
    fprintf(out, "# gatehouse probe\n\nVersion %s, mode %s, profile %s, target ", GH_VERSION,
            gh__probe_mode_name(p), gh__probe_profile_name(p));
    code_span(out, target);
    fputs(", configuration ", out);
    if (p->config_file)
        code_span(out, p->config_file);
    else
        fputs("none", out);
    fputs(".\n\n", out);
    summary(out, results, n, sum);
    caps(out, p, sum);
    if (!sum->fail && !sum->error)
        fprintf(out, "No failures%s.\n\n",
                sum->skip ? " among the cases that ran; the skipped ones below were not tried"
                          : "");
    section(out, p, results, n, GH_PV_FAIL, "Failures", sum->fail);
    section(out, p, results, n, GH_PV_ERROR, "Errors", sum->error);
    skipped(out, results, n, sum->skip);
    fflush(out);
}
