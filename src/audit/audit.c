/* gatehouse audit: loads the configuration as `check` does, runs every check over it, and writes
 * the report in the format asked for. Exit 0 when nothing at or above --fail-on was found, 1 when
 * something was, 2 when the configuration does not load or the report cannot be written. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "audit/audit_internal.h"
#include "audit/svg.h"
#include "route/route.h"
#include "stages/registry.h"

const char *gh__audit_fmt(gh_audit *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    const char *s = gh_arena_vprintf(&a->arena, fmt, ap);
    va_end(ap);
    return s ? s : "";
}

static const char *accepted_reason(const gh_audit_conf *conf, const char *id)
{
    for (size_t i = 0; i < conf->naccepts; i++)
        if (strcmp(conf->accepts[i].check, id) == 0)
            return conf->accepts[i].reason;
    return NULL;
}

void gh__audit_find(gh_audit *a, const char *id, gh_severity sev, int route, const char *key,
                    const char *subject, const char *fmt, ...)
{
    const gh_audit_check *check = gh__audit_check(id);
    if (!check)
        abort(); /* a check that reports under an id the catalog lacks is a bug */
    if (a->nfindings == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 32;
        gh_finding *f = realloc(a->findings, cap * sizeof(*f));
        if (!f) { /* a report that silently lacks a finding would be worse than none */
            fprintf(stderr, "gatehouse audit: out of memory\n");
            exit(2);
        }
        a->findings = f;
        a->cap = cap;
    }
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    gh_finding *f = &a->findings[a->nfindings++];
    *f = (gh_finding){.check = check,
                      .severity = sev ? sev : check->severity,
                      .key = gh_arena_strdup(&a->arena, key),
                      .subject = gh_arena_strdup(&a->arena, subject),
                      .message = gh_arena_strdup(&a->arena, msg)};
    gh_locator_where(&a->loc, key, &f->line, &f->col);
    if (route >= 0)
        f->accepted = accepted_reason(&a->c->routes[route].audit, id);
    if (!f->accepted)
        f->accepted = accepted_reason(&a->c->audit, id);
}

gh_audit_counts gh__audit_counts(const gh_audit *a)
{
    gh_audit_counts n = {0};
    for (size_t i = 0; i < a->nfindings; i++) {
        const gh_finding *f = &a->findings[i];
        if (f->accepted)
            n.accepted++;
        else if (f->severity == GH_SEV_HIGH)
            n.high++;
        else if (f->severity == GH_SEV_MEDIUM)
            n.medium++;
        else
            n.low++;
    }
    return n;
}

static int by_rank(const void *x, const void *y)
{
    const gh_finding *a = x, *b = y;
    if (a->severity != b->severity)
        return (int)b->severity - (int)a->severity;
    if (a->line != b->line)
        return a->line - b->line;
    if (a->col != b->col)
        return a->col - b->col;
    int c = strcmp(a->check->id, b->check->id);
    return c ? c : strcmp(a->key, b->key);
}

/* An accepted id that names no check accepts nothing: say so, where it is written. */
static void warn_unknown_accepts(gh_audit *a, const gh_audit_conf *conf, const char *where)
{
    for (size_t i = 0; i < conf->naccepts; i++) {
        if (gh__audit_check(conf->accepts[i].check))
            continue;
        const char *key = gh__audit_fmt(a, "%s.accept.%s", where, conf->accepts[i].check);
        int line, col;
        gh_locator_where(&a->loc, key, &line, &col);
        fprintf(stderr, "%s:%d:%d: warning: %s: no check has the id %s; it accepts nothing\n",
                a->file, line, col, key, conf->accepts[i].check);
    }
}

void gh__audit_init(gh_audit *a, const gh_config *c, const char *file)
{
    *a = (gh_audit){.c = c, .file = file};
    gh_arena_init(&a->arena, 16 * 1024, 0);
    const char *slash = strrchr(file, '/');
    a->dir = slash ? gh_arena_strndup(&a->arena, file, slash == file ? 1 : (size_t)(slash - file)) : ".";
    gh__audit_gather_facts(a);
}

void gh__audit_free(gh_audit *a)
{
    gh_locator_close(&a->loc);
    free(a->findings);
    free(a->facts);
    gh_arena_free(&a->arena);
}

