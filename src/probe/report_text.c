/* The report for a terminal: the counts per group, what the run spent of its caps, then each
 * failure and error with its route, why, the OWASP and CWE entries, the evidence and the fix.
 * ASCII only and no line wider than 120 columns: prose wraps at spaces, and evidence, which
 * has no spaces to spare, is cut into pieces of 116 characters under a 4-space indent. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "probe/report_internal.h"

#define WIDTH 120
#define EVIDENCE_INDENT 4
#define EVIDENCE_CUT (WIDTH - EVIDENCE_INDENT)
#define GROUP_WIDTH_MAX 40

static void indent(FILE *out, size_t n)
{
    fprintf(out, "%*s", (int)n, "");
}

/* Writes one word (or the rest of one) from column *col, cutting it where the line ends. */
static void put_word(FILE *out, const char *w, size_t len, size_t hang, size_t *col)
{
    while (*col + len > WIDTH) {
        size_t room = WIDTH - *col;
        fwrite(w, 1, room, out);
        w += room;
        len -= room;
        fputc('\n', out);
        indent(out, hang);
        *col = hang;
    }
    fwrite(w, 1, len, out);
    *col += len;
}

/* label then text (made ASCII), wrapped at spaces; lines after the first start under the text.
 * A word wider than a whole line is cut. */
static void prose(FILE *out, size_t at, const char *label, const char *text)
{
    char *clean = gh__probe_clean(text, false);
    const char *t = clean ? clean : "(out of memory)";
    size_t hang = at + strlen(label);
    if (hang > WIDTH / 2)
        hang = at + 2;
    indent(out, at);
    fputs(label, out);
    size_t col = at + strlen(label);
    bool first = true; /* no word on this line yet */
    for (;;) {
        t += strspn(t, " ");
        if (!*t)
            break;
        size_t len = strcspn(t, " ");
        if (col + !first + len > WIDTH && (!first || col > hang)) {
            fputc('\n', out);
            indent(out, hang);
            col = hang;
            first = true;
        }
        if (!first) {
            fputc(' ', out);
            col++;
        }
        put_word(out, t, len, hang, &col);
        t += len;
        first = false;
    }
    fputc('\n', out);
    free(clean);
}

