/* Paths: requests aimed at a protected route (one that authenticates or requires scopes) under
 * spellings of its path that a lax gateway routes elsewhere (to a public route, or to no route
 * and then forwards as sent) while a backend resolves them to the protected path. A gateway that
 * holds refuses them (400, 404) or sends them to the protected route's controls (401, 403). In
 * self-test a request that went through is judged by what the upstream received: a path that a
 * backend decoding it once would resolve to the protected one fails, a canonical path that
 * resolves elsewhere passes. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "probe/probe_internal.h"
#include "route/route.h"

#define OWASP_FLA "API5:2023"
#define OWASP_MISCONF "API8:2023"
#define MAX_VARIANTS 8

static bool protects(const gh_route_conf *c)
{
    return c && (c->auth_token || c->auth_api_key || c->auth_mtls || c->auth_hmac || c->has_authz);
}

/* Live, the safe profile sends only GET, HEAD and OPTIONS. */
static bool may_send(gh_probe *p, const gh_probe_route *r)
{
    return r->safe || p->selftest || p->profile == GH_PROFILE_FULL;
}

static bool protected_route(gh_probe *p, const gh_probe_route *r)
{
    return protects(r->conf) && may_send(p, r);
}

static bool protected_proxied(gh_probe *p, const gh_probe_route *r)
{
    return protected_route(p, r) && r->proxied;
}

/* ---- the path a lax backend resolves ---- */

/* The byte an escape at s stands for once decoded, overlong UTF-8 forms of '/', '\' and '.'
 * included (what a decoder that does not check them makes of them); *used: bytes consumed. */
static int decode_at(const char *s, size_t *used)
{
    static const struct {
        const char *form;
        char c;
    } overlong[] = {{"%C0%AF", '/'}, {"%C0%AE", '.'}, {"%C1%9C", '\\'},
                    {"%E0%80%AF", '/'}, {"%E0%80%AE", '.'}};
    for (size_t i = 0; i < sizeof(overlong) / sizeof(overlong[0]); i++)
        if (strncasecmp(s, overlong[i].form, strlen(overlong[i].form)) == 0) {
            *used = strlen(overlong[i].form);
            return overlong[i].c;
        }
    if (s[0] == '%' && isxdigit((unsigned char)s[1]) && isxdigit((unsigned char)s[2])) {
        char hex[3] = {s[1], s[2], 0};
        *used = 3;
        return (int)strtol(hex, NULL, 16);
    }
    *used = 1;
    return (unsigned char)s[0];
}

/* Appends the segment s[0..len) to out as a lax backend keeps it: ';' parameters dropped,
 * trailing dots and spaces dropped (Windows, IIS), "." and ".." applied. */
static void push_segment(char *out, size_t *w, const char *s, size_t len)
{
    const char *semi = memchr(s, ';', len);
    if (semi)
        len = (size_t)(semi - s);
    bool dot = len == 1 && s[0] == '.', dotdot = len == 2 && s[0] == '.' && s[1] == '.';
    while (!dot && !dotdot && len && (s[len - 1] == '.' || s[len - 1] == ' '))
        len--;
    if (len == 0 || dot)
        return;
    if (dotdot) {
        while (*w && out[*w - 1] != '/')
            (*w)--;
        if (*w)
            (*w)--;
        return;
    }
    out[(*w)++] = '/';
    memcpy(out + *w, s, len);
    *w += len;
}

/* The path a lax backend resolves a request target to: an absolute-form's scheme and authority
 * dropped, the query and fragment cut (raw, or once decoded: a backend that decodes first and
 * parses after), escapes decoded once, '\' read as '/', NUL ending the path, then segments as
 * push_segment keeps them. */