void gh__audit_run(gh_audit *a)
{
    a->widest = GH_EXPOSE_LOOPBACK;
    for (size_t i = 0; i < a->c->nlisteners; i++) {
        gh_exposure e = gh__audit_exposure(&a->c->listeners[i].addr);
        if (e > a->widest)
            a->widest = e;
    }
    gh__audit_check_routes(a);
    gh__audit_check_shadowing(a);
    gh__audit_check_identity(a);
    gh__audit_check_transport(a);
    gh__audit_check_process(a);
    if (a->nfindings)
        qsort(a->findings, a->nfindings, sizeof(*a->findings), by_rank);
    warn_unknown_accepts(a, &a->c->audit, "audit");
    for (size_t i = 0; i < a->c->nroutes; i++)
        warn_unknown_accepts(a, &a->c->routes[i].audit, gh__audit_fmt(a, "routes[%zu].audit", i));
}

/* ---- command line ---- */

typedef struct audit_opts {
    const char *config, *format, *out;
    gh_severity fail_on;
    bool list_checks, help;
} audit_opts;

static int usage(FILE *out)
{
    fprintf(out,
            "usage: gatehouse audit -c FILE [--format text|json|sarif|markdown|dot|svg|mermaid]\n"
            "                       [--fail-on high|medium|low|none] [-o FILE]\n"
            "       gatehouse audit --list-checks\n"
            "exit 0: nothing at or above --fail-on (default high); 1: something is; 2: the\n"
            "configuration does not load, or the report cannot be written\n");
    return out == stdout ? 0 : 2;
}

static bool parse_fail_on(const char *val, gh_severity *out)
{
    static const char *const levels[] = {"none", "low", "medium", "high"}; /* gh_severity order */
    for (int l = 0; l < 4; l++)
        if (strcmp(val, levels[l]) == 0) {
            *out = (gh_severity)l;
            return true;
        }
    fprintf(stderr, "gatehouse audit: --fail-on takes high, medium, low or none\n");
    return false;
}

static bool parse_args(int argc, char **argv, audit_opts *o)
{
    *o = (audit_opts){.format = "text", .fail_on = GH_SEV_HIGH};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--list-checks") == 0) {
            o->list_checks = true;
            continue;
        }
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            o->help = true;
            continue;
        }
        const char **slot = strcmp(arg, "-c") == 0 || strcmp(arg, "--config") == 0 ? &o->config
                            : strcmp(arg, "-o") == 0 || strcmp(arg, "--output") == 0 ? &o->out
                            : strcmp(arg, "-f") == 0 || strcmp(arg, "--format") == 0 ? &o->format
                                                                                       : NULL;
        bool fail_on = strcmp(arg, "--fail-on") == 0;
        if (!slot && !fail_on) {
            fprintf(stderr, "gatehouse audit: unknown option '%s'\n", arg);
            return false;
        }
        if (i + 1 == argc) {
            fprintf(stderr, "gatehouse audit: %s needs a value\n", arg);
            return false;
        }
        const char *val = argv[++i];
        if (slot)
            *slot = val;
        else if (!parse_fail_on(val, &o->fail_on))
            return false;
    }
    if (!o->config && !o->list_checks && !o->help) {
        fprintf(stderr, "gatehouse audit: -c FILE is required\n");
        return false;
    }
    return true;
}

typedef int (*render_fn)(gh_audit *, FILE *);

static render_fn renderer(const char *format)
{
    static const struct {
        const char *name;
        render_fn fn;
    } formats[] = {{"text", gh__render_text},     {"json", gh__render_json},
                   {"sarif", gh__render_sarif},   {"markdown", gh__render_markdown},
                   {"dot", gh__render_dot},
                   {"mermaid", gh__render_mermaid}};
    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
        if (strcmp(formats[i].name, format) == 0)
            return formats[i].fn;
    return NULL;
}

static int list_checks(void)
{
    size_t n;
    const gh_audit_check *checks = gh__audit_checks(&n);
    for (size_t i = 0; i < n; i++)
        printf("%-14s %-7s %s%s\n", checks[i].id, gh__sev_name(checks[i].severity),
               checks[i].title, checks[i].at_load ? " (refused when the configuration loads)" : "");
    return 0;
}

