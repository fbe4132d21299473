/* The report as JUnit XML, for CI test views: a test suite per group, a test case per case,
 * a failure with its evidence and fix, a skip or an error with why. XML 1.0 cannot carry most
 * control characters, not even as character references, so they are written as the text \xHH,
 * as are bytes that are not UTF-8. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "probe/report_internal.h"

/* U+FFFE and U+FFFF are UTF-8 but not XML 1.0 characters. */
static bool xml_noncharacter(const unsigned char *c)
{
    return c[0] == 0xEF && c[1] == 0xBF && (c[2] == 0xBE || c[2] == 0xBF);
}

/* s as XML character data; in an attribute, tab, LF and CR as references so that a parser's
 * attribute normalization keeps them. */
static void xml(FILE *out, const char *s, bool attr)
{
    if (!s)
        return;
    for (const unsigned char *c = (const unsigned char *)s; *c;) {
        size_t seq = *c >= 0x80 ? gh__probe_utf8_len(c) : 0;
        if (seq && !xml_noncharacter(c)) {
            fwrite(c, 1, seq, out);
            c += seq;
            continue;
        }
        switch (*c) {
        case '&':
            fputs("&amp;", out);
            break;
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        case '\'':
            fputs("&apos;", out);
            break;
        case '\t':
            fputs(attr ? "&#9;" : "\t", out);
            break;
        case '\n':
            fputs(attr ? "&#10;" : "\n", out);
            break;
        case '\r':
            fputs("&#13;", out); /* a parser turns a raw CR into LF */
            break;
        default:
            if (*c >= 0x20 && *c < 0x7F)
                fputc(*c, out);
            else
                fprintf(out, "\\x%02X", *c);
        }
        c++;
    }
}

static double secs(double x)
{
    return isfinite(x) && x > 0 ? x : 0.0;
}

static void counts(FILE *out, const gh_probe_summary *s, double seconds)
{
    fprintf(out, " tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" time=\"%.3f\"",
            s->pass + s->fail + s->skip + s->error, s->fail, s->error, s->skip, secs(seconds));
}

/* A labelled line of the failure's text, when there is something to say. */
static void line(FILE *out, const char *label, const char *text)
{
    if (!text)
        return;
    fprintf(out, "%s: ", label);
    xml(out, text, false);
    fputc('\n', out);
}

static void failure(FILE *out, const gh_probe *p, const gh_probe_result *r)
{
    const gh_probe_case *c = r->c;
    fputs("      <failure message=\"", out);
    xml(out, r->why, true);
    fprintf(out, "\" type=\"%s\">", gh_probe_severity_name(c->severity));
    line(out, "expected", c->expect);
    if (r->route) {
        fputs("route: ", out);
        xml(out, r->route, false);
        if (p->config_file && r->line > 0) {
            fputs(" (", out);
            xml(out, p->config_file, false);
            fprintf(out, ":%d:%d)", r->line, r->col);
        }
        fputc('\n', out);
    }
    line(out, "sent", r->sent);
    line(out, "observed", r->observed);
    line(out, "upstream", r->upstream);
    if (c->owasp)
        line(out, "owasp", c->owasp);
    if (c->cwe > 0)
        fprintf(out, "cwe: CWE-%d\n", c->cwe);
    line(out, "fix", c->fix);
    fputs("</failure>\n", out);
}

static void testcase(FILE *out, const gh_probe *p, const gh_probe_result *r)
{
    const gh_probe_case *c = r->c;
    fputs("    <testcase classname=\"gatehouse.probe.", out);
    xml(out, gh__probe_group_of(r), true);
    fputs("\" name=\"", out);
    xml(out, c->id, true);
    fputc(' ', out);
    xml(out, c->title, true);
    fprintf(out, "\" time=\"%.3f\"", secs(r->seconds));
    if (r->verdict == GH_PV_PASS) {
        fputs("/>\n", out);
        return;
    }
    fputs(">\n", out);
    const char *tag = r->verdict == GH_PV_SKIP    ? "skipped"
                      : r->verdict == GH_PV_ERROR ? "error"
                                                  : NULL;
    if (tag) {
        fprintf(out, "      <%s message=\"", tag);
        xml(out, r->why, true);
        fputs("\"/>\n", out);
    } else {
        failure(out, p, r);
    }
    fputs("    </testcase>\n", out);
}

void gh_probe_render_junit(FILE *out, const gh_probe *p, const gh_probe_result *results, size_t n,
                           const gh_probe_summary *sum)
{
    gh_probe_summary local;
    sum = gh__probe_sum(results, n, sum, &local);
    size_t nrows;
    gh_probe_group_row *rows = gh__probe_group_rows(results, n, &nrows);
    if (!rows) {
        fprintf(stderr, "gatehouse probe: the JUnit report could not be written (out of memory)\n");
        return;
    }
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"gatehouse probe\"", out);
    counts(out, sum, sum->seconds);
    fputs(">\n", out);
    for (size_t g = 0; g < nrows; g++) {
        fputs("  <testsuite name=\"", out);
        xml(out, gh_probe_group_title(rows[g].group), true);
        fputc('"', out);
        counts(out, &rows[g].sum, rows[g].sum.seconds);
        fputs(">\n", out);
        for (size_t i = 0; i < n; i++)
            if (strcmp(gh__probe_group_of(&results[i]), rows[g].group) == 0)
                testcase(out, p, &results[i]);
        fputs("  </testsuite>\n", out);
    }
    fputs("</testsuites>\n", out);
    free(rows);
    fflush(out);
}