static const char *lax_resolve(gh_probe *p, const char *target)
{
    if (strncasecmp(target, "http://", 7) == 0 || strncasecmp(target, "https://", 8) == 0) {
        const char *slash = strchr(strstr(target, "//") + 2, '/');
        target = slash ? slash : "/";
    }
    size_t n = strcspn(target, "?#");
    char *dec = gh_arena_alloc(&p->arena, n + 1), *out = gh_arena_alloc(&p->arena, n + 2);
    size_t d = 0, w = 0;
    for (size_t i = 0, used; i < n; i += used) {
        int c = decode_at(target + i, &used);
        if (c == 0 || c == '?' || c == '#')
            break;
        dec[d++] = c == '\\' ? '/' : (char)c;
    }
    for (size_t i = 0; i < d;) {
        size_t e = i;
        while (e < d && dec[e] != '/')
            e++;
        push_segment(out, &w, dec + i, e - i);
        i = e + 1;
    }
    if (w == 0)
        out[w++] = '/';
    out[w] = '\0';
    return out;
}

/* Whether a resolved path is the protected route's (letters of either case: backends that fold
 * case count), or under its prefix. */
static bool resolves_to(const gh_probe_route *prot, const char *path)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    if (strlen(prot->path) == n && strncasecmp(prot->path, path, n) == 0)
        return true;
    const gh_route_conf *c = prot->conf;
    return c->path_kind == GH_PATH_PREFIX && c->path_len > 1 && n >= c->path_len &&
           strncasecmp(c->path, path, c->path_len) == 0 &&
           (n == c->path_len || path[c->path_len] == '/' || c->path[c->path_len - 1] == '/');
}

/* ---- the aim: the protected route, and a public one to come in through ---- */

typedef struct aim {
    const gh_probe_route *prot;
    const gh_probe_route *pub; /* NULL: none fits; the attack then aims at no route */
    const char *base;          /* a path the public route takes (or one no route takes) */
    const char *head, *tail;   /* prot->path split where its route's match ends (prefix) */
    const char *statuses;      /* what each variant was answered, for the verdict */
    int sent;
} aim;

static bool shares_door(const gh_probe_route *prot, const gh_probe_route *r)
{
    unsigned bit = gh_route_method_bit(prot->method, strlen(prot->method));
    return r->conf && !protects(r->conf) && r->target == prot->target && (r->conf->methods & bit) &&
           (!r->conf->host || (prot->conf->host && strcasecmp(r->conf->host, prot->conf->host) == 0));
}

/* The public route a lax gateway would hand the variants to: a prefix one first (it takes the
 * most), a proxied one first (a backend is behind it). */
static const gh_probe_route *public_door(gh_probe *p, const gh_probe_route *prot)
{
    const gh_probe_route *best = NULL;
    int best_score = -1;
    for (size_t i = 0; i < p->nroutes; i++) {
        const gh_probe_route *r = &p->routes[i];
        if (!shares_door(prot, r) || !may_send(p, r))
            continue;
        int score = (r->conf->path_kind == GH_PATH_PREFIX) * 2 + r->proxied;
        if (score > best_score) {
            best = r;
            best_score = score;
        }
    }
    return best;
}

static bool aim_at(gh_probe *p, gh_probe_result *r, aim *a)
{
    *a = (aim){.statuses = ""};
    a->prot = gh_probe_find_route(p, protected_proxied);
    if (!a->prot)
        a->prot = gh_probe_find_route(p, protected_route);
    if (!a->prot) {
        gh_probe_skip(r, "no route authenticates or requires scopes (or none may be sent in this profile)");
        return false;
    }
    a->pub = public_door(p, a->prot);
    if (a->pub && !gh_probe_baseline(p, r, a->pub))
        return false;
    gh_probe_aim(p, r, a->prot->conf);
    a->base = a->pub && strcmp(a->pub->path, "/") != 0 ? a->pub->path : "/probe-public";
    const gh_route_conf *c = a->prot->conf;
    size_t hl = strlen(a->prot->path);
    if (c->path_kind == GH_PATH_PREFIX && c->path_len > 1)
        hl = c->path[c->path_len - 1] == '/' ? c->path_len - 1 : c->path_len;
    a->head = gh_arena_strndup(&p->arena, a->prot->path, hl);
    a->tail = a->prot->path + hl;
    return true;
}

/* base climbed back to the root with ".." segments (spelled dots), then the protected path,
 * every separator after base's own spelled sep: "/public/x/..%2F..%2Fadmin". */
