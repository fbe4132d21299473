/* What every report shares: names, the counts, the groups in report order, the run's target,
 * and text made safe for a terminal or a document format. */
#include <stdlib.h>
#include <string.h>

#include "probe/report_internal.h"

const char *gh_probe_verdict_name(gh_probe_verdict v)
{
    switch (v) {
    case GH_PV_PASS:
        return "pass";
    case GH_PV_FAIL:
        return "fail";
    case GH_PV_SKIP:
        return "skip";
    case GH_PV_ERROR:
        return "error";
    }
    return "unknown";
}

const char *gh_probe_severity_name(gh_probe_severity s)
{
    switch (s) {
    case GH_PSEV_HIGH:
        return "high";
    case GH_PSEV_MEDIUM:
        return "medium";
    case GH_PSEV_LOW:
        return "low";
    }
    return "unknown";
}

static void count(gh_probe_summary *sum, const gh_probe_result *r)
{
    switch (r->verdict) {
    case GH_PV_PASS:
        sum->pass++;
        break;
    case GH_PV_FAIL:
        sum->fail++;
        if (r->c && r->c->severity == GH_PSEV_HIGH)
            sum->fail_high++;
        else if (r->c && r->c->severity == GH_PSEV_MEDIUM)
            sum->fail_medium++;
        else
            sum->fail_low++;
        break;
    case GH_PV_SKIP:
        sum->skip++;
        break;
    case GH_PV_ERROR:
        sum->error++;
        break;
    }
    if (r->seconds > 0)
        sum->seconds += r->seconds;
}

void gh_probe_summarize(const gh_probe_result *results, size_t n, gh_probe_summary *sum)
{
    memset(sum, 0, sizeof(*sum));
    for (size_t i = 0; i < n; i++)
        count(sum, &results[i]);
}

const gh_probe_summary *gh__probe_sum(const gh_probe_result *results, size_t n,
                                      const gh_probe_summary *sum, gh_probe_summary *local)
{
    if (sum)
        return sum;
    gh_probe_summarize(results, n, local);
    return local;
}

const char *gh__probe_group_of(const gh_probe_result *r)
{
    return r->c && r->c->group ? r->c->group : "other";
}

static bool known_group(const char *group)
{
    for (size_t k = 0; gh_probe_groups[k]; k++)
        if (strcmp(gh_probe_groups[k], group) == 0)
            return true;
    return false;
}

/* The row of group in rows[0..n), appended when absent. */
static gh_probe_group_row *row_of(gh_probe_group_row *rows, size_t *n, const char *group)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(rows[i].group, group) == 0)
            return &rows[i];
    memset(&rows[*n], 0, sizeof(rows[*n]));
    rows[*n].group = group;
    return &rows[(*n)++];
}

gh_probe_group_row *gh__probe_group_rows(const gh_probe_result *results, size_t n,
                                         size_t *count_out)
{
    /* At most one row per result: a group only gets a row when one of its cases ran. */
    gh_probe_group_row *rows = calloc(n + 1, sizeof(*rows));
    *count_out = 0;
    if (!rows)
        return NULL;
    size_t nrows = 0;
    for (size_t k = 0; gh_probe_groups[k]; k++)
        for (size_t i = 0; i < n; i++)
            if (strcmp(gh__probe_group_of(&results[i]), gh_probe_groups[k]) == 0)
                count(&row_of(rows, &nrows, gh_probe_groups[k])->sum, &results[i]);
    for (size_t i = 0; i < n; i++) {
        const char *group = gh__probe_group_of(&results[i]);
        if (!known_group(group))
            count(&row_of(rows, &nrows, group)->sum, &results[i]);
    }
    *count_out = nrows;
    return rows;
}

const char *gh__probe_mode_name(const gh_probe *p)
{
    return p->selftest ? "self-test" : "live";
}

const char *gh__probe_profile_name(const gh_probe *p)
{
    return p->profile == GH_PROFILE_FULL ? "full" : "safe";
}

void gh__probe_target_text(const gh_probe *p, char *buf, size_t cap)
{
    if (!p->targets || p->ntargets == 0) {
        snprintf(buf, cap, "none");
        return;
    }
    const gh_probe_target *t = &p->targets[0];
    bool v6 = strchr(t->host, ':') != NULL; /* an IPv6 literal is bracketed in a URL */
    snprintf(buf, cap, "%s://%s%.*s%s:%d", t->tls ? "https" : "http", v6 ? "[" : "",
             (int)strnlen(t->host, sizeof(t->host)), t->host, v6 ? "]" : "", t->port);
}

size_t gh__probe_utf8_len(const unsigned char *s)
{
    size_t len;
    unsigned min;
    unsigned cp;
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        len = 2, min = 0x80, cp = s[0] & 0x1F;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        len = 3, min = 0x800, cp = s[0] & 0x0F;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        len = 4, min = 0x10000, cp = s[0] & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) /* also stops at the terminating NUL */
            return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

char *gh__probe_clean(const char *s, bool utf8)
{
    static const char hex[] = "0123456789ABCDEF";
    if (!s)
        s = "";
    size_t len = strlen(s);
    char *out = malloc(4 * len + 1); /* a byte becomes at most \xHH */
    if (!out)
        return NULL;
    size_t k = 0;
    for (const unsigned char *c = (const unsigned char *)s; *c;) {
        size_t seq = utf8 && *c >= 0x80 ? gh__probe_utf8_len(c) : 0;
        if (seq) {
            memcpy(out + k, c, seq);
            k += seq;
            c += seq;
        } else if (*c >= 0x20 && *c < 0x7F) {
            out[k++] = (char)*c++;
        } else {
            out[k++] = '\\';
            out[k++] = 'x';
            out[k++] = hex[*c >> 4];
            out[k++] = hex[*c & 15];
            c++;
        }
    }
    out[k] = '\0';
    return out;
}

const char *gh__probe_skip_why(const gh_probe_result *r)
{
    return r->why ? r->why : "(no reason given)";
}

bool gh__probe_skipped_for(const gh_probe_result *r, const char *why)
{
    return r->verdict == GH_PV_SKIP && strcmp(gh__probe_skip_why(r), why) == 0;
}

bool gh__probe_first_of_reason(const gh_probe_result *results, size_t i)
{
    if (results[i].verdict != GH_PV_SKIP)
        return false;
    const char *why = gh__probe_skip_why(&results[i]);
    for (size_t j = 0; j < i; j++)
        if (gh__probe_skipped_for(&results[j], why))
            return false;
    return true;
}