/* Writes the report; false after saying why. */
static bool write_report(gh_audit *a, const audit_opts *o)
{
    bool svg = strcmp(o->format, "svg") == 0;
    render_fn fn = svg ? gh__render_dot : renderer(o->format);
    if (svg && !gh_svg_available()) {
        fprintf(stderr, "gatehouse audit: --format svg renders the diagram with Graphviz's 'dot', "
                        "which is not installed (apt-get install graphviz); --format dot writes "
                        "its source\n");
        return false;
    }
    FILE *out = stdout;
    if (o->out && !(out = fopen(o->out, "w"))) {
        fprintf(stderr, "gatehouse audit: %s: %s\n", o->out, strerror(errno));
        return false;
    }
    int rc = svg ? gh_svg_render(a, fn, out) : fn(a, out);
    if (fflush(out) != 0)
        rc = -1;
    if (out != stdout && fclose(out) != 0)
        rc = -1;
    if (rc != 0)
        fprintf(stderr, "gatehouse audit: the report could not be written%s%s\n",
                o->out ? " to " : "", o->out ? o->out : "");
    return rc == 0;
}

int gh_audit_main(int argc, char **argv)
{
    audit_opts o;
    if (!parse_args(argc, argv, &o))
        return usage(stderr);
    if (o.help)
        return usage(stdout);
    if (o.list_checks)
        return list_checks();
    if (!renderer(o.format) && strcmp(o.format, "svg") != 0) {
        fprintf(stderr, "gatehouse audit: --format takes text, json, sarif, markdown, dot, svg or "
                        "mermaid\n");
        return 2;
    }
    gh_diag d = {0};
    gh_config *c = gh_config_load(o.config, NULL, &d);
    gh_diag_print(&d, stderr);
    gh_diag_free(&d);
    if (!c) {
        fprintf(stderr, "%s: does not load; nothing audited\n", o.config);
        return 2;
    }
    gh_audit a;
    gh__audit_init(&a, c, o.config);
    gh_locator_open(&a.loc, o.config);
    gh__audit_run(&a);
    int rc = 2;
    if (write_report(&a, &o)) {
        rc = 0;
        for (size_t i = 0; i < a.nfindings; i++)
            if (!a.findings[i].accepted && o.fail_on != GH_SEV_NONE &&
                a.findings[i].severity >= o.fail_on)
                rc = 1;
    }
    gh__audit_free(&a);
    gh_config_release(c);
    return rc;
}

/* ---- what the checks share ---- */

gh_exposure gh__audit_exposure(const gh_sockaddr *addr)
{
    const unsigned char *b;
    if (addr->ss.ss_family == AF_INET6) {
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *)&addr->ss)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a6))
            return GH_EXPOSE_LOOPBACK;
        if (!IN6_IS_ADDR_V4MAPPED(a6)) {
            b = a6->s6_addr;
            if ((b[0] & 0xfe) == 0xfc || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80))
                return GH_EXPOSE_PRIVATE; /* unique local, link local */
            return GH_EXPOSE_PUBLIC;      /* "::" (every interface) included */
        }
        b = a6->s6_addr + 12;
    } else {
        b = (const unsigned char *)&((const struct sockaddr_in *)&addr->ss)->sin_addr;
    }
    if (b[0] == 127)
        return GH_EXPOSE_LOOPBACK;
    if (b[0] == 10 || (b[0] == 172 && (b[1] & 0xf0) == 16) || (b[0] == 192 && b[1] == 168) ||
        (b[0] == 169 && b[1] == 254) || (b[0] == 100 && (b[1] & 0xc0) == 64))
        return GH_EXPOSE_PRIVATE;
    return GH_EXPOSE_PUBLIC; /* 0.0.0.0 listens on every interface */
}

const char *gh__exposure_name(gh_exposure e)
{
    return e == GH_EXPOSE_LOOPBACK ? "loopback" : e == GH_EXPOSE_PRIVATE ? "private" : "public";
}

bool gh__route_proxies(const gh_route_conf *r)
{
    return r->upstream != NULL;
}

gh_exposure gh__route_exposure(const gh_audit *a, const gh_route_conf *r)
{
    gh_exposure widest = GH_EXPOSE_LOOPBACK;
    for (size_t i = 0; i < a->c->nlisteners; i++) {
        gh_exposure e = gh__audit_exposure(&a->c->listeners[i].addr);
        if (gh_route_on_listener(r, a->c->listeners[i].id) && e > widest)
            widest = e;
    }
    return widest;
}

bool gh__endpoint_remote(const gh_endpoint_conf *e)
{
    return gh__audit_exposure(&e->addr) != GH_EXPOSE_LOOPBACK;
}