static const char *climb(gh_probe *p, const aim *a, const char *dots, const char *sep)
{
    size_t segs = 0;
    for (const char *s = a->base; *s; s++)
        segs += *s == '/' && s[1] && s[1] != '/';
    const char *out = gh_arena_printf(&p->arena, "%s/", a->base);
    for (size_t i = 0; i < segs; i++)
        out = gh_arena_printf(&p->arena, "%s%s%s", out, dots, sep);
    for (const char *s = a->prot->path + 1; *s; s++)
        out = *s == '/' ? gh_arena_printf(&p->arena, "%s%s", out, sep)
                        : gh_arena_printf(&p->arena, "%s%c", out, *s);
    return out;
}

/* ---- the judgement ---- */

/* Where the request line's target starts in a head, and its length. */
static const char *target_of(const char *head, size_t len, size_t *tlen)
{
    const char *sp = memchr(head, ' ', len);
    if (!sp)
        return NULL;
    const char *end = memchr(sp + 1, ' ', len - (size_t)(sp + 1 - head));
    if (!end)
        return NULL;
    *tlen = (size_t)(end - sp - 1);
    return sp + 1;
}

/* A variant that went through (status below 400, or 5xx): self-test judges the path the
 * upstream received; live, the answer alone says the request was taken. */
static void judge_through(gh_probe *p, gh_probe_result *r, const aim *a, const char *what,
                          int status, gh_probe_upreq *v, int forwarded, bool live_ok)
{
    if (forwarded == 0) {
        gh_probe_pass(r, "%s was answered %d by the gateway itself, nothing forwarded", what, status);
        return;
    }
    if (forwarded < 0) {
        if (live_ok)
            gh_probe_pass(r, "%s was answered %d, as a path to nowhere was", what, status);
        else
            gh_probe_fail(r, "%s was answered %d: neither refused nor sent to route %s's "
                             "controls, though a lax backend reads it as %s", what, status,
                          a->prot->conf->name, a->prot->path);
        return;
    }
    size_t tlen = 0;
    const char *t = target_of(v[0].head, v[0].head_len, &tlen);
    const char *got = t ? gh_arena_strndup(&p->arena, t, tlen) : "";
    const char *resolved = lax_resolve(p, got);
    if (resolves_to(a->prot, resolved))
        gh_probe_fail(r, "%s was answered %d and forwarded as %s, which a lax backend (decoding "
                         "once, ignoring case, ';' parameters and trailing dots) reads as %s: route "
                         "%s's path, without its controls", what, status, got, resolved,
                      a->prot->conf->name);
    else
        gh_probe_pass(r, "%s was answered %d; the upstream received %s, which resolves to no "
                         "protected path", what, status, got);
}

/* The status a request for target gets, sent as the variants are: for comparisons only. */
static int status_of(gh_probe *p, gh_probe_result *r, const aim *a, const char *target)
{
    size_t len;
    const char *bytes = gh_probe_request(p, a->prot->method, target, a->prot->host, NULL, NULL, &len);
    gh_probe_exchange x;
    if (gh_probe_send(p, r, a->prot->target, bytes, len, &(gh_probe_opts){.responses = 1}, &x) != 0)
        return -1;
    return x.nresponses ? x.r[0].status : 0;
}

/* Sends one variant (target, extra header lines) and judges it; false once the case is over (a
 * failure, or the caps). nowhere: live, the same spelling aimed at a path no route has; when it
 * is answered alike, the variant's answer says nothing about the protected path. */
static bool variant(gh_probe *p, gh_probe_result *r, aim *a, const char *target, const char *extra,
                    const char *nowhere)
{
    size_t len;
    const char *bytes = gh_probe_request(p, a->prot->method, target, a->prot->host, extra, NULL, &len);
    const char *what = gh_arena_printf(&p->arena, "an anonymous %s %s%s", a->prot->method, target,
                                       extra ? " (with headers)" : "");
    gh_probe_exchange x;
    if (gh_probe_send(p, r, a->prot->target, bytes, len, &(gh_probe_opts){.responses = 1}, &x) != 0)
        return false;
    gh_probe_note(p, r, &x);
    gh_probe_upreq *v = NULL;
    int forwarded = gh_probe_upstream_note(p, r, &v);
    int status = x.nresponses ? x.r[0].status : 0;
    a->sent++;
    a->statuses = gh_arena_printf(&p->arena, "%s%s%d", a->statuses, *a->statuses ? ", " : "", status);
    if (x.connect_failed) {
        gh_probe_error(r, "cannot connect to %s:%d", a->prot->target->host, a->prot->target->port);
    } else if (status == 0 || (status >= 400 && status < 500)) {
        if (forwarded > 0)
            gh_probe_fail(r, "%s was answered %d but reached the upstream", what, status);
        else
            gh_probe_pass(r, "%s was refused (%d)", what, status);
    } else {
        bool alike = nowhere && forwarded < 0 && status_of(p, r, a, nowhere) == status;
        judge_through(p, r, a, what, status, v, forwarded, alike);
    }
    gh_probe_upreqs_free(v, forwarded > 0 ? (size_t)forwarded : 0);
    return r->verdict == GH_PV_PASS;
}

