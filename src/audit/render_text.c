/* The report for a terminal: summary, listeners, the entry-point table, then the findings, most
 * severe first, each with its place in the file, why it matters and the fix. Every line fits in
 * GH_TEXT_WIDTH columns: the table has one row per route, wraps its cells, and leaves out the
 * columns that matter least when the rest would not fit (the markdown and JSON reports have
 * them all); paragraphs wrap under their label. */
#include <string.h>

#include "audit/audit_internal.h"

#define GH_TEXT_WIDTH 120
#define GH_TEXT_GAP 2        /* spaces between two columns */
#define GH_TEXT_MIN_CELL 12  /* a column narrower than its content wraps, but not below this */
#define GH_TEXT_MIN_ROUTE 24 /* ... or this for the route's name */

/* The table's columns, in the order they are shown; rank says which are kept first. */
enum { COL_ROUTE, COL_METHODS, COL_LISTENERS, COL_EXPOSURE, COL_HOST, COL_PATH, COL_AUTH, COL_AUTHZ,
       COL_POLICY, COL_LIMITS, COL_BODY, COL_UPSTREAM, COL_TAGS, NCOLS };

static const char *const headings[NCOLS] = {"ROUTE", "METHODS", "LISTENERS", "EXPOSURE", "HOST",
                                            "PATH", "AUTH", "AUTHZ", "POLICY", "RATE LIMITS",
                                            "BODY", "UPSTREAM", "TAGS"};
static const int rank[NCOLS] = {
    [COL_ROUTE] = 0, [COL_METHODS] = 1, [COL_PATH] = 2,  [COL_AUTH] = 3,      [COL_AUTHZ] = 4,
    [COL_LIMITS] = 5, [COL_BODY] = 6,   [COL_EXPOSURE] = 7, [COL_UPSTREAM] = 8, [COL_POLICY] = 9,
    [COL_HOST] = 10,  [COL_LISTENERS] = 11, [COL_TAGS] = 12};

static void upper(char *dst, const char *src, size_t cap)
{
    size_t i = 0;
    for (; src[i] && i + 1 < cap; i++)
        dst[i] = (char)(src[i] >= 'a' && src[i] <= 'z' ? src[i] - 32 : src[i]);
    dst[i] = '\0';
}

/* How much of s goes on a line of width columns (*take bytes), and how many bytes start the
 * next (*next): a break at the last space that fits, else after the last '/', ';', ',' or ':'
 * that fits, else a cut that never splits a UTF-8 sequence. */
static void line_of(const char *s, size_t width, size_t *take, size_t *next)
{
    size_t len = strlen(s);
    if (len <= width) {
        *take = *next = len;
        return;
    }
    for (size_t i = width; i > 0; i--)
        if (s[i] == ' ') {
            size_t end = i;
            while (end > 0 && s[end - 1] == ' ')
                end--;
            if (end == 0)
                break;
            *take = end;
            *next = i + 1;
            return;
        }
    for (size_t i = width; i > 1; i--)
        if (strchr("/;,:", s[i - 1])) {
            *take = *next = i;
            return;
        }
    size_t cut = width;
    while (cut > 1 && ((unsigned char)s[cut] & 0xC0) == 0x80)
        cut--;
    *take = *next = cut;
}

/* prefix (a short label), then text wrapped to the width, each later line indented by indent
 * spaces. */
static void wrapped(FILE *out, const char *prefix, size_t indent, const char *text)
{
    size_t width = GH_TEXT_WIDTH - strlen(prefix);
    fputs(prefix, out);
    for (bool more = true; more;) {
        size_t take, next;
        line_of(text, width, &take, &next);
        fprintf(out, "%.*s\n", (int)take, text);
        text += next;
        while (*text == ' ')
            text++;
        more = *text != '\0';
        if (more)
            fprintf(out, "%*s", (int)indent, "");
        width = GH_TEXT_WIDTH - indent;
    }
}