/* prose with a printf text. */
static void prosef(FILE *out, size_t at, const char *label, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void prosef(FILE *out, size_t at, const char *label, const char *fmt, ...)
{
    char *text = NULL;
    va_list ap;
    va_start(ap, fmt);
    int rc = vasprintf(&text, fmt, ap);
    va_end(ap);
    prose(out, at, label, rc < 0 ? "(out of memory)" : text);
    if (rc >= 0)
        free(text);
}

/* One piece of evidence under its label: a line per request or response line (after each
 * escaped "\n"), each cut at EVIDENCE_CUT characters. */
static void evidence(FILE *out, const char *label, const char *text)
{
    if (!text)
        return;
    fprintf(out, "  %s:\n", label);
    char *clean = gh__probe_clean(text, false);
    const char *t = clean ? clean : "(out of memory)";
    if (!*t) {
        indent(out, EVIDENCE_INDENT);
        fputs("(empty)\n", out);
    }
    while (*t) {
        const char *nl = strstr(t, "\\n");
        size_t len = nl ? (size_t)(nl - t) + 2 : strlen(t);
        for (size_t off = 0; off < len; off += EVIDENCE_CUT) {
            size_t piece = len - off < EVIDENCE_CUT ? len - off : EVIDENCE_CUT;
            indent(out, EVIDENCE_INDENT);
            fwrite(t + off, 1, piece, out);
            fputc('\n', out);
        }
        t += len;
    }
    free(clean);
}

static void heading(FILE *out, const gh_probe *p)
{
    char target[300];
    gh__probe_target_text(p, target, sizeof(target));
    prosef(out, 0, "", "gatehouse probe %s: %s, profile %s, target %s, configuration %s",
           GH_VERSION, gh__probe_mode_name(p), gh__probe_profile_name(p), target,
           p->config_file ? p->config_file : "none");
    fputc('\n', out);
}

static void table_row(FILE *out, int width, const char *name, const gh_probe_summary *s)
{
    char *clean = gh__probe_clean(name, false);
    fprintf(out, "%-*.*s  %6zu  %6zu  %6zu  %6zu\n", width, width, clean ? clean : "?", s->pass,
            s->fail, s->skip, s->error);
    free(clean);
}

static void summary(FILE *out, const gh_probe_result *results, size_t n,
                    const gh_probe_summary *sum)
{
    size_t nrows;
    gh_probe_group_row *rows = gh__probe_group_rows(results, n, &nrows);
    size_t width = strlen("Group");
    for (size_t i = 0; i < nrows; i++) {
        size_t len = strlen(gh_probe_group_title(rows[i].group));
        width = len > width ? len : width;
    }
    width = width > GROUP_WIDTH_MAX ? GROUP_WIDTH_MAX : width;
    fprintf(out, "%-*s  %6s  %6s  %6s  %6s\n", (int)width, "Group", "pass", "fail", "skip",
            "error");
    for (size_t i = 0; i < nrows; i++)
        table_row(out, (int)width, gh_probe_group_title(rows[i].group), &rows[i].sum);
    if (!rows)
        fprintf(out, "(groups not shown: out of memory)\n");
    table_row(out, (int)width, "Total", sum);
    free(rows);
    fprintf(out, "\nFailed: %zu high, %zu medium, %zu low\n", sum->fail_high, sum->fail_medium,
            sum->fail_low);
}

/* "12 of 1000", or "12 (no cap)" when the cap is 0. */
static const char *of(char *buf, size_t cap, uint64_t used, uint64_t max)
{
    if (max)
        snprintf(buf, cap, "%llu of %llu", (unsigned long long)used, (unsigned long long)max);
    else
        snprintf(buf, cap, "%llu (no cap)", (unsigned long long)used);
    return buf;
}

static void caps(FILE *out, const gh_probe *p, const gh_probe_summary *sum)
{
    char rq[64], cn[64], by[64], sec[64];
    if (p->caps.seconds)
        snprintf(sec, sizeof(sec), "%.1f of %llu", sum->seconds,
                 (unsigned long long)p->caps.seconds);
    else
        snprintf(sec, sizeof(sec), "%.1f (no cap)", sum->seconds);
    prosef(out, 0, "Caps used: ", "requests %s, connections %s, bytes %s, seconds %s",
           of(rq, sizeof(rq), p->used.requests, p->caps.requests),
           of(cn, sizeof(cn), p->used.connections, p->caps.connections),
           of(by, sizeof(by), p->used.bytes, p->caps.bytes), sec);
}

static void route_line(FILE *out, const gh_probe *p, const gh_probe_result *r)
{
    if (!r->route && !(p->config_file && r->line > 0))
        return;
    const char *name = r->route ? r->route : "(unnamed)";
    if (p->config_file && r->line > 0)
        prosef(out, 2, "route: ", "%s (%s:%d:%d)", name, p->config_file, r->line, r->col);
    else
        prose(out, 2, "route: ", name);
}

static void finding(FILE *out, const gh_probe *p, const gh_probe_result *r)
{
    const gh_probe_case *c = r->c;
    char label[96];
    snprintf(label, sizeof(label), "%.24s  %s  ", c->id ? c->id : "?",
             gh_probe_severity_name(c->severity));
    prose(out, 0, label, c->title);
    route_line(out, p, r);
    prose(out, 2, "why: ", r->why ? r->why : "(no reason given)");
    if (c->cwe > 0)
        prosef(out, 2, "OWASP: ", "%s, CWE-%d", c->owasp ? c->owasp : "none", c->cwe);
    else
        prose(out, 2, "OWASP: ", c->owasp ? c->owasp : "none");
    if (c->expect)
        prose(out, 2, "expected: ", c->expect);
    evidence(out, "sent", r->sent);
    evidence(out, "observed", r->observed);
    evidence(out, "upstream", r->upstream);
    if (c->fix)
        prose(out, 2, "fix: ", c->fix);
    fputc('\n', out);
}

static void findings(FILE *out, const gh_probe *p, const gh_probe_result *results, size_t n,
                     gh_probe_verdict verdict, const char *title, size_t count)
{
    if (!count)
        return;
    fprintf(out, "%s (%zu)\n\n", title, count);
    for (size_t i = 0; i < n; i++)
        if (results[i].verdict == verdict)
            finding(out, p, &results[i]);
}

static const char *case_id(const gh_probe_result *r)
{
    return r->c->id ? r->c->id : "?";
}

/* The skipped cases by reason, in the catalogue's order: a skip proves nothing, and its reason
 * names what to add (a route, a key, an option) for the case to run. Quadratic in the cases,
 * which are a few hundred at most. */
static void skipped(FILE *out, const gh_probe_result *results, size_t n, size_t count)
{
    if (!count)
        return;
    fprintf(out, "Skipped (%zu), by reason: each proves nothing until what it names is there\n\n",
            count);
    for (size_t i = 0; i < n; i++) {
        if (!gh__probe_first_of_reason(results, i))
            continue;
        const char *why = gh__probe_skip_why(&results[i]);
        size_t ids_len = 1;
        for (size_t j = i; j < n; j++)
            if (gh__probe_skipped_for(&results[j], why))
                ids_len += strlen(case_id(&results[j])) + 1;
        char *ids = malloc(ids_len);
        prose(out, 2, "- ", why);
        if (!ids)
            continue;
        ids[0] = '\0';
        for (size_t j = i; j < n; j++)
            if (gh__probe_skipped_for(&results[j], why)) {
                if (ids[0])
                    strcat(ids, " ");
                strcat(ids, case_id(&results[j]));
            }
        prose(out, 4, "", ids);
        free(ids);
    }
    fputc('\n', out);
}

void gh_probe_render_text(FILE *out, const gh_probe *p, const gh_probe_result *results, size_t n,
                          const gh_probe_summary *sum)
{
    gh_probe_summary local;
    sum = gh__probe_sum(results, n, sum, &local);
    heading(out, p);
    summary(out, results, n, sum);
    caps(out, p, sum);
    fputc('\n', out);
    if (!sum->fail && !sum->error)
        fprintf(out, "No failures%s.\n\n",
                sum->skip ? " among the cases that ran; the skipped ones below were not tried"
                          : "");
    findings(out, p, results, n, GH_PV_FAIL, "Failures", sum->fail);
    findings(out, p, results, n, GH_PV_ERROR, "Errors", sum->error);
    skipped(out, results, n, sum->skip);
    fflush(out);
}