/* Sends targets (NULL-terminated) in turn until one fails; then the case's summary. */
static void variants(gh_probe *p, gh_probe_result *r, aim *a, const char *const *targets,
                     const char *const *nowhere, const char *what)
{
    for (size_t i = 0; targets[i]; i++)
        if (!variant(p, r, a, targets[i], NULL, nowhere ? nowhere[i] : NULL))
            return;
    if (a->sent)
        gh_probe_pass(r, "%d spellings of %s %s (%s) were answered %s: none went past route %s's "
                         "controls", a->sent, a->prot->method, a->prot->path, what, a->statuses,
                      a->prot->conf->name);
    else
        gh_probe_skip(r, "no spelling of %s applies to %s", what, a->prot->path);
}

/* ---- the cases ---- */

static void anonymous(gh_probe *p, gh_probe_result *r)
{
    int n = 0;
    const char *statuses = "";
    for (size_t i = 0; i < p->nroutes; i++) {
        const gh_probe_route *route = &p->routes[i];
        if (!protected_route(p, route))
            continue;
        size_t len;
        const char *bytes = gh_probe_request(p, route->method, route->path, route->host, NULL,
                                             route->safe ? NULL : "{}", &len);
        gh_probe_exchange x;
        const char *what = gh_arena_printf(&p->arena, "an anonymous %s %s (route %s)", route->method,
                                           route->path, route->conf->name);
        gh_probe_expect_refusal(p, r, route, bytes, len, 400, 499, what, &x);
        if (r->verdict != GH_PV_PASS) {
            gh_route_match m;
            const gh_listener_conf *l = route->target->listener;
            const char *host = route->conf->host ? route->host : NULL;
            unsigned bit = gh_route_method_bit(route->method, strlen(route->method));
            if (r->verdict == GH_PV_FAIL &&
                gh_route_find(p->conf, l ? l->id : 0, host, host ? strlen(host) : 0, route->path,
                              strlen(route->path), bit, &m) == GH_R_OK &&
                m.route != route->conf)
                r->why = gh_arena_printf(&p->arena, "%s; route %s (routes[%zu]) is written before "
                                         "it and takes the request: it shadows %s", r->why,
                                         m.route->name, (size_t)(m.route - p->conf->routes),
                                         route->conf->name);
            return;
        }
        n++;
        statuses = gh_arena_printf(&p->arena, "%s%s%d", statuses, n > 1 ? ", " : "",
                                   x.nresponses ? x.r[0].status : 0);
    }
    if (n)
        gh_probe_pass(r, "each of %d protected routes refused an anonymous request (%s)", n, statuses);
    else
        gh_probe_skip(r, "no route authenticates or requires scopes (or none may be sent in this profile)");
}

static void dot_segments(gh_probe *p, gh_probe_result *r)
{
    aim a;
    if (!aim_at(p, r, &a))
        return;
    const char *t[] = {climb(p, &a, "..", "/"), climb(p, &a, "%2e%2e", "/"),
                       climb(p, &a, ".%2E", "/"), gh_arena_printf(&p->arena, "/.%s", a.prot->path),
                       NULL};
    variants(p, r, &a, t, NULL, "dot segments");
}