static void summary(gh_audit *a, FILE *out)
{
    const gh_config *c = a->c;
    gh_audit_counts n = gh__audit_counts(a);
    size_t critical = 0;
    for (size_t i = 0; i < c->nroutes; i++)
        critical += c->routes[i].critical;
    wrapped(out, "", 4, gh__audit_fmt(a, "Gatehouse audit of %s (sha256 %.16s)", a->file,
                                      c->file_sha256));
    fprintf(out, "listeners %zu (widest: %s), routes %zu (critical %zu), upstreams %zu\n",
            c->nlisteners, gh__exposure_name(a->widest), c->nroutes, critical, c->nupstreams);
    fprintf(out, "Findings: %zu high, %zu medium, %zu low, %zu accepted\n\n", n.high, n.medium,
            n.low, n.accepted);
    fprintf(out, "Listeners\n");
    for (size_t i = 0; i < c->nlisteners; i++)
        wrapped(out, "  ", 4, gh__describe_listener(a, &c->listeners[i]));
    if (c->has_admin)
        wrapped(out, "  ", 4, gh__audit_fmt(a, "admin %s (%s)", c->admin.address,
                                            gh__exposure_name(gh__audit_exposure(&c->admin.addr))));
    fputc('\n', out);
}

/* One row of the table: a route, its methods together. */
typedef struct text_row {
    const char *cell[NCOLS];
    bool critical;
} text_row;

/* The entry points (one per route and method, a route's together) as one row per route; the
 * name of a critical route is marked with '*'. */
static text_row *route_rows(gh_audit *a, const gh_entry_point *e, size_t n, size_t *count)
{
    text_row *rows = gh_arena_zalloc(&a->arena, (n ? n : 1) * sizeof(*rows));
    *count = 0;
    for (size_t i = 0, j; rows && i < n; i = j) {
        const gh_route_conf *r = e[i].route;
        char methods[64]; /* the seven names and their spaces */
        size_t len = 0;
        for (j = i; j < n && e[j].route == r; j++)
            if (len < sizeof(methods))
                len += (size_t)snprintf(methods + len, sizeof(methods) - len, "%s%s",
                                        j > i ? " " : "", e[j].method);
        text_row *row = &rows[(*count)++];
        const char *cells[NCOLS] = {
            [COL_ROUTE] = r->critical ? gh__audit_fmt(a, "%s *", r->name) : r->name,
            [COL_METHODS] = r->methods == GH_M_ALL ? "any" : gh__audit_fmt(a, "%s", methods),
            [COL_LISTENERS] = e[i].listeners, [COL_EXPOSURE] = e[i].exposure,
            [COL_HOST] = e[i].host,           [COL_PATH] = e[i].path,
            [COL_AUTH] = e[i].auth,           [COL_AUTHZ] = e[i].authz,
            [COL_POLICY] = e[i].policy,       [COL_LIMITS] = e[i].limits,
            [COL_BODY] = e[i].body,           [COL_UPSTREAM] = e[i].upstream,
            [COL_TAGS] = e[i].tags};
        memcpy(row->cell, cells, sizeof(cells));
        row->critical = r->critical;
    }
    return rows;
}

typedef struct layout {
    bool shown[NCOLS];
    size_t width[NCOLS];
    bool dropped[NCOLS]; /* left out for room, though it has something to say */
} layout;

/* A column of the lesser kind (a policy, a host, tags) that says nothing on any row. */
static bool says_nothing(const text_row *rows, size_t n, int k)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(rows[i].cell[k], "-") != 0 && strcmp(rows[i].cell[k], "*") != 0)
            return false;
    return true;
}

/* The columns kept, by rank, while their least widths fit; then each starts at its least width
 * and the room left goes to the columns whose content needs more, in proportion to how much
 * more, so that the longest cells (scopes, limits) wrap least. The route and its methods always
 * fit. */