static void encoded_slash(gh_probe *p, gh_probe_result *r)
{
    aim a;
    if (!aim_at(p, r, &a))
        return;
    const char *t[] = {climb(p, &a, "..", "%2F"), climb(p, &a, "..", "%2f"),
                       gh_arena_printf(&p->arena, "%s%%2F%s", a.base, a.prot->path + 1),
                       gh_arena_printf(&p->arena, "/%%2F%s", a.prot->path + 1), NULL};
    variants(p, r, &a, t, NULL, "an encoded slash");
}

static void backslash(gh_probe *p, gh_probe_result *r)
{
    aim a;
    if (!aim_at(p, r, &a))
        return;
    const char *t[] = {climb(p, &a, "..", "%5C"), climb(p, &a, "..", "\\"),
                       gh_arena_printf(&p->arena, "\\%s", a.prot->path + 1), NULL};
    variants(p, r, &a, t, NULL, "backslashes");
}

static void double_encoding(gh_probe *p, gh_probe_result *r)
{
    aim a;
    if (!aim_at(p, r, &a))
        return;
    aim nowhere = a;
    gh_probe_route decoy = *a.prot;
    decoy.path = "/probe-nowhere";
    nowhere.prot = &decoy;
    const char *t[] = {climb(p, &a, "..", "%252F"), climb(p, &a, "%252e%252e", "/"),
                       climb(p, &a, "..", "%255C"), NULL};
    const char *n[] = {climb(p, &nowhere, "..", "%252F"), climb(p, &nowhere, "%252e%252e", "/"),
                       climb(p, &nowhere, "..", "%255C"), NULL};
    variants(p, r, &a, t, n, "double percent-encoding");
}

static void parameters(gh_probe *p, gh_probe_result *r)
{
    aim a;
    if (!aim_at(p, r, &a))
        return;
    const char *t[] = {gh_arena_printf(&p->arena, "%s;x=1%s", a.head, a.tail),
                       climb(p, &a, "..;", "/"),
                       gh_arena_printf(&p->arena, "%s;%s", a.prot->path, "jsessionid=probe"), NULL};
    variants(p, r, &a, t, NULL, "';' parameters");
}

static void repeated_slashes(gh_probe *p, gh_probe_result *r)
{
    aim a;
    if (!aim_at(p, r, &a))
        return;
    const char *doubled = "";
    for (const char *s = a.prot->path; *s; s++)
        doubled = gh_arena_printf(&p->arena, "%s%s", doubled, *s == '/' ? "//" : (char[2]){*s, 0});
    const char *t[] = {gh_arena_printf(&p->arena, "/%s", a.prot->path),
                       gh_arena_printf(&p->arena, "//%s", a.prot->path), doubled, NULL};
    variants(p, r, &a, t, NULL, "repeated slashes");
}

static void query_fragment(gh_probe *p, gh_probe_result *r)
{
    aim a;
    if (!aim_at(p, r, &a))
        return;
    const char *t[] = {gh_arena_printf(&p->arena, "%s%%23", a.prot->path),
                       gh_arena_printf(&p->arena, "%s%%3Fprobe=1", a.prot->path),
                       gh_arena_printf(&p->arena, "%s%%23/probe", a.head),
                       gh_arena_printf(&p->arena, "%s%%3F/probe", a.head), NULL};
    variants(p, r, &a, t, NULL, "encoded '#' and '?'");
}

static void letter_case(gh_probe *p, gh_probe_result *r)
{
    aim a;
    if (!aim_at(p, r, &a))
        return;
    char *upper = gh_arena_strdup(&p->arena, a.prot->path), *first = gh_arena_strdup(&p->arena, a.prot->path);
    bool letters = false;
    for (char *s = upper; *s; s++) {
        letters |= isalpha((unsigned char)*s) != 0;
        *s = (char)toupper((unsigned char)*s);
    }
    for (char *s = first; *s; s++)
        if (isalpha((unsigned char)*s)) {
            *s = (char)(isupper((unsigned char)*s) ? tolower((unsigned char)*s) : toupper((unsigned char)*s));
            break;
        }
    if (!letters) {
        gh_probe_skip(r, "the path %s has no letters to change the case of", a.prot->path);
        return;
    }
    const char *t[] = {upper, first, NULL};
    variants(p, r, &a, t, NULL, "letters in other cases");
}

static void overlong_utf8(gh_probe *p, gh_probe_result *r)
{
    aim a;
    if (!aim_at(p, r, &a))
        return;
    const char *t[] = {climb(p, &a, "..", "%C0%AF"), climb(p, &a, "%C0%AE%C0%AE", "/"),
                       climb(p, &a, "..", "%E0%80%AF"), climb(p, &a, "..", "%C1%9C"), NULL};
    variants(p, r, &a, t, NULL, "overlong UTF-8 for '/', '.' and '\\'");
}

static void trailing_bytes(gh_probe *p, gh_probe_result *r)
{
    aim a;
    if (!aim_at(p, r, &a))
        return;
    static const char *const ends[] = {".", "..", "%20", "%00", "%2e", "%09"};
    const char *t[sizeof(ends) / sizeof(ends[0]) + 1] = {0};
    for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++)
        t[i] = gh_arena_printf(&p->arena, "%s%s%s", a.head, ends[i], a.tail);
    variants(p, r, &a, t, NULL, "a trailing dot, space, tab or NUL");
}

static void absolute_form(gh_probe *p, gh_probe_result *r)
{
    aim a;
    if (!aim_at(p, r, &a))
        return;
    const char *scheme = a.prot->target->tls ? "https" : "http";
    const char *t[] = {gh_arena_printf(&p->arena, "%s://%s%s", scheme, a.prot->host, a.prot->path),
                       gh_arena_printf(&p->arena, "%s://%s%s", scheme, a.prot->host, climb(p, &a, "..", "/")),
                       gh_arena_printf(&p->arena, "%s://probe.invalid%s", scheme, a.prot->path), NULL};
    variants(p, r, &a, t, NULL, "absolute-form targets");
}

/* The headers some frameworks (IIS URL Rewrite, Symfony, Zend, Spring) take as the URL the
 * request "really" asked for, sent on a request for the public route. */
static void url_override_headers(gh_probe *p, gh_probe_result *r)
{
    static const char *const names[] = {"X-Original-URL", "X-Rewrite-URL", "X-Override-URL",
                                        "X-Forwarded-Path", "X-Forwarded-Prefix"};
    aim a;
    if (!aim_at(p, r, &a))
        return;
    if (!a.pub || !a.pub->proxied) {
        gh_probe_skip(r, "no public route is proxied: there is no backend to take the headers");
        return;
    }
    bool seen = true;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const char *marker = gh_probe_echo_marker(p);
        const char *extra = gh_arena_printf(&p->arena, "%s: %s\r\n%s", names[i], a.prot->path,
                                            gh_probe_echo_line(p, marker));
        size_t len;
        const char *bytes = gh_probe_request(p, a.pub->method, a.pub->path, a.pub->host, extra,
                                             a.pub->safe ? NULL : "{}", &len);
        gh_probe_exchange x;
        if (gh_probe_send(p, r, a.pub->target, bytes, len, &(gh_probe_opts){.responses = 1}, &x) != 0)
            return;
        gh_probe_note(p, r, &x);
        gh_probe_view v;
        int status = x.nresponses ? x.r[0].status : 0;
        if (!gh_probe_view_of(p, r, &x, marker, &v)) {
            seen = false;
            continue;
        }
        if (gh_probe_view_has(&v, names[i])) {
            gh_probe_fail(r, "a request for %s with %s: %s was answered %d and the upstream received "
                             "the header: a backend that honours it serves %s without its controls",
                          a.pub->path, names[i], a.prot->path, status, a.prot->path);
            return;
        }
    }
    if (!seen)
        gh_probe_skip(r, "the upstream's view is needed (self-test, or an upstream that echoes the "
                         "request it got)");
    else
        gh_probe_pass(r, "X-Original-URL, X-Rewrite-URL, X-Override-URL, X-Forwarded-Path and "
                         "X-Forwarded-Prefix naming %s never reached the upstream of %s",
                      a.prot->path, a.pub->conf->name);
}