static void fit(layout *l, const text_row *rows, size_t n)
{
    size_t natural[NCOLS], least[NCOLS], used = 0;
    memset(l, 0, sizeof(*l));
    for (int k = 0; k < NCOLS; k++) {
        natural[k] = strlen(headings[k]);
        for (size_t i = 0; i < n; i++)
            if (strlen(rows[i].cell[k]) > natural[k])
                natural[k] = strlen(rows[i].cell[k]);
        size_t cap = k == COL_ROUTE ? GH_TEXT_MIN_ROUTE : GH_TEXT_MIN_CELL;
        cap = cap > strlen(headings[k]) ? cap : strlen(headings[k]);
        least[k] = natural[k] < cap ? natural[k] : cap;
    }
    for (int r = 0; r < NCOLS; r++) {
        int k = 0;
        while (rank[k] != r)
            k++;
        if (rank[k] >= rank[COL_POLICY] && says_nothing(rows, n, k))
            continue;
        size_t need = least[k] + (used ? GH_TEXT_GAP : 0);
        if (used + need > GH_TEXT_WIDTH) {
            l->dropped[k] = true;
            continue;
        }
        l->shown[k] = true;
        l->width[k] = least[k];
        used += need;
    }
    size_t room = GH_TEXT_WIDTH - used, wanted = 0;
    for (int k = 0; k < NCOLS; k++)
        if (l->shown[k])
            wanted += natural[k] - least[k];
    if (wanted <= room) { /* everything fits as it is */
        for (int k = 0; k < NCOLS; k++)
            l->width[k] = l->shown[k] ? natural[k] : 0;
        return;
    }
    size_t given = 0;
    for (int k = 0; k < NCOLS; k++)
        if (l->shown[k]) {
            size_t more = (natural[k] - least[k]) * room / wanted;
            l->width[k] += more;
            given += more;
        }
    for (int k = 0; given < room; k = (k + 1) % NCOLS) /* what the rounding left, one each */
        if (l->shown[k] && l->width[k] < natural[k]) {
            l->width[k]++;
            given++;
        }
}

/* One row, its cells wrapped in their columns over as many lines as the longest needs. The
 * route's name goes on indented, so that only a row's first line starts at the margin. */
static void print_row(FILE *out, const layout *l, const char *const *cells)
{
    const char *at[NCOLS];
    memcpy(at, cells, sizeof(at));
    for (bool more = true, first = true; more; first = false) {
        char line[GH_TEXT_WIDTH + 1];
        size_t len = 0, column = 0;
        more = false;
        for (int k = 0; k < NCOLS; k++) {
            if (!l->shown[k])
                continue;
            size_t take, next, indent = k == COL_ROUTE && !first ? 2 : 0;
            line_of(at[k], l->width[k] - indent, &take, &next);
            if (take) {
                memset(line + len, ' ', column + indent - len);
                memcpy(line + column + indent, at[k], take);
                len = column + indent + take;
            }
            at[k] += next;
            while (*at[k] == ' ')
                at[k]++;
            more |= *at[k] != '\0';
            column += l->width[k] + GH_TEXT_GAP;
        }
        fprintf(out, "%.*s\n", (int)len, line);
    }
}

static void entry_points(gh_audit *a, FILE *out)
{
    size_t n, nrows;
    gh_entry_point *entries = gh__audit_entry_points(a, &n);
    text_row *rows = route_rows(a, entries, n, &nrows);
    layout l;
    fit(&l, rows, nrows);
    fprintf(out, "Entry points (%zu, in %zu route%s)\n", n, nrows, nrows == 1 ? "" : "s");
    print_row(out, &l, headings);
    bool critical = false;
    for (size_t i = 0; i < nrows; i++) {
        print_row(out, &l, rows[i].cell);
        critical |= rows[i].critical;
    }
    if (critical)
        fprintf(out, "* critical route\n");
    const char *left_out[NCOLS];
    size_t nleft = 0;
    for (int k = 0; k < NCOLS; k++)
        if (l.dropped[k])
            left_out[nleft++] = headings[k];
    if (nleft) {
        char names[256] = "";
        for (size_t i = 0; i < nleft; i++) {
            strcat(names, i ? ", " : "");
            strcat(names, left_out[i]);
        }
        wrapped(out, "", 2, gh__audit_fmt(a, "Not shown for width: %s (--format markdown or json "
                                          "has every column)", names));
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
        wrapped(out, "", 8,
                gh__audit_fmt(a, "%-6s  %-13s  %s:%d:%d  %s%s", sev, f->check->id, a->file, f->line,
                              f->col, f->subject, f->accepted ? "  (accepted)" : ""));
        wrapped(out, "        ", 8, gh__audit_fmt(a, "%s: %s", f->check->title, f->message));
        wrapped(out, "        why: ", 13, f->check->why);
        wrapped(out, "        fix: ", 13, f->check->fix);
        fprintf(out, "        refs: OWASP %s, %s\n", f->check->owasp, f->check->cwe);
        if (f->accepted)
            wrapped(out, "        accepted: ", 18, f->accepted);
    }
}

int gh__render_text(gh_audit *a, FILE *out)
{
    summary(a, out);
    entry_points(a, out);
    findings(a, out);
    return ferror(out) ? -1 : 0;
}