const gh_probe_case gh_probe_cases_paths[] = {
    {"PATH-001", "paths", "every protected route refuses an anonymous request (none is shadowed)",
     OWASP_FLA, 285, GH_PSEV_HIGH, 0, "401 or 403 (any 4xx) on each protected route, nothing forwarded",
     "Write specific routes before broad ones: routes are tried in order and the first match wins; "
     "a public prefix route written first takes the protected route's requests (gatehouse check warns).",
     anonymous},
    {"PATH-002", "paths", "dot segments from a public path to a protected one (/public/../admin)",
     OWASP_FLA, 22, GH_PSEV_HIGH, 0, "400, or 401/403 from the protected route; nothing forwarded",
     "Remove dot segments, encoded ones too, before routing (RFC 3986 5.2.4).", dot_segments},
    {"PATH-003", "paths", "encoded slash (%2F) hiding the protected path in one segment", OWASP_FLA, 22,
     GH_PSEV_HIGH, 0, "400 (or routed after decoding to the protected route's controls)",
     "Keep paths.encoded_slash at reject (or decode); keep passes %2F on for backends that decode it.",
     encoded_slash},
    {"PATH-004", "paths", "backslash, raw or %5C, as a separator", OWASP_FLA, 22, GH_PSEV_HIGH, 0,
     "400 (or routed after decoding to the protected route's controls)",
     "Keep paths.backslash at reject (or decode for Windows backends).", backslash},
    {"PATH-005", "paths", "double percent-encoding (%252F, %252e%252e)", OWASP_FLA, 174, GH_PSEV_MEDIUM,
     0, "400, 404, or forwarded escaped as received (never decoded twice)",
     "Decode a path once; forward what was routed, re-escaped, never a decoded form a backend decodes again.",
     double_encoding},
    {"PATH-006", "paths", "';' path parameters (/admin;x=1, /public/..;/admin)", OWASP_FLA, 706,
     GH_PSEV_HIGH, 0, "400, or 401/403 from the protected route",
     "Keep paths.parameters at reject: Java backends drop ';' parameters after routing.", parameters},
    {"PATH-007", "paths", "repeated slashes (//admin)", OWASP_FLA, 706, GH_PSEV_MEDIUM, 0,
     "401/403 from the protected route (slashes merged), or 400",
     "Merge repeated slashes before routing (paths.merge_slashes: true).", repeated_slashes},
    {"PATH-008", "paths", "encoded '#' and '?' after the protected path (%23, %3F)", OWASP_FLA, 706,
     GH_PSEV_MEDIUM, 0, "404 or 400 (the path is another one), nothing forwarded as a public path",
     "Route on the decoded path; put no public catch-all proxy in front of backends that decode %23 and %3F.",
     query_fragment},
    {"PATH-009", "paths", "the protected path in other letter cases (/ADMIN)", OWASP_FLA, 178,
     GH_PSEV_MEDIUM, 0, "404, or 401/403 when the route matches any case",
     "For backends that ignore case set match.case_insensitive: true on the protected route.", letter_case},
    {"PATH-010", "paths", "overlong UTF-8 for '/', '.' and '\\' (%C0%AF, %C0%AE)", OWASP_FLA, 22,
     GH_PSEV_HIGH, 0, "400", "Keep paths.invalid_utf8 at reject.", overlong_utf8},
    {"PATH-011", "paths", "trailing dot, space, tab or NUL after the protected path (/admin.)",
     OWASP_FLA, 706, GH_PSEV_MEDIUM, 0, "400 or 404, or 401/403 from the protected route",
     "Refuse control characters and NUL; put no public catch-all proxy in front of backends that trim "
     "trailing dots and spaces (Windows, IIS).", trailing_bytes},
    {"PATH-012", "paths", "absolute-form request target (GET http://host/admin)", OWASP_MISCONF, 706,
     GH_PSEV_MEDIUM, 0, "400, or 401/403 from the protected route",
     "Refuse absolute-form targets at a reverse proxy (RFC 9112 3.2.2), or route on their path.",
     absolute_form},
    {"PATH-013", "paths", "X-Original-URL, X-Rewrite-URL, X-Override-URL, X-Forwarded-Path on a public route",
     OWASP_FLA, 706, GH_PSEV_HIGH, 0, "the headers dropped: the upstream never receives them",
     "Drop URL-override headers from clients (Gatehouse drops them from every peer not in trusted_proxies).",
     url_override_headers},
    {0},
};
